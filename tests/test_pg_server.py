"""The test-database fixtures themselves work (SQLite and the PostgreSQL server)."""
from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect, select
from sqlalchemy.engine import make_url

from tests.pg_server import ENV_URL, create_database, drop_database


def _roundtrip(url: str) -> list[tuple[int, str]]:
    metadata = MetaData()
    things = Table(
        "things",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
    )
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), [{"id": 1, "name": "alpha"}, {"id": 2, "name": "ünïcødé 日本"}])
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(things.c.id, things.c.name).order_by(things.c.id))]
    finally:
        engine.dispose()


def test_database_url_roundtrip(database_url: str, request: pytest.FixtureRequest) -> None:
    backend = make_url(database_url).get_backend_name()
    expected = {"sqlite": "sqlite", "postgres": "postgresql"}[request.node.callspec.id.split("-")[0]]
    assert backend == expected
    assert _roundtrip(database_url) == [(1, "alpha"), (2, "ünïcødé 日本")]


def test_database_url_starts_empty(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_postgres_variant_is_marked(database_url: str, request: pytest.FixtureRequest) -> None:
    is_pg = make_url(database_url).get_backend_name() == "postgresql"
    assert (request.node.get_closest_marker("postgres") is not None) == is_pg


def test_sqlite_url_is_a_file_in_tmp_path(sqlite_url: str, tmp_path) -> None:
    url = make_url(sqlite_url)
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "relayflow.db")
    _roundtrip(sqlite_url)
    assert (tmp_path / "relayflow.db").is_file()


def test_postgres_url_uses_psycopg3(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.database.startswith("t_")


def test_two_postgres_databases_are_isolated(pg_server) -> None:
    first = create_database(pg_server)
    second = create_database(pg_server)
    try:
        assert first != second
        _roundtrip(first)
        engine = create_engine(second)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
    finally:
        drop_database(pg_server, first)
        drop_database(pg_server, second)


def test_drop_database_force_closes_open_connections(pg_server) -> None:
    url = create_database(pg_server)
    engine = create_engine(url)
    conn = engine.connect()  # left open on purpose
    try:
        drop_database(pg_server, url)
        with psycopg.connect(pg_server.admin_conninfo()) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s", (make_url(url).database,)
            ).fetchone()
        assert row == (0,)
    finally:
        conn.invalidate()
        engine.dispose()


@pytest.mark.skipif(bool(os.environ.get(ENV_URL)), reason=f"{ENV_URL} points at an external server")
def test_server_listens_on_loopback_only_and_is_tuned(pg_server) -> None:
    assert pg_server.owned
    assert make_url(pg_server.url).host == "127.0.0.1"
    with psycopg.connect(pg_server.admin_conninfo()) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("listen_addresses", "fsync", "synchronous_commit", "full_page_writes", "max_connections", "port")
        }
        version = conn.execute("SHOW server_version_num").fetchone()[0]
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["fsync"] == "off"
    assert settings["synchronous_commit"] == "off"
    assert settings["full_page_writes"] == "off"
    assert settings["max_connections"] == "200"
    assert int(settings["port"]) == pg_server.port
    assert int(version) >= 150000


@pytest.mark.postgres
@pytest.mark.skipif(bool(os.environ.get(ENV_URL)), reason=f"{ENV_URL} points at an external server")
def test_stop_removes_the_server_and_its_directory() -> None:
    from tests.pg_server import PostgresUnavailable, in_ci, start_postgres

    try:
        server = start_postgres(label="stoptest")
    except PostgresUnavailable as exc:
        if in_ci():
            raise
        pytest.skip(str(exc))
    base = server.base_dir
    assert base is not None and (base / "data" / "postmaster.pid").exists()
    server.stop()
    server.stop()  # idempotent
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", connect_timeout=3)


def test_missing_binaries_raise_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import pg_server as mod

    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.setattr(mod, "find_pg_bindir", lambda: None)
    with pytest.raises(mod.PostgresUnavailable, match="RELAYFLOW_TEST_PG_URL"):
        mod.start_postgres()


def test_external_url_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import pg_server as mod

    monkeypatch.setenv(ENV_URL, "postgresql://someone:secret@db.invalid:6543/admin")
    server = mod.start_postgres()
    assert server.url == "postgresql+psycopg://someone:secret@db.invalid:6543/admin"
    assert not server.owned
    server.stop()  # no-op
