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


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[object]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser)."""
    from tests.ui.live import CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
