"""The order desk's shipment: an order that creates a collection task and updates its customer."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flow_desk import FolderDesk

FLOWS = Path(__file__).parent / "flows"


class Desk(FolderDesk):
    def __init__(self, url: str, folder: Path = FLOWS) -> None:
        super().__init__(url, folder)

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
