"""An approval task and a hand-over in a real browser (Debian's chromium), in English and in Chinese: the
approver sees the other approver's decision and comment, a rejection without a comment is refused with the
comment box kept, the task is handed over to a colleague with a reason, and the colleague approves it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.people.users import load_actor
from engine.records.approvals import decide
from tests.approvals.page_world import make_page_app, submitted
from tests.ui.live import LiveServer, browser_sign_in, screenshot

sync_api = pytest.importorskip("playwright.sync_api")

WORDS = {
    "en-US": {"heading": "Approval", "approved": "Approved", "waiting": "Waiting for a decision",
              "need_comment": "say why you reject it", "handed": "The task was handed over.", "history": "Handed over",
              "done": "You approved this record."},
    "zh-CN": {"heading": "审批", "approved": "已同意", "waiting": "待审批", "need_comment": "请说明驳回的理由",
              "handed": "任务已转交。", "history": "已转交", "done": "您已同意此记录。"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = Path(tmp_path_factory.mktemp("approval_browser"))
    app = make_page_app(tmp, f"sqlite:///{tmp / 'relayflow.db'}")
    with LiveServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    app.state.db.dispose()


def _sign_in(browser: Any, server: LiveServer, username: str, locale: str) -> Any:
    return browser_sign_in(browser, server.url, username, locale=locale)



@pytest.mark.parametrize("locale", list(WORDS))
def test_an_approval_task_and_a_hand_over(browser: Any, server: LiveServer, locale: str) -> None:
    expect = sync_api.expect
    words = WORDS[locale]
    app = server.app  # type: ignore[attr-defined]
    rec = submitted(app, subject=f"Chairs {locale}")
    decide(app.state.api.records, "purchase", rec.id, load_actor(app.state.db, username="fred"), "approve", "预算内")

    page = _sign_in(browser, server, "fiona", locale)
    page.goto(f"{server.url}/records/purchase/{rec.id}")
    expect(page.locator("#approval-h")).to_have_text(words["heading"])
    fred_row = page.locator("table.approvers tr.task.approved")
    expect(fred_row).to_contain_text("Fred 付")
    expect(fred_row.locator(".status")).to_have_text(words["approved"])
    expect(fred_row.locator(".task-comment")).to_have_text("预算内")
    expect(page.locator("tr.task.mine .status")).to_have_text(words["waiting"])
    # the reject button looks destructive; without a comment it is refused and nothing is lost
    assert "danger" in (page.locator("#reject-btn").get_attribute("class") or "")
    page.click("#reject-btn")
    expect(page.locator("#banner")).to_contain_text(words["need_comment"])
    expect(page.locator("#approve-btn")).to_be_visible()
    screenshot(page, f"approval_task_{locale}")
    # hand the task over to Olga, with a reason
    page.click("#hand-over-open")
    page.select_option("#hand-over-to", "olga")
    page.fill("#hand-over-reason", "出差一周 / away for a week")
    screenshot(page, f"approval_hand_over_{locale}")
    page.click("#hand-over-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text(words["handed"])
    expect(page.locator("#approve-btn")).to_have_count(0)
    expect(page.locator("body")).to_contain_text(words["history"])
    expect(page.locator("body")).to_contain_text("出差一周 / away for a week")

    other = _sign_in(browser, server, "olga", locale)
    other.goto(f"{server.url}/records/purchase/{rec.id}")
    other.fill("#decide-comment", "同意 / fine")
    other.click("#approve-btn")
    expect(other.locator("#flash")).to_contain_text(words["done"])
    assert app.state.api.records.get("purchase", rec.id).state == "done"
    screenshot(other, f"approval_done_{locale}")
    other.context.close()
    page.context.close()
