"""An import on the pages in a real browser (Debian's chromium through Playwright): upload a workbook, map a
column the guess left out, dry run (nothing kept), import with progress, and the list's Export download."""
from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.excel.desk import FOLDER, NOW
from tests.excel.helpers import workbook
from tests.ui.live import PASSWORD, LiveServer, screenshot

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from ui.app import create_app

    tmp = Path(tmp_path_factory.mktemp("import_browser"))
    flows = tmp / "flows"
    shutil.copytree(FOLDER, flows, ignore=shutil.ignore_patterns("*.tests.yaml", "fixtures"))
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        app = create_app(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=flows))
    finally:
        os.environ.pop("RELAYFLOW_WORKER", None)
    db = app.state.db
    create_user(db, "sales1", display_name="Sally Sales", password=PASSWORD, roles=["sales"])
    create_user(db, "pm1", display_name="Pam", roles=["product_manager"])
    records = app.state.api.records
    records.create("customer", load_actor(db, username="sales1"), {"name": "宁波华东机电"}, now=NOW)
    records.create("product", load_actor(db, username="pm1"), {"code": "HD-2000", "name": "液压泵", "list_price": "1200"},
                   now=NOW)
    with LiveServer(app) as srv:
        yield srv
    db.dispose()


def test_an_import_is_uploaded_mapped_dry_run_and_run(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    expect = sync_api.expect
    rows: list[list[Any]] = [["Order no.", "Customer", "Due"]]
    lines: list[list[Any]] = [["Order no.", "Product", "Quantity"]]
    for i in range(1, 13):
        rows.append([f"SO-{i:06d}", "宁波华东机电" if i != 7 else "Nobody Ltd", "2026-11-20"])
        lines.append([f"SO-{i:06d}", "HD-2000", i])
    path = tmp_path / "orders.xlsx"
    path.write_bytes(workbook({"Orders": rows, "Order lines": lines}))

    ctx = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    # (a browser asks for /favicon.ico by itself; the app has none: not an error of these pages)
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not str(m.location.get("url", "")).endswith("/favicon.ico") else None)
    page.goto(server.url + "/login")
    page.fill("#username", "sales1")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(server.url + "/")

    page.goto(server.url + "/lists/sales_order")
    page.get_by_role("link", name="Import").click()
    page.set_input_files("#import-file", str(path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/lists/sales_order/import/*")
    # guessed: order no. and customer (by their titles) and the lines sheet; "Due" is left for the person
    expect(page.locator("#col-0")).to_have_value("order_no")
    expect(page.locator("#col-1")).to_have_value("customer")
    expect(page.locator("#col-2")).to_have_value("")
    expect(page.locator("#sheet-lines")).to_have_value("Order lines")
    page.select_option("#col-2", "delivery_date")
    screenshot(page, "import_01_mapping")
    page.click("button[value=dry_run]")
    page.wait_for_url("**/progress")
    expect(page.locator("#import-progress")).to_contain_text("Dry run finished", timeout=30_000)
    expect(page.locator("[data-count=created]")).to_have_text("11")
    expect(page.locator("[data-count=failed]")).to_have_text("1")
    problem = page.get_by_role("table", name="Problems").locator("tbody tr")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("Orders")
    expect(problem).to_contain_text("8")        # row 8 of the sheet (the header is row 1)
    expect(problem).to_contain_text("Customer")
    expect(problem).to_contain_text("Nobody Ltd")
    screenshot(page, "import_02_dry_run")
    page.goto(server.url + "/lists/sales_order")
    expect(page.locator("ol.items li")).to_have_count(0)  # the dry run kept nothing
    page.go_back()
    page.click("button[value=run]")
    expect(page.locator("#import-progress")).to_contain_text("Import finished", timeout=30_000)
    expect(page.locator("[data-count=created]")).to_have_text("11")
    expect(page.locator("[data-count=lines_added]")).to_have_text("11")
    page.goto(server.url + "/lists/sales_order")
    expect(page.locator("ol.items li")).to_have_count(11)

    # the list's Export (Excel) hands the same orders back
    with page.expect_download() as info:
        page.get_by_role("link", name="Export (Excel)").click()
    wb = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert sorted(r[2] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)) == [
        f"SO-{i:06d}" for i in range(1, 13) if i != 7]
    assert not errors, errors
    ctx.close()
