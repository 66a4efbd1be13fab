"""Order lines whose product's price changed since it was copied, in a real browser (Debian's chromium through
Playwright), in English and Chinese: the cell is marked with the price now, "fetch again" copies it into that
row only, and "fetch all changed rows again" into the others; the order's total follows."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.flow_desk import app_without_worker
from tests.ui.live import PASSWORD, LiveServer, browser_sign_in, screenshot

sync_api = pytest.importorskip("playwright.sync_api")
FOLDER = Path(__file__).parent / "order_desk"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    tmp = Path(tmp_path_factory.mktemp("row_fetch_browser"))
    shutil.copytree(FOLDER, tmp / "flows", ignore=shutil.ignore_patterns("fixtures", "*.tests.yaml"))
    app = app_without_worker(Settings(database_url=f"sqlite:///{tmp / 'desk.db'}", flows_dir=tmp / "flows",
                                      files_dir=tmp / "files"))
    for name, roles in (("sales", ["sales"]), ("pm", ["product_manager"])):
        create_user(app.state.db, name, display_name=name.title(), password=PASSWORD, roles=roles)
    with LiveServer(app) as srv:
        yield srv, app
    app.state.db.dispose()


def _order_with_repriced_products(app: Any, tag: str) -> int:
    """An order of two lines (prices fetched: 1,200.00 and 350.50), whose products then cost 1,500 and 400."""
    records = app.state.api.records
    sales, pm = (load_actor(app.state.db, username=u) for u in ("sales", "pm"))
    pump = records.create("product", pm, {"code": f"HD-{tag}", "name": "液压泵", "list_price": "1200"})
    valve = records.create("product", pm, {"code": f"VL-{tag}", "name": "电磁阀", "list_price": "350.50"})
    customer = records.create("customer", sales, {"name": f"宁波华东机电 {tag}", "city": "宁波"})
    order = records.create("sales_order", sales, {
        "order_no": f"SO-{tag}", "customer": customer.id, "delivery_date": "2026-12-20",
        "lines": [{"product": pump.id, "quantity": 2}, {"product": valve.id, "quantity": 10}]})
    for product, price in ((pump, "1500"), (valve, "400")):
        records.edit("product", product.id, pm, {"list_price": price}, expected_version=product.version)
    return int(order.id)


@pytest.mark.parametrize(("locale", "tag", "words"), [
    ("en-US", "000001", {"mark": "Changed at the source", "now": "now: 1,500.00", "one": "Fetch again",
                         "all": "Fetch all changed rows again", "rows": "Rows changed at the source: 2"}),
    ("zh-CN", "000002", {"mark": "来源已更改", "now": "现为：1,500.00", "one": "重新获取",
                         "all": "全部重新获取", "rows": "来源已更改的行：2"}),
])
def test_a_changed_price_is_marked_and_fetched_again_row_by_row(browser: Any, server: tuple[LiveServer, Any],
                                                                  locale: str, tag: str, words: dict[str, str]) -> None:
    expect = sync_api.expect
    live, app = server
    order_id = _order_with_repriced_products(app, tag)
    page = browser_sign_in(browser, live.url, "sales", locale=locale)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}/records/sales_order/{order_id}")
    first = page.locator("#c-lines-0-unit_price-fetch")
    expect(first).to_contain_text(words["mark"])
    expect(first).to_contain_text(words["now"])
    expect(page.locator("#c-lines-1-unit_price-fetch")).to_be_visible()
    expect(page.locator("#f-lines-fetch")).to_contain_text(words["rows"])
    expect(page.locator("[name='lines.0.unit_price']")).to_have_value("1200.00")
    screenshot(page, f"row_fetch_marked_{locale}")
    first.get_by_role("button", name=words["one"]).click()
    page.wait_for_url(f"**/records/sales_order/{order_id}?msg=saved")
    expect(page.locator("[name='lines.0.unit_price']")).to_have_value("1500.00")
    expect(page.locator("[name='lines.1.unit_price']")).to_have_value("350.50")  # the other row waits
    expect(page.locator("#c-lines-0-unit_price-fetch")).to_have_count(0)
    expect(page.locator("#c-lines-1-unit_price-fetch")).to_be_visible()
    page.locator("#f-lines-fetch").get_by_role("button", name=words["all"]).click()
    page.wait_for_url(f"**/records/sales_order/{order_id}?msg=saved")
    expect(page.locator("[name='lines.1.unit_price']")).to_have_value("400.00")
    expect(page.locator(".fetch-mark")).to_have_count(0)
    expect(page.locator("#c-total")).to_contain_text("7,000.00")  # 2 × 1,500 + 10 × 400
    assert not errors, errors
