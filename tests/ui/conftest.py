"""Fixtures of the page tests: an app on a fresh SQLite file with the reference flow and its users."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.ui.live import make_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(Path(tmp_path_factory.mktemp("ui")))
    yield app
    app.state.db.dispose()


