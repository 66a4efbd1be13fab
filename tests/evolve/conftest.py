"""The fixture the reload tests share: a database with the base flow applied."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.evolve.helpers import Evolving


@pytest.fixture
def world(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url)
    yield w
    w.close()
