"""The record page of a record in an approval stage, on SQLite and PostgreSQL: each approver sees the other
approvers' decisions with their comments, approves or rejects with a comment (a rejection without one is
refused and the page keeps what was typed), hands over, adds an approver, returns with a reason (shown on top
of the page the record comes back to), urges; and nobody is offered an action the engine would refuse."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.approvals.page_world import make_page_app, submitted
from tests.ui.live import sign_in

URL = "/records/purchase/{id}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = make_page_app(tmp_path, database_url)
    yield app
    app.state.db.dispose()


def _page(client: Any, rid: int) -> str:
    r = client.get(URL.format(id=rid))
    assert r.status_code == 200, r.text
    return str(r.text)


def _post(client: Any, csrf: str, rid: int, what: str, **data: str) -> Any:
    return client.post(f"{URL.format(id=rid)}/task/{what}", data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_approvers_decide_on_the_page_and_see_each_other(app: FastAPI) -> None:
    rec = submitted(app)
    fiona, fcsrf = sign_in(app, "fiona")
    page = _page(fiona, rec.id)
    assert 'id="approve-btn"' in page and 'class="danger" formaction=' in page  # reject looks destructive
    assert "Fred 付" in page and "Waiting for a decision" in page
    # a rejection without a comment is refused on the page; nothing counted
    r = _post(fiona, fcsrf, rec.id, "reject", reason="  ")
    assert r.status_code == 422 and "say why you reject it" in r.text
    assert app.state.api.records.get("purchase", rec.id).state == "check"
    r = _post(fiona, fcsrf, rec.id, "approve", reason="预算已核")
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=approve")
    page = _page(fiona, rec.id)
    assert "You approved this record." not in page  # the flash comes with the redirect's msg
    assert 'id="approve-btn"' not in page and "预算已核" in page and "Approved" in page
    # fred sees fiona's decision and comment, in Chinese
    fred, csrf = sign_in(app, "fred", lang="zh-CN")
    page = _page(fred, rec.id)
    assert "预算已核" in page and "已同意" in page and "同意" in page
    r = _post(fred, csrf, rec.id, "reject", reason="价格偏高,请重新询价。")
    assert r.status_code == 303
    # back in draft: the buyer sees the rejection's reason on top of the page
    bob, _ = sign_in(app, "bob")
    page = _page(bob, rec.id)
    assert re.search(r'id="last-reason".*Rejected by Fred 付:.*价格偏高,请重新询价。', page, re.S)
    assert 'id="approve-btn"' not in page


def test_hand_over_add_approver_return_and_urge(app: FastAPI) -> None:
    rec = submitted(app)
    fiona, csrf = sign_in(app, "fiona")
    page = _page(fiona, rec.id)
    for form in ("hand-over-form", "add-approver-form", "return-form"):
        assert f'id="{form}"' in page, form
    assert 'id="urge-form"' not in page  # the flow names the creator and managers as the ones who urge
    # a hand-over without a reason is refused; the choice of person is kept
    r = _post(fiona, csrf, rec.id, "hand_over", to="olga", reason="")
    assert r.status_code == 422 and "give a reason" in r.text
    assert '<option value="olga" selected>' in r.text
    # to someone already holding a task: refused, with the engine's words
    r = _post(fiona, csrf, rec.id, "hand_over", to="fred", reason="busy")
    assert r.status_code == 422 and "this person cannot take this task" in r.text
    r = _post(fiona, csrf, rec.id, "hand_over", to="olga", reason="出差一周")
    assert r.status_code == 303
    page = _page(fiona, rec.id)
    assert 'id="hand-over-form"' not in page and "Olga 欧" in page
    olga, ocsrf = sign_in(app, "olga")
    page = _page(olga, rec.id)
    assert 'id="approve-btn"' in page and 'id="hand-over-form"' in page
    # olga asks mona to decide before her
    r = _post(olga, ocsrf, rec.id, "add_approver", to="mona", position="before", reason="金额较大")
    assert r.status_code == 303
    page = _page(olga, rec.id)
    assert 'id="approve-btn"' not in page and "Waits for another approver" in page and "Mona Manager" in page
    # the creator urges (once per 2h); a second urge is refused with the wait
    bob, bcsrf = sign_in(app, "bob")
    page = _page(bob, rec.id)
    assert 'id="urge-form"' in page and 'id="return-form"' not in page and 'id="approve-btn"' not in page
    assert _post(bob, bcsrf, rec.id, "urge").status_code == 303
    r = _post(bob, bcsrf, rec.id, "urge", reason="again")
    assert r.status_code == 409 and "try again in" in r.text
    # fred returns it to draft with a reason; the buyer sees it on top
    fred, fcsrf = sign_in(app, "fred")
    r = _post(fred, fcsrf, rec.id, "return", to="check", reason="x")
    assert r.status_code == 422 and "the record cannot be returned there" in r.text
    r = _post(fred, fcsrf, rec.id, "return", to="draft", reason="缺少报价单")
    assert r.status_code == 303
    assert app.state.api.records.get("purchase", rec.id).state == "draft"
    page = _page(bob, rec.id)
    assert re.search(r'id="last-reason".*Returned by Fred 付:.*缺少报价单', page, re.S)


def test_outsiders_get_no_task_forms_and_cannot_post(app: FastAPI) -> None:
    rec = submitted(app)
    nosy, csrf = sign_in(app, "nosy")
    assert nosy.get(URL.format(id=rec.id)).status_code == 404
    assert _post(nosy, csrf, rec.id, "approve").status_code == 404
    bob, bcsrf = sign_in(app, "bob", lang="zh-CN")  # the creator: may see and urge, may not decide
    page = _page(bob, rec.id)
    assert 'id="urge-form"' in page and 'id="approve-btn"' not in page and 'id="hand-over-form"' not in page
    assert "催办" in page and "待审批" in page
    r = _post(bob, bcsrf, rec.id, "approve")
    assert r.status_code == 403 and "您不能审批自己的记录" in r.text
    r = _post(bob, bcsrf, rec.id, "return", to="draft", reason="不要了")
    assert r.status_code == 403 and "只有此环节的负责人才能这样做" in r.text
    assert _post(bob, bcsrf, rec.id, "sign").status_code == 404
    assert app.state.api.records.get("purchase", rec.id).state == "check"
    # a CSRF-less post changes nothing
    r = bob.post(f"{URL.format(id=rec.id)}/task/urge", data={}, follow_redirects=False)
    assert r.status_code in (400, 403)
