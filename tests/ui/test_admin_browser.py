"""The flow editor in a real browser (Playwright driving Debian's chromium).

The admin opens the editor, types a mistake and sees the located error appear
without submitting, jumps to its line, fixes it by adding the field, plans,
applies, and the new field is on the record form. Screenshots go to
artifacts/screenshots/ (git-ignored).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.live import SHOTS, LiveServer, browser_sign_in, make_app, screenshot

sync_api = pytest.importorskip("playwright.sync_api")



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = make_app(Path(tmp_path_factory.mktemp("admin_browser")))
    with LiveServer(app) as srv:
        yield srv
    app.state.db.dispose()




_shot = screenshot


def _sign_in(browser: Any, server: LiveServer, username: str, *, locale: str = "en-US", width: int = 1200) -> Any:
    return browser_sign_in(browser, server.url, username, locale=locale, width=width)



def _caret_to(page: Any, needle: str, offset: int = 0) -> None:
    """Put the textarea's caret `offset` characters into the first occurrence of `needle`."""
    page.evaluate("""([needle, offset]) => {
        const area = document.getElementById("yaml");
        const at = area.value.indexOf(needle) + offset;
        area.focus();
        area.setSelectionRange(at, at);
    }""", [needle, offset])


def test_admin_fixes_a_mistake_plans_and_applies_a_new_field(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    admin = _sign_in(browser, server, "admin")
    admin.goto(server.url + "/admin/flows/sales_order")
    admin.click("a[href='/admin/flows/sales_order/edit']")
    expect(admin.locator("#yaml")).to_contain_text("record_title")
    editor_url = admin.url

    # A mistake, typed: the draft state edits a field the file does not have.
    _caret_to(admin, "special_requirements]", len("special_requirements"))
    admin.keyboard.type(", customer_po")
    problems = admin.locator("#problem-list")
    expect(problems).to_contain_text("unknown field 'customer_po'")
    assert admin.url == editor_url  # nothing was submitted
    expect(admin.locator("#yaml")).to_have_attribute("aria-invalid", "true")
    _shot(admin, "13_editor_located_error")

    # The located error moves the caret to its line.
    link = problems.locator("a.goto").first
    line = int(link.get_attribute("data-line") or 0)
    link.click()
    caret_line = admin.evaluate("""() => {
        const area = document.getElementById("yaml");
        return area.value.slice(0, area.selectionStart).split("\\n").length;
    }""")
    assert caret_line == line and admin.evaluate("document.activeElement.id") == "yaml"

    # Fixed by adding the field.
    _caret_to(admin, "  paid_amount:")
    admin.keyboard.type("  customer_po: {type: text, title: Customer PO, max_length: 40}\n")
    expect(admin.locator("#no-problems")).to_contain_text("No problems")
    expect(admin.locator("#yaml")).not_to_have_attribute("aria-invalid", "true")

    # Plan: safe, with its hash; then apply.
    admin.click("#plan-button")
    plan = admin.locator("#plan")
    expect(plan).to_contain_text("New field 'Customer PO', text")  # the page names the field by title, not by id
    expect(plan.locator(".badge.effect-safe").first).to_have_text("safe")
    assert len(admin.locator("input[name=plan_hash]").get_attribute("value") or "") == 64
    expect(admin.locator("#apply")).to_be_enabled()
    _shot(admin, "14_editor_plan")
    admin.click("#apply")
    admin.wait_for_url(server.url + "/admin/flows/sales_order?msg=applied")
    expect(admin.locator("#live-revision")).to_have_text("revision 2")
    expect(admin.locator(".flash.ok")).to_contain_text("The new revision is live.")
    expect(admin.locator("#revisions")).to_contain_text("Roll back to this revision")
    _shot(admin, "15_flow_revision_2")

    # The new field is on the record form.
    sales = _sign_in(browser, server, "sales1")
    sales.goto(server.url + "/records/sales_order/new")
    expect(sales.locator("#f-customer_po")).to_be_visible()
    expect(sales.locator("label[for='f-customer_po']")).to_contain_text("Customer PO")
    _shot(sales, "16_record_form_new_field")
    for page in (admin, sales):
        page.context.close()


def test_the_editor_and_the_sla_pages_fit_a_phone_in_chinese(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    admin = _sign_in(browser, server, "admin", locale="zh-CN", width=375)
    admin.goto(server.url + "/admin/flows/sales_order/edit")
    expect(admin.locator("label[for='yaml']")).to_have_text("流程文件（YAML）")
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "editor too wide"
    _shot(admin, "17_editor_zh_phone")
    admin.goto(server.url + "/admin/flows/sales_order")
    admin.fill("#sim-start", "2026-09-30T17:30")
    admin.fill("#sim-path", "submit,approve")
    admin.click("#simulation button[type=submit]")
    expect(admin.locator("#sim-result")).to_contain_text("2026-10-08 13:30")
    expect(admin.locator("#simulation button[type=submit]")).to_be_enabled()  # ready for another run
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "flow page too wide"
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin.locator("#simulation").screenshot(path=str(SHOTS / "18_simulation_zh_phone.png"))
    admin.context.close()
