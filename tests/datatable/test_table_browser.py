"""The data table in a real browser (Debian's chromium through Playwright): a view is chosen with the column
picker and the filter row, saved, reopened from its tab; a bulk transition on ticked rows reports each record;
at a phone's width (390 px) the rows are cards and nothing overflows the screen."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.datatable.conftest import make_desk_app, new_purchase
from tests.ui.live import LiveServer, browser_sign_in, screenshot

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app = make_desk_app(Path(tmp_path_factory.mktemp("datatable_browser")))
    for i in range(6):
        new_purchase(app, order_no=f"PO-{i:03d}", amount=f"{i + 1}0.00", region="north" if i % 2 else "south",
                     qty=500 if i == 5 else i)
    with LiveServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    app.state.db.dispose()


def _sign_in(browser: Any, server: LiveServer, width: int, user: str = "sally") -> Any:
    return browser_sign_in(browser, server.url, user, width=width)



def test_a_view_is_chosen_saved_and_reopened(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    page = _sign_in(browser, server, 1200)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/lists/purchase")
    page.click("text=Table")
    expect(page.locator("table.data-table")).to_be_visible()
    page.click("summary:has-text('Columns')")
    for key in page.locator(".column-picker input[name=col]:checked").evaluate_all("els => els.map(e => e.value)"):
        if key not in ("order_no", "amount"):
            page.uncheck(f".column-picker input[value='{key}']")
    page.check(".column-picker input[value='region']")
    page.click("#view-form button[type=submit]")
    expect(page.locator("table.data-table thead th")).to_have_count(4)  # select + 3 columns
    page.select_option("select[name='v.region']", ["north"])
    page.click("#view-form button[type=submit]")
    expect(page.locator("table.data-table tbody tr")).to_have_count(3)
    expect(page.locator("tfoot .sums")).to_contain_text("120.00 CNY")  # 20 + 40 + 60, summed by the server
    page.click("summary:has-text('Save view')")
    page.fill("#view-name", "North 北方")
    page.click("form[action$='/table/views'] button[type=submit]")
    expect(page.locator(".views-bar a[aria-current=page]")).to_contain_text("North 北方")
    page.click("text=Standard view")
    expect(page.locator("table.data-table tbody tr")).to_have_count(6)
    page.click(".views-bar a:has-text('North 北方')")
    expect(page.locator("table.data-table tbody tr")).to_have_count(3)
    expect(page.locator("table.data-table thead th")).to_have_count(4)
    expect(page.locator("select[name='v.region'] option[value=north]")).to_have_attribute("selected", "")
    assert errors == []


def test_bulk_transition_on_the_page_and_the_phone_layout(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    page = _sign_in(browser, server, 1200)
    page.goto(server.url + "/lists/purchase/table?col=order_no&col=qty&col=%40state&op.region=in&v.region=north"
                           "&sort=%40id")
    rows = page.locator("table.data-table tbody tr")
    expect(rows).to_have_count(3)
    for i in range(3):
        rows.nth(i).locator("input[name=ids]").check()
    page.select_option("#bulk-action", "transition:submit")
    page.click("#bulk-form button[type=submit]")
    results = page.locator(".bulk-results li")
    expect(results).to_have_count(3)
    expect(page.locator(".bulk-results li.ok")).to_have_count(2)
    expect(page.locator(".bulk-results li.refused")).to_have_count(1)
    expect(page.locator(".bulk-results li.refused")).to_contain_text("Refused")

    phone = _sign_in(browser, server, 390)
    phone.goto(server.url + "/lists/purchase/table?col=order_no&col=region&col=amount&col=qty&col=%40state"
                            "&col=%40assignee&col=%40sla&sort=%40id")
    expect(phone.locator("table.data-table tbody tr")).to_have_count(6)
    expect(phone.locator("tfoot .sums")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # rows are cards: no sideways scrolling of the page
    label = phone.evaluate("getComputedStyle(document.querySelector('tbody td[data-label]'), '::before').content")
    assert "Order no." in label
    screenshot(phone, "datatable-phone-390")
