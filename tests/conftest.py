"""Shared test fixtures for Relayflow.

Run everything (what CI runs):        bash scripts/test.sh
Pass pytest arguments through:        bash scripts/test.sh tests/forms -k date -x
Only SQLite, no PostgreSQL needed:    bash scripts/test.sh -m "not postgres"
Without browser tests:                bash scripts/test.sh -m "not browser"

Fixtures
--------
* ``database_url`` -- parametrized ``sqlite`` / ``postgres``: a test using it
  runs twice, once on a fresh SQLite file and once on a fresh, empty
  PostgreSQL database (``t_<random>``, dropped ``WITH (FORCE)`` afterwards).
  The postgres variant carries the ``postgres`` marker.
* ``sqlite_url`` -- a fresh SQLite file URL only.
* ``postgres_url`` -- a fresh PostgreSQL database only (marked ``postgres``).
* ``pg_server`` -- the session's PostgreSQL server (see tests/pg_server.py);
  each pytest-xdist worker starts its own, on its own free port.
* ``chromium_executable`` -- path of Debian's chromium for Playwright
  (``executable_path=...``); tests using it are marked ``browser``.

PostgreSQL: a throw-away server is started on 127.0.0.1 from the binaries
under /usr/lib/postgresql/*/bin. Set ``RELAYFLOW_TEST_PG_URL`` to use an
existing server instead. With no binaries, postgres tests are skipped -- but
under ``CI=true`` that is an error, so CI cannot pass without PostgreSQL.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Apps built in tests run no background SLA worker; tests drive engine.delivery.worker themselves.
os.environ.setdefault("RELAYFLOW_WORKER", "off")

try:
    from tests.pg_server import (
        PgServer,
        PostgresUnavailable,
        create_database,
        drop_database,
        in_ci,
        start_postgres,
    )
except ImportError:  # tests/ imported as a plain directory (no package)
    from pg_server import (  # type: ignore[no-redef]
        PgServer,
        PostgresUnavailable,
        create_database,
        drop_database,
        in_ci,
        start_postgres,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgres: needs the PostgreSQL test server (deselect with -m 'not postgres')",
    )
    config.addinivalue_line(
        "markers",
        "browser: drives Debian's chromium through Playwright (deselect with -m 'not browser')",
    )


# Fixtures that imply a marker: a test using them gets it automatically, so
# `-m "not postgres"` / `-m "not browser"` deselect it.
_FIXTURE_MARKERS = {
    "pg_server": "postgres",
    "postgres_url": "postgres",
    "chromium_executable": "browser",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture_name, marker in _FIXTURE_MARKERS.items():
            if fixture_name in names and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


def _missing(reason: str) -> None:
    """Skip locally; fail under CI, where every dependency must be present."""
    if in_ci():
        pytest.fail(f"CI=true, so this is an error and not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- #
# PostgreSQL


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PgServer]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    try:
        server = start_postgres(label=worker)
    except PostgresUnavailable as exc:
        _missing(str(exc))
        raise  # unreachable: _missing always raises
    request.addfinalizer(server.stop)  # also registered with atexit
    yield server


@pytest.fixture
def postgres_url(pg_server: PgServer) -> Iterator[str]:
    url = create_database(pg_server)
    try:
        yield url
    finally:
        drop_database(pg_server, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'relayflow.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


# --------------------------------------------------------------------------- #
# Browser


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("RELAYFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser"
    )
    if not path:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser); one per test module."""
    from tests.ui.live import CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# --- flow fixtures -------------------------------------------------------------------------------

REFERENCE_FLOW = Path(__file__).parent / "acceptance" / "sales_order.yaml"


@pytest.fixture
def reference_flow_text() -> str:
    """The product owner's reference flow (a copy of shared/acceptance/sales_order.yaml)."""
    return REFERENCE_FLOW.read_text(encoding="utf-8")


class World:
    """A database with the engine's tables, one flow installed and a user per role."""

    def __init__(self, url: str, flow_text: str) -> None:
        from engine.language.loader import load_flow_text
        from engine.records.records import Records
        from engine.storage.db import make_engine
        from engine.storage.migrate import upgrade_database
        from engine.storage.registry import FlowRegistry, install_flow

        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        self.live = install_flow(self.db, load_flow_text(flow_text))
        self.registry.put(self.live)
        self.records = Records(self.db, self.registry)
        self.flow = self.live.flow.name

    def user(self, username: str, *roles: str):  # type: ignore[no-untyped-def]
        from engine.people.users import create_user, load_actor

        create_user(self.db, username, display_name=username.title(), roles=list(roles))
        return load_actor(self.db, username=username)

    def history(self, record_id: int) -> list[dict]:  # type: ignore[type-arg]
        return self.records.history(self.flow, record_id)


@pytest.fixture
def reference_world(database_url: str, reference_flow_text: str) -> Iterator[World]:
    world = World(database_url, reference_flow_text)
    yield world
    world.db.dispose()
