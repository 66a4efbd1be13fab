"""A purchase desk for the data-table tests: the flows of tests/datatable/flows, users by role."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLOWS = Path(__file__).parent / "flows"


class Desk:
    """A database with the engine's tables, the purchase and customer flows installed, users by role."""

    def __init__(self, url: str) -> None:
        from engine.language.flow_set import load_flow_folder
        from engine.records.access import Access
        from engine.records.records import Records
        from engine.storage.db import make_engine
        from engine.storage.migrate import upgrade_database
        from engine.storage.registry import FlowRegistry, install_flow

        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        found = load_flow_folder(FLOWS)
        assert not found.bad, [str(e) for e in found.bad]
        for flow in found.good:
            self.registry.put(install_flow(self.db, flow))
        self.records = Records(self.db, self.registry)
        self.access = Access(self.db, self.registry, self.records)

    @property
    def live(self) -> Any:
        return self.registry.get("purchase")

    def user(self, username: str, *roles: str, admin: bool = False) -> Any:
        from engine.people.users import create_user, load_actor

        create_user(self.db, username, display_name=username.title(), roles=list(roles), is_admin=admin)
        return load_actor(self.db, username=username)

    def order(self, actor: Any, **values: Any) -> Any:
        return self.records.create("purchase", actor, values)

    def reader(self, actor: Any, lang: str | None = "en", scan_limit: int = 100_000) -> Any:
        from engine.records.data_view import ViewReader

        return ViewReader(self.db, self.records, actor, lang, scan_limit)


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    d = Desk(database_url)
    yield d
    d.db.dispose()


USERS = {"admin": ((), True), "sally": (("sales",), False), "clara": (("clerk",), False), "max": (("manager",), False)}


def make_desk_app(tmp: Path, **settings: Any) -> Any:
    """The web app (pages and API) on a fresh SQLite file with the purchase desk flows and USERS."""
    import os
    import shutil

    from engine.people.users import create_user
    from engine.settings import Settings
    from tests.ui.live import PASSWORD
    from ui.app import create_app

    flows = tmp / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    for path in FLOWS.glob("*.yaml"):
        shutil.copy(path, flows / path.name)
    before = os.environ.get("RELAYFLOW_WORKER")
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        app = create_app(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=flows, **settings))
    finally:
        if before is None:
            os.environ.pop("RELAYFLOW_WORKER", None)
        else:
            os.environ["RELAYFLOW_WORKER"] = before
    for username, (roles, admin) in USERS.items():
        create_user(app.state.db, username, display_name=username.title(), password=PASSWORD, roles=list(roles),
                    is_admin=admin)
    return app


def new_purchase(app: Any, username: str = "sally", **values: Any) -> Any:
    from engine.people.users import load_actor

    return app.state.api.records.create("purchase", load_actor(app.state.db, username=username), values)
