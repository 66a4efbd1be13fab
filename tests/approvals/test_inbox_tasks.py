"""The inbox with approval tasks, on SQLite and PostgreSQL: each approver has their own task with its own due
time, a delegate sees the task of the person they stand in for, an urged record comes first and is marked,
`inbox_fields` values come with each item (API and page), and a decided task leaves the inbox."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from engine.people.delegation import set_delegation
from engine.people.tokens import create_token
from engine.people.users import load_actor
from engine.records.approvals import decide
from engine.records.task_actions import urge
from engine.storage.schema import approval_tasks, urges, users
from tests.approvals.page_world import make_page_app, submitted
from tests.ui.live import sign_in


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = make_page_app(tmp_path, database_url)
    yield app
    app.state.db.dispose()


def _inbox(app: FastAPI, username: str) -> list[dict[str, Any]]:
    with app.state.db.connect() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
    token = create_token(app.state.db, uid, "tests").secret
    r = TestClient(app).get("/api/inbox", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_each_approver_has_their_own_task_with_its_due_time(app: FastAPI) -> None:
    first = submitted(app, "Laptops")
    # fred's clock is his own: give his task a later due time than fiona's
    later = datetime.now(timezone.utc) + timedelta(days=9)
    with app.state.db.begin() as conn:
        fred_id = conn.execute(select(users.c.id).where(users.c.username == "fred")).scalar_one()
        conn.execute(update(approval_tasks).where(approval_tasks.c.approver_id == fred_id).values(due_at=later))
    fiona = _inbox(app, "fiona")
    assert [(i["record_id"], i["task"]) for i in fiona] == [(first.id, "approval")]
    assert fiona[0]["key_values"] == {"amount": 3, "subject": "Laptops"}
    fred = _inbox(app, "fred")
    assert datetime.fromisoformat(fred[0]["sla_due_at"]) > datetime.fromisoformat(fiona[0]["sla_due_at"]) + timedelta(days=5)
    assert _inbox(app, "bob") == []  # the creator has nothing to do while the approvers decide
    decide(app.state.api.records, "purchase", first.id, load_actor(app.state.db, username="fiona"), "approve", None)
    assert _inbox(app, "fiona") == []
    assert [i["record_id"] for i in _inbox(app, "fred")] == [first.id]


def test_delegated_and_urged_tasks(app: FastAPI) -> None:
    early = submitted(app, "Desks")
    urged = submitted(app, "Chairs")
    now = datetime.now(timezone.utc)
    set_delegation(app.state.db, "fred", "olga", now - timedelta(hours=1), now + timedelta(days=2))
    olga = _inbox(app, "olga")
    assert {i["record_id"] for i in olga} == {early.id, urged.id}
    assert all(i["on_behalf_of_name"] == "Fred 付" and i["task"] == "approval" for i in olga)
    assert [i["record_id"] for i in _inbox(app, "fiona")] == [early.id, urged.id]  # same due: oldest change first
    urge(app.state.api.records, "purchase", urged.id, load_actor(app.state.db, username="bob"), "快点")
    fiona = _inbox(app, "fiona")
    assert [(i["record_id"], i["urged"]) for i in fiona] == [(urged.id, True), (early.id, False)]
    # the page: the urged task first, marked, with its key values, in Chinese
    client, _ = sign_in(app, "fiona", lang="zh-CN")
    page = client.get("/").text
    assert page.index(f"inbox-purchase-{urged.id}") < page.index(f"inbox-purchase-{early.id}")
    row = page[page.index(f"inbox-purchase-{urged.id}"):page.index(f"inbox-purchase-{early.id}")]
    assert "已催办" in row and "审批任务" in row and "Chairs" in row and "<dd>3</dd>" in row


def test_a_page_of_the_inbox_is_cut_after_ordering_urged_first(app: FastAPI) -> None:
    """Olga stands in for two buyers: their drafts are more than a page holds. The page is cut after the
    inbox's order, so an urged draft, the last in plain order, is on it and first."""
    from engine.people.users import create_user
    from engine.records.inbox import inbox

    svc = app.state.api
    create_user(app.state.db, "bea", display_name="Bea", roles=["buyer"])
    buyers = [load_actor(app.state.db, username=name) for name in ("bob", "bea")]
    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=1)
    drafts = [svc.records.create("purchase", buyers[i % 2], {"subject": f"Draft {i}", "amount": 1},
                                 now=start + timedelta(minutes=i)) for i in range(6)]
    for buyer in ("bob", "bea"):
        set_delegation(app.state.db, buyer, "olga", now - timedelta(hours=2), now + timedelta(days=2))
    olga = load_actor(app.state.db, username="olga")
    page = inbox(app.state.db, app.state.registry, olga, limit=2)
    assert [i.record_id for i in page] == [drafts[0].id, drafts[1].id]  # the least recently changed first
    with app.state.db.begin() as conn:  # bea's second draft urged, as the task actions record an urge
        conn.execute(urges.insert().values(flow="purchase", record_id=drafts[3].id, state="draft", at=now,
                                           urged_by=buyers[0].id, recipients=[], reason="now"))
    page = inbox(app.state.db, app.state.registry, olga, limit=2)
    assert [(i.record_id, i.urged, i.on_behalf_of_name) for i in page] == [
        (drafts[3].id, True, "Bea"), (drafts[0].id, False, "Bob Buyer")]


def test_an_urged_record_past_the_first_page_of_its_slice_still_comes_first(app: FastAPI) -> None:
    from engine.records.inbox import inbox

    svc = app.state.api
    bob = load_actor(app.state.db, username="bob")
    now = datetime.now(timezone.utc)
    drafts = [svc.records.create("purchase", bob, {"subject": f"Draft {i}", "amount": 1},
                                 now=now - timedelta(hours=1) + timedelta(minutes=i)) for i in range(5)]
    assert [i.record_id for i in inbox(app.state.db, app.state.registry, bob, limit=2)] == [drafts[0].id, drafts[1].id]
    with app.state.db.begin() as conn:  # the newest draft urged: far past a page of two in plain order
        conn.execute(urges.insert().values(flow="purchase", record_id=drafts[4].id, state="draft", at=now,
                                           urged_by=bob.id, recipients=[], reason="now"))
        # an urge of another stage does not count: the record has left it
        conn.execute(urges.insert().values(flow="purchase", record_id=drafts[3].id, state="check", at=now,
                                           urged_by=bob.id, recipients=[], reason="old"))
    page = inbox(app.state.db, app.state.registry, bob, limit=2)
    assert [(i.record_id, i.urged) for i in page] == [(drafts[4].id, True), (drafts[0].id, False)]
