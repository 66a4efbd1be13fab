"""Shared test scaffolding: a database with every flow of one folder installed, and the web app on such a folder.

Several test packages (data tables, references, effects) each run against their own small folder of flows;
this is the one place that installs a folder and makes users, so their conftests only name the folder and add
what is particular to them.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class FolderDesk:
    """A database with the engine's tables, the flows of `folder` installed, users made on demand."""

    def __init__(self, url: str, folder: Path) -> None:
        from engine.language.flow_set import load_flow_folder
        from engine.records.access import Access
        from engine.records.records import Records
        from engine.storage.db import make_engine
        from engine.storage.migrate import upgrade_database
        from engine.storage.registry import FlowRegistry, install_flow

        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        found = load_flow_folder(folder)
        assert not found.bad, [str(e) for e in found.bad]
        for flow in found.good:
            self.registry.put(install_flow(self.db, flow))
        self.records = Records(self.db, self.registry)
        self.access = Access(self.db, self.registry, self.records)

    def user(self, username: str, *roles: str, admin: bool = False) -> Any:
        from engine.people.users import create_user, load_actor

        create_user(self.db, username, display_name=username.title(), roles=list(roles), is_admin=admin)
        return load_actor(self.db, username=username)


def app_without_worker(settings: Any) -> Any:
    """`ui.app.create_app(settings)` with no background worker thread (page and API tests drive time themselves)."""
    from ui.app import create_app

    before = os.environ.get("RELAYFLOW_WORKER")
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        return create_app(settings)
    finally:
        if before is None:
            os.environ.pop("RELAYFLOW_WORKER", None)
        else:
            os.environ["RELAYFLOW_WORKER"] = before


def make_folder_app(tmp: Path, folder: Path, users: Mapping[str, tuple[Sequence[str], bool]], **settings: Any) -> Any:
    """The web app (pages and API) on a fresh SQLite file under `tmp` with a copy of `folder`'s flows and `users`
    (username -> (roles, is admin)), each with the page tests' password."""
    from engine.people.users import create_user
    from engine.settings import Settings
    from tests.ui.live import PASSWORD

    flows = tmp / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.yaml"):
        shutil.copy(path, flows / path.name)
    app = app_without_worker(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=flows, **settings))
    for username, (roles, admin) in users.items():
        create_user(app.state.db, username, display_name=username.title(), password=PASSWORD, roles=list(roles),
                    is_admin=admin)
    return app
