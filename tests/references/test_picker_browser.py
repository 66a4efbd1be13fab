"""The reference picker in Debian's chromium (Playwright): type part of a customer's name, pick it, save;
the order page links the customer and shows its city; the customer's page lists the order."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.people.users import load_actor
from tests.references.conftest import make_desk_app
from tests.references.helpers import set_customer
from tests.ui.live import LiveServer, browser_sign_in, screenshot

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = make_desk_app(Path(tmp_path_factory.mktemp("picker")))
    sales = load_actor(app.state.db, username="sales1")
    for name, city in (("ACME Trading", "Shanghai"), ("Acme Steel", "Wuxi"), ("Beta Corp", "Suzhou")):
        rec = app.state.api.access.create("customer", sales, {"name": name, "city": city})
        set_customer(app.state.db, app.state.api.registry, rec.id, credit_limit=Decimal("5000"))
    steel = app.state.api.records.get("customer", 2)
    app.state.api.access.transition("customer", steel.id, "retire", sales, expected_version=steel.version, comment="x")
    with LiveServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    app.state.db.dispose()


def _sign_in(browser: Any, server: LiveServer, username: str) -> Any:
    return browser_sign_in(browser, server.url, username)



def test_pick_a_customer_by_typing_part_of_its_name(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    page = _sign_in(browser, server, "sales1")
    page.goto(server.url + "/records/sales_order/new")
    page.fill("#f-order_no", "SO-000123")
    page.locator("#f-customer-q").press_sequentially("acm", delay=30)
    options = page.locator("#f-customer-options button.ref-pick")
    expect(options).to_have_count(1)  # the retired Acme Steel is not offered
    expect(options.first).to_have_text("ACME Trading")
    screenshot(page, "ref_01_picker_options")
    options.first.click()
    expect(page.locator("#f-customer-q")).to_have_value("ACME Trading")
    expect(page.locator("#f-customer")).to_have_value("1")
    page.click("#record-form button[type=submit]")
    page.wait_for_url("**/records/sales_order/*?msg=created")
    link = page.locator("a.value[href='/records/customer/1'], a.ref-link[href='/records/customer/1']").first
    expect(link).to_have_text("ACME Trading")
    expect(page.locator("#wrap-customer_city")).to_contain_text("Shanghai")
    expect(page.locator("#f-credit_limit")).to_have_value("5000.00")
    screenshot(page, "ref_02_order_saved")
    link.click()
    page.wait_for_url("**/records/customer/1")
    expect(page.locator("section.backlinks")).to_contain_text("SO-000123")


def test_typing_after_a_pick_forgets_it(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    page = _sign_in(browser, server, "sales1")
    page.goto(server.url + "/records/sales_order/new")
    page.fill("#f-order_no", "SO-000124")
    page.locator("#f-customer-q").press_sequentially("beta", delay=30)
    page.locator("#f-customer-options button.ref-pick").first.click()
    expect(page.locator("#f-customer")).to_have_value("3")
    page.locator("#f-customer-q").press_sequentially("x")
    expect(page.locator("#f-customer")).to_have_value("")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#f-customer-error")).to_be_visible()
