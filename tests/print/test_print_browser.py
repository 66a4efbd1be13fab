"""The print page in a real browser (Debian's chromium through Playwright): from the record page's button to
the print view, its PDF download, and the print stylesheet that leaves the toolbar off the paper."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.print.helpers import pdf_pages
from tests.print.test_print_pages import new_order, print_app
from tests.ui.live import LiveServer, browser_sign_in

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = print_app(Path(tmp_path_factory.mktemp("print_browser")))
    with LiveServer(app) as srv:
        yield srv
    app.state.db.dispose()


def test_the_print_button_opens_the_print_view_and_its_pdf_downloads(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    rec = new_order(server.server.config.app, order_no="SO-200001", customer="深圳南山电子")
    page = browser_sign_in(browser, server.url, "sales1", locale="zh-CN", timeout_ms=20_000, accept_downloads=True)
    errors: list[str] = []  # from here on: the pages of this feature
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{server.url}/records/print_order/{rec.id}")
    page.click("#print-order_confirmation")
    page.wait_for_url(f"{server.url}/records/print_order/{rec.id}/print/order_confirmation")
    expect(page.locator("h1.doc-title")).to_have_text("订单确认书")
    expect(page.locator("table.lines").first).to_contain_text("产品-000 Widget")
    expect(page.locator("#print-pdf")).to_have_text("下载 PDF")
    # the print stylesheet is applied (not blocked by the CSP): a sheet on the screen, no toolbar on paper
    assert page.evaluate("getComputedStyle(document.querySelector('.print-toolbar')).display") == "flex"
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.print-toolbar')).display") == "none"
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("#print-pdf")
    path = download.value.path()
    assert download.value.suggested_filename == f"print_order-{rec.id}-order_confirmation.pdf"
    text = pdf_pages(Path(path).read_bytes())[0]
    assert "SO-200001" in text and "深圳南山电子" in text and "第 1 页 / 共 1 页" in text
    assert errors == []
    page.context.close()
