"""The order desk's shipment: an order that creates a collection task and updates its customer."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLOWS = Path(__file__).parent / "flows"


class Desk:
    def __init__(self, url: str, folder: Path = FLOWS) -> None:
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

    def user(self, username: str, *roles: str) -> Any:
        from engine.people.users import create_user, load_actor

        create_user(self.db, username, display_name=username.title(), roles=list(roles))
        return load_actor(self.db, username=username)

    def count(self, flow: str) -> int:
        with self.db.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM flow_{flow}").scalar() or 0)

    def history(self, flow: str, record_id: int) -> list[dict[str, Any]]:
        return self.records.history(flow, record_id)


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    d = Desk(database_url)
    yield d
    d.db.dispose()


def copy_flows(tmp: Path) -> Path:
    target = tmp / "flows"
    shutil.copytree(FLOWS, target)
    return target
