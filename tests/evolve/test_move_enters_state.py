"""A record moved by a reload enters its new state exactly as a transition would bring it there."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from engine.evolve import apply as apply_module
from engine.storage.schema import outbox, sla_results
from tests.evolve.helpers import Evolving, edit

FLOW = """\
flow: orders
title: Orders
roles: {clerk: Clerk, manager: Manager}
fields:
  customer: {type: text, title: Customer, max_length: 100}
states:
  draft: {owner: clerk, edit: [customer]}
  check: {owner: manager, sla: {due: 1h, clock: elapsed}}
  review: {owner: manager, assign: round_robin, sla: {due: 4h, warn: 50%, clock: elapsed}}
  done: {final: true}
transitions:
  submit: {from: draft, to: check, by: clerk}
  pass: {from: check, to: review, by: manager}
  approve: {from: [check, review], to: done, by: manager}
reminders:
  - on: enter
    states: [review]
    notify: [owner, creator]
    via: [inbox, webhook]
"""
WITHOUT_CHECK = edit(
    FLOW,
    ("  check: {owner: manager, sla: {due: 1h, clock: elapsed}}", "  check: {moved_to: review}"),
    ("submit: {from: draft, to: check", "submit: {from: draft, to: review"),
    ("  pass: {from: check, to: review, by: manager}\n", ""),
    ("approve: {from: [check, review]", "approve: {from: review"),
)
SUBMITTED = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MOVED = SUBMITTED + timedelta(hours=2)  # the clock of `check` (1h) has run out by then
ENTRY_COLUMNS = ("state", "assignee_id", "assignee_role", "sla_state", "sla_started_at", "sla_due_at", "sla_warn_at",
                 "sla_status", "sla_paused_at", "sla_paused_seconds", "sla_escalated", "sla_next_remind_at")


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return MOVED


def _stage_results(world: Evolving, record_id: int) -> list[dict[str, Any]]:
    with world.db.connect() as conn:
        rows = conn.execute(select(sla_results).where(sla_results.c.record_id == record_id)
                            .order_by(sla_results.c.id)).mappings().all()
    return [{k: v for k, v in r.items() if k not in ("id", "record_id", "transition", "actor_id")} for r in rows]


def _enter_reminders(world: Evolving, record_id: int) -> list[dict[str, Any]]:
    with world.db.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.record_id == record_id)
                            .order_by(outbox.c.channel, outbox.c.recipient)).mappings().all()
    return [{**{k: v for k, v in r.items() if k not in ("id", "record_id")},
             "dedupe_key": r["dedupe_key"].replace(f":{record_id}:", ":#:")} for r in rows]


def test_a_record_moved_by_a_reload_gets_what_a_transition_gives(database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = Evolving(database_url, FLOW)
    try:
        name, actor = world.name, world.actor
        recs = [world.records.create(name, actor, {"customer": c}, now=SUBMITTED) for c in ("moved", "fired")]
        for rec in recs:
            world.records.transition(name, rec.id, "submit", actor, expected_version=None, now=SUBMITTED)
        moved, fired = (r.id for r in recs)
        world.records.transition(name, fired, "pass", actor, expected_version=None, now=MOVED)

        plan = world.plan(WITHOUT_CHECK)
        monkeypatch.setattr(apply_module, "datetime", _FrozenClock)
        world.apply(WITHOUT_CHECK, plan)

        by_reload, by_transition = world.get(moved), world.get(fired)
        assert by_reload.state == "review" and by_transition.state == "review"
        assert by_transition.system["assignee_id"] == actor.id and by_transition.system["sla_due_at"] is not None
        assert ({k: by_reload.system[k] for k in ENTRY_COLUMNS}
                == {k: by_transition.system[k] for k in ENTRY_COLUMNS})
        results = _stage_results(world, fired)
        assert results and not results[0]["met"] and results[0]["state"] == "check"  # the stage it left, missed
        assert _stage_results(world, moved) == results
        reminders = _enter_reminders(world, fired)
        assert {r["event"] for r in reminders} == {"enter"} and {r["channel"] for r in reminders} == {"inbox", "webhook"}
        assert _enter_reminders(world, moved) == reminders
    finally:
        world.close()
