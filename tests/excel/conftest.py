from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def second_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind as `database_url` (the other end of a round trip)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    from tests.pg_server import create_database, drop_database

    server = request.getfixturevalue("pg_server")
    url = create_database(server)
    try:
        yield url
    finally:
        drop_database(server, url)
