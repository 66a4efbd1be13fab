"""Fixtures of the page tests: an app on a fresh SQLite file with the reference flow and its users."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.ui.live import CHROMIUM_ARGS, make_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(Path(tmp_path_factory.mktemp("ui")))
    yield app
    app.state.db.dispose()


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
