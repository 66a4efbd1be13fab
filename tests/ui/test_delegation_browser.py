"""Out-of-office delegation in a real browser (Debian's chromium), in English and in Chinese: the setting on
the profile page (a wrong date range refused inline), the delegated task marked in the delegate's inbox,
acting on it, and the history naming both people."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.people.users import create_user, load_actor
from engine.records.claims import reassign
from tests.ui.live import PASSWORD, LiveServer, browser_sign_in, make_app, move, new_order, screenshot

sync_api = pytest.importorskip("playwright.sync_api")

# language → (the clerk going away, their display name, the colleague standing in, theirs, the words to expect)
CASES = {
    "en-US": ("away_en", "Wang Fang", "lee_en", "Lee Lei",
              {"heading": "Out of office", "saved": "Your out-of-office setting was saved.",
               "bad": "the last day must not come before the first", "mark": "On behalf of Wang Fang",
               "history": "Lee Lei, on behalf of Wang Fang"}),
    "zh-CN": ("away_zh", "王芳", "lee_zh", "李雷",
              {"heading": "外出委托", "saved": "外出委托已保存。", "bad": "结束日期不能早于开始日期",
               "mark": "代 王芳 处理", "history": "李雷（代 王芳）"}),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = make_app(Path(tmp_path_factory.mktemp("delegation")))
    for away, away_name, lee, lee_name, _ in CASES.values():
        create_user(app.state.db, away, display_name=away_name, password=PASSWORD, roles=["clerk"])
        create_user(app.state.db, lee, display_name=lee_name, password=PASSWORD, roles=[])
    with LiveServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    app.state.db.dispose()


def _sign_in(browser: Any, server: LiveServer, username: str, locale: str) -> Any:
    return browser_sign_in(browser, server.url, username, locale=locale)



@pytest.mark.parametrize("locale", list(CASES))
def test_delegation_setting_and_the_delegated_task(browser: Any, server: LiveServer, locale: str) -> None:
    expect = sync_api.expect
    away, away_name, lee, lee_name, words = CASES[locale]
    app = server.app  # type: ignore[attr-defined]
    # an order waiting in review, assigned to the clerk who is going away
    rec = move(app, new_order(app).id, "submit", "sales1")
    admin = load_actor(app.state.db, username="admin")
    reassign(app.state.db, app.state.registry, "sales_order", rec.id, admin, load_actor(app.state.db, username=away).id,
             expected_version=rec.version)

    page = _sign_in(browser, server, away, locale)
    page.click("a.who")
    expect(page.locator("#ooo-head")).to_have_text(words["heading"])
    today = date.today()
    page.select_option("#ooo-delegate", lee)
    page.fill("#ooo-from", (today + timedelta(days=2)).isoformat())
    page.fill("#ooo-until", today.isoformat())
    page.click("#delegation form.fields button[type=submit]")
    expect(page.locator("#ooo-until-error")).to_have_text(words["bad"])  # refused inline, the choice kept
    expect(page.locator("#ooo-delegate")).to_have_value(lee)
    page.fill("#ooo-from", (today - timedelta(days=1)).isoformat())
    page.fill("#ooo-until", (today + timedelta(days=3)).isoformat())
    page.click("#delegation form.fields button[type=submit]")
    expect(page.locator("#flash")).to_contain_text(words["saved"])
    expect(page.locator(".current-delegation")).to_contain_text(lee_name)
    screenshot(page, f"delegation_profile_{locale}")

    other = _sign_in(browser, server, lee, locale)
    row = other.locator(f"#inbox-sales_order-{rec.id}")
    expect(row.locator(".on-behalf")).to_have_text(words["mark"])
    screenshot(other, f"delegation_inbox_{locale}")
    row.locator("a.item-title").click()
    other.click("button[value='t:approve']")
    expect(other.locator("#flash")).to_be_visible()
    assert app.state.api.records.get("sales_order", rec.id).state == "production"
    expect(other.locator("body")).to_contain_text(words["history"])
    screenshot(other, f"delegation_history_{locale}")
    other.context.close()
    page.context.close()
