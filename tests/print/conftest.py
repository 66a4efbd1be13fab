"""A database (SQLite and PostgreSQL) with the print order flow applied."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.print.helpers import Desk


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    d = Desk(database_url)
    yield d
    d.close()


