"""A purchase desk for the data-table tests: the flows of tests/datatable/flows, users by role."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flow_desk import FolderDesk, make_folder_app

FLOWS = Path(__file__).parent / "flows"


class Desk(FolderDesk):
    """A database with the engine's tables, the purchase and customer flows installed, users by role."""

    def __init__(self, url: str) -> None:
        super().__init__(url, FLOWS)

    @property
    def live(self) -> Any:
        return self.registry.get("purchase")

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
    return make_folder_app(tmp, FLOWS, USERS, **settings)


def new_purchase(app: Any, username: str = "sally", **values: Any) -> Any:
    from engine.people.users import load_actor

    return app.state.api.records.create("purchase", load_actor(app.state.db, username=username), values)
