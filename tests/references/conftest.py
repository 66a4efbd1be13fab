"""An order desk: the acceptance customer and product masters, and a small order flow referring to them."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flow_desk import FolderDesk, make_folder_app

FLOWS = Path(__file__).parent / "flows"


class Desk(FolderDesk):
    """A database with the engine's tables, the flows of tests/references/flows installed, users by role."""

    def __init__(self, url: str) -> None:
        super().__init__(url, FLOWS)


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    d = Desk(database_url)
    yield d
    d.db.dispose()


USERS = {"admin": ((), True), "sales1": (("sales",), False), "agent1": (("agent",), False),
         "clerk1": (("clerk",), False)}


def make_desk_app(tmp: Path) -> Any:
    """The web app (pages and API) on a fresh SQLite file with the order desk flows and USERS."""
    return make_folder_app(tmp, FLOWS, USERS)


@pytest.fixture
def desk_app(tmp_path: Path) -> Iterator[Any]:
    app = make_desk_app(tmp_path)
    yield app
    app.state.db.dispose()
