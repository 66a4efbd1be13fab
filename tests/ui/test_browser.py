"""The pages in a real browser: Playwright driving Debian's chromium (never a downloaded one).

Scenario on the reference flow: a sales user signs in, makes a mistake and
sees it inline with the input kept, corrects it and submits; a clerk finds the
order in the inbox and approves it; a manager approves a large order; the
history shows every step with its changes; a user without the role sees no
button and a crafted POST gets 403; the pages work in Chinese and English.
Screenshots go to artifacts/screenshots/ (git-ignored).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.live import PASSWORD, LiveServer, make_app, move, new_order, screenshot

sync_api = pytest.importorskip("playwright.sync_api")



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = make_app(Path(tmp_path_factory.mktemp("browser")))
    with LiveServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    app.state.db.dispose()




_shot = screenshot


def _sign_in(browser: Any, server: LiveServer, username: str, *, locale: str = "en-US",
             width: int = 1200, shot: str | None = None) -> Any:
    ctx = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(server.url + "/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if shot:
        _shot(page, shot)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(server.url + "/")
    return page


def test_order_from_sales_to_production(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    # --- the sales user: a mistake, shown inline with the input kept; corrected; submitted
    sales = _sign_in(browser, server, "sales1", shot="01_sign_in")
    sales.click("a[href='/records/sales_order/new']")
    sales.fill("#f-customer", "Sino Trading <Ltd>")
    sales.fill("#f-product_model", "RF-200")
    sales.fill("#f-quantity", "12x")
    sales.fill("#f-unit_price", "150")
    sales.fill("#f-delivery_date", "2026-12-15")
    sales.click("#record-form button.primary")
    expect(sales.locator("#f-quantity-error")).to_contain_text("must be a whole number")
    expect(sales.locator("#f-quantity")).to_have_value("12x")
    expect(sales.locator("#f-quantity")).to_have_attribute("aria-invalid", "true")
    expect(sales.locator("#f-customer")).to_have_value("Sino Trading <Ltd>")
    expect(sales.locator("#f-quantity")).to_be_focused()
    expect(sales.locator(".error-summary")).to_be_visible()
    _shot(sales, "02_new_order_with_error")
    sales.fill("#f-quantity", "12")
    expect(sales.locator("#c-amount")).to_have_text("1,800.00")  # computed while typing (htmx)
    sales.click("#record-form button.primary")
    expect(sales.locator(".flash.ok")).to_contain_text("The record was created.")
    order_url = sales.url.split("?")[0]
    # an edit with a diff, then the transition
    sales.fill("#f-unit_price", "160")
    expect(sales.locator("#c-amount")).to_have_text("1,920.00")
    sales.click("button[value='save']")
    expect(sales.locator(".flash.ok")).to_contain_text("Your changes were saved.")
    sales.click("button[value='t:submit']")
    expect(sales.locator(".badge.state")).to_have_text("订单审核")
    _shot(sales, "03_record_submitted")
    # a user without the role sees no approve button, and a crafted POST is refused
    expect(sales.locator("button[value='t:approve']")).to_have_count(0)
    csrf = sales.locator("meta[name=csrf-token]").get_attribute("content")
    version = sales.locator("input[name=version]").get_attribute("value")
    crafted = sales.request.post(order_url, form={"csrf_token": csrf, "version": version, "action": "t:approve"})
    assert crafted.status == 403

    # --- the clerk: the order is in the inbox; approve
    clerk = _sign_in(browser, server, "clerk1")
    item = clerk.locator(".item", has_text="Sino Trading <Ltd>")
    expect(item).to_be_visible()
    expect(item.locator(".badge")).to_contain_text(re.compile("On track|Warning|Breached"))
    _shot(clerk, "04_clerk_inbox")
    item.locator("a.item-title").click()
    clerk.click("button[value='t:approve']")
    expect(clerk.locator(".badge.state")).to_have_text("生产中")
    expect(clerk.locator(".flash.ok")).to_contain_text("moved on")

    # --- a large order: the clerk cannot approve it (with the reason), the manager does
    app = server.app  # type: ignore[attr-defined]
    big = new_order(app, customer="Big Buyer", quantity=1000, unit_price="150.00")
    move(app, big.id, "submit", "sales1")
    clerk.goto(f"{server.url}/records/sales_order/{big.id}")
    expect(clerk.locator("button[aria-describedby='why-approve']")).to_be_disabled()
    expect(clerk.locator("#why-approve")).to_contain_text("not possible with these values of")
    manager = _sign_in(browser, server, "manager1")
    manager.click("nav.nav >> text=销售订单跟单")
    manager.click("nav.tabs >> text=订单审核")
    manager.locator(".item", has_text="Big Buyer").locator("a.item-title").click()
    _shot(manager, "05_manager_large_order")
    manager.click("button[value='t:approve_large']")
    expect(manager.locator(".badge.state")).to_have_text("生产中")

    # --- the history: every step with its changes
    sales.goto(order_url)
    timeline = sales.locator("ol.timeline > li")
    expect(timeline).to_have_count(4)
    texts = [t.inner_text() for t in timeline.all()]
    assert "审核通过" in texts[0] and "订单审核 → 生产中" in texts[0] and "Clara Clerk" in texts[0]
    assert "提交审核" in texts[1] and "草稿 → 订单审核" in texts[1]
    assert "Edited" in texts[2] and "150.00" in texts[2] and "160.00" in texts[2] and "1,920.00" in texts[2]
    assert "Created" in texts[3] and "Sino Trading <Ltd>" in texts[3]
    _shot(sales, "06_history")
    for page in (sales, clerk, manager):
        page.context.close()


def test_chinese_pages_on_a_phone(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    app = server.app  # type: ignore[attr-defined]
    rec = new_order(app, customer="华东机电 <script>x</script>", product_model="RF-300")
    move(app, rec.id, "submit", "sales1")
    clerk = _sign_in(browser, server, "clerk1", locale="zh-CN", width=375, shot="07_sign_in_zh_phone")
    expect(clerk.locator("h1")).to_have_text("待办")
    expect(clerk.locator(".item", has_text="华东机电 <script>x</script>")).to_be_visible()
    _shot(clerk, "08_inbox_zh_phone")
    clerk.locator(".item", has_text="华东机电").locator("a.item-title").click()
    expect(clerk.locator("#history-h")).to_have_text("历史记录")
    expect(clerk.locator("button[value='t:approve']")).to_have_text("审核通过")
    no_overflow = clerk.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert no_overflow, "the record page is wider than a 375px phone screen"
    _shot(clerk, "09_record_zh_phone")
    clerk.click("text=English")
    expect(clerk.locator("#history-h")).to_have_text("History")
    clerk.context.close()

    admin = _sign_in(browser, server, "admin", locale="zh-CN")
    admin.goto(server.url + "/admin/flows/sales_order")
    expect(admin.locator("svg.diagram")).to_be_visible()
    expect(admin.locator(".yaml")).to_contain_text("record_title")
    _shot(admin, "10_admin_flow_diagram")
    admin.goto(server.url + "/admin/users")
    _shot(admin, "11_admin_users")
    admin.goto(server.url + "/lists/sales_order")
    _shot(admin, "12_list")
    admin.context.close()


def test_the_content_security_policy_breaks_no_page(browser: Any, server: LiveServer) -> None:
    """Every kind of page under the strict CSP: no console error (a blocked script or style is one),
    htmx still works, and the state diagram keeps its styles from /static."""
    problems: list[str] = []
    visits = {"admin": ["/", "/admin/flows", "/admin/flows/sales_order", "/admin/flows/sales_order/edit",
                        "/admin/flows/new", "/admin/users", "/admin/deliveries", "/notifications",
                        "/admin/departments", "/profile"],
              "sales1": ["/", "/lists/sales_order", "/records/sales_order/new"]}
    for user, paths in visits.items():
        page = _sign_in(browser, server, user)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        for path in paths:
            response = page.goto(server.url + path)
            assert response is not None and response.status < 400, path
            assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), path
            page.wait_for_load_state("networkidle")
        if user == "admin":
            page.goto(server.url + "/admin/flows/sales_order")
            stroke = page.eval_on_selector(".rf-node rect", "el => getComputedStyle(el).stroke")
            assert stroke == "rgb(59, 91, 140)"  # the diagram's rule from diagram.css applies
        else:
            page.goto(server.url + "/records/sales_order/new")
            page.fill("#f-quantity", "3")
            page.fill("#f-unit_price", "2")
            sync_api.expect(page.locator("#c-amount")).to_have_text("6.00")  # htmx round trip under the CSP
        page.context.close()
    assert problems == [], problems
