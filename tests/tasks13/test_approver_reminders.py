"""Warn and breach reminders per approver (SQLite and PostgreSQL): each approver still to decide is reminded at
their own instants, a decided approver is not, nor one waiting for their turn; a second pass adds nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from engine.people.departments import add_department, add_member
from engine.records.approvals import decide
from engine.records.task_actions import add_approver
from engine.sla.scheduler import run_flow_pass
from engine.storage.schema import approval_tasks, outbox
from tests.approvals.flows import joint
from tests.conftest import World

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 10, 12, 10, 0, tzinfo=CST)
REMINDERS = """
reminders:
  - on: warn
    notify: [assignee]
  - on: breach
    notify: [assignee]
    via: [inbox, email]
"""


def _world(url: str) -> tuple[World, dict[str, Any]]:
    w = World(url, joint("all") + REMINDERS)
    people = {"bea": w.user("bea", "buyer"), "fay": w.user("fay", "finance"), "rita": w.user("rita", "production"),
              "max": w.user("max", "manager"), "lee": w.user("lee")}
    add_department(w.db, "sales", "Sales", manager="max")
    add_member(w.db, "sales", "bea")
    return w, people


def _sent(w: World, rid: int) -> list[tuple[str, int, str]]:
    with w.db.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(outbox.c.event, outbox.c.user_id, outbox.c.channel)
                                                      .where(outbox.c.record_id == rid)))


def test_each_pending_approver_is_reminded_and_a_decided_one_is_not(database_url: str) -> None:
    w, p = _world(database_url)
    try:
        rec = w.records.create(w.flow, p["bea"], {"subject": "Steel", "reviewer": p["rita"].id}, now=MONDAY)
        w.records.transition(w.flow, rec.id, "submit", p["bea"], expected_version=None, now=MONDAY)
        decide(w.records, w.flow, rec.id, p["fay"], "approve", "fine", now=MONDAY + timedelta(minutes=5))
        # 1d under mon-fri 09:00-18:00: due Tuesday 10:00, warning at 50%: Monday 14:30.
        warn_pass = run_flow_pass(w.db, w.live, now=datetime(2026, 10, 12, 14, 31, tzinfo=CST))
        assert warn_pass.warned == 1  # the record's own clock
        assert _sent(w, rec.id) == sorted([("warn", p["max"].id, "inbox"), ("warn", p["rita"].id, "inbox")])
        # Rita decides before the due; Max does not.
        decide(w.records, w.flow, rec.id, p["rita"], "approve", None, now=datetime(2026, 10, 13, 9, 0, tzinfo=CST))
        run_flow_pass(w.db, w.live, now=datetime(2026, 10, 13, 10, 1, tzinfo=CST))
        run_flow_pass(w.db, w.live, now=datetime(2026, 10, 13, 10, 2, tzinfo=CST))  # again: nothing new
        assert _sent(w, rec.id) == sorted([("breach", p["max"].id, "email"), ("breach", p["max"].id, "inbox"),
                                           ("warn", p["max"].id, "inbox"), ("warn", p["rita"].id, "inbox")])
    finally:
        w.db.dispose()


def test_an_approver_added_after_me_waits_and_is_not_reminded_meanwhile(database_url: str) -> None:
    w, p = _world(database_url)
    try:
        rec = w.records.create(w.flow, p["bea"], {"subject": "Steel", "reviewer": p["rita"].id}, now=MONDAY)
        w.records.transition(w.flow, rec.id, "submit", p["bea"], expected_version=None, now=MONDAY)
        add_approver(w.records, w.flow, rec.id, p["fay"], "lee", "after", "Lee knows the supplier",
                     now=MONDAY + timedelta(minutes=1))
        with w.db.connect() as conn:
            lee_task = conn.execute(select(approval_tasks.c.status, approval_tasks.c.due_at)
                                    .where(approval_tasks.c.approver_id == p["lee"].id)).one()
        assert lee_task.status == "waiting" and lee_task.due_at is not None
        run_flow_pass(w.db, w.live, now=datetime(2026, 10, 14, 9, 0, tzinfo=CST))  # past every due
        people = {uid for _, uid, _ in _sent(w, rec.id)}
        assert p["lee"].id not in people and {p["fay"].id, p["rita"].id, p["max"].id} <= people
    finally:
        w.db.dispose()
