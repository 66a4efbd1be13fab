"""A database (SQLite and PostgreSQL) with the order flow of tests/tables/flows.py applied."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tables.helpers import Orders


@pytest.fixture
def orders(database_url: str) -> Iterator[Orders]:
    w = Orders(database_url)
    yield w
    w.close()
