"""Deciding approvals on SQLite and PostgreSQL: tasks per approver, delegates, self-approval, send back,
quorum, the stage moving by itself, and 20 approvers deciding at the same moment."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.people.delegation import set_delegation
from engine.people.departments import add_department, add_member
from engine.records.access import Access
from engine.records.approvals import AlreadyDecided, NotApprover, SelfApproval, approval_view, decide
from engine.records.errors import NotFound, ValidationFailed
from engine.storage.schema import approval_tasks, history
from tests.approvals.flows import joint
from tests.conftest import World


def _setup(url: str, mode: str = "all") -> tuple[World, dict[str, Any]]:
    w = World(url, joint(mode))
    people = {"bea": w.user("bea", "buyer"), "fay": w.user("fay", "finance"), "fred": w.user("fred", "finance"),
              "rita": w.user("rita", "production"), "max": w.user("max", "manager"), "lee": w.user("lee")}
    add_department(w.db, "sales", "Sales", manager="max")
    add_member(w.db, "sales", "bea")
    return w, people


def _submitted(w: World, p: dict[str, Any], **values: Any) -> int:
    rec = w.records.create(w.flow, p["bea"], {"subject": "Steel", "amount": 5, "reviewer": p["rita"].id, **values})
    w.records.transition(w.flow, rec.id, "submit", p["bea"], expected_version=rec.version)
    return rec.id


def _view(w: World, rid: int, actor: Any = None) -> dict[str, Any]:
    with w.db.connect() as conn:
        view = approval_view(conn, w.live.flow, {"id": rid, "state": w.records.get(w.flow, rid).state}, actor)
    assert view is not None
    return view


def test_all_approvers_get_a_task_and_the_stage_moves_when_everyone_approved(database_url: str) -> None:
    w, p = _setup(database_url)
    try:
        rid = _submitted(w, p)
        view = _view(w, rid)
        assert [(t["approver_name"], t["source"], t["status"]) for t in view["tasks"]] == [
            ("Fay", "role:finance", "pending"), ("Fred", "role:finance", "pending"),
            ("Rita", "field:reviewer", "pending"), ("Max", "manager_of:creator", "pending")]
        assert all(t["due_at"] is not None for t in view["tasks"])  # each approver's own clock
        for name in ("fay", "fred", "rita"):
            out = decide(w.records, w.flow, rid, p[name], "approve", f"ok from {name}")
            assert out.moved_to is None
        assert w.records.get(w.flow, rid).state == "check"
        out = decide(w.records, w.flow, rid, p["max"], "approve", None)
        assert out.moved_to == "done" and out.tally["approved"] == 4
        hist = w.history(rid)
        assert [h["action"] for h in hist][-5:] == ["approve", "approve", "approve", "approve", "transition"]
        assert hist[-1]["transition"] == "passed"
        assert hist[-5]["comment"] == "ok from fay"
    finally:
        w.db.dispose()


def test_one_rejection_sends_the_record_back_with_its_comment(database_url: str) -> None:
    w, p = _setup(database_url)
    try:
        rid = _submitted(w, p)
        decide(w.records, w.flow, rid, p["fay"], "approve", None)
        with pytest.raises(ValidationFailed) as info:
            decide(w.records, w.flow, rid, p["rita"], "reject", "  ")
        assert "comment" in info.value.field_errors
        out = decide(w.records, w.flow, rid, p["rita"], "reject", "price too high")
        assert out.moved_to == "draft"
        rec = w.records.get(w.flow, rid)
        assert rec.state == "draft" and rec.values["subject"] == "Steel" and rec.assignee_id == p["bea"].id
        last = w.history(rid)[-1]
        assert (last["action"], last["comment"], last["from_state"], last["to_state"]) == (
            "sent_back", "price too high", "check", "draft")
        # the tasks left undecided are cancelled; nobody decides on a record that left the stage
        with w.db.connect() as conn:
            statuses = sorted(conn.execute(select(approval_tasks.c.status)
                                           .where(approval_tasks.c.record_id == rid)).scalars())
        assert statuses == ["approved", "cancelled", "cancelled", "rejected"]
        with pytest.raises(Exception) as refused:
            decide(w.records, w.flow, rid, p["fred"], "approve", None)
        assert refused.value.code == "no_approval"  # type: ignore[attr-defined]
        # submitted again: a new round, everyone decides again
        w.records.transition(w.flow, rid, "submit", p["bea"], expected_version=rec.version)
        assert [t["status"] for t in _view(w, rid)["tasks"]] == ["pending"] * 4
    finally:
        w.db.dispose()


def test_self_approval_strangers_and_double_decisions_are_refused(database_url: str) -> None:
    w, p = _setup(database_url)
    try:
        bea_fin = w.user("bob", "buyer", "finance")
        rec = w.records.create(w.flow, bea_fin, {"subject": "Own", "reviewer": p["rita"].id})
        w.records.transition(w.flow, rec.id, "submit", bea_fin, expected_version=rec.version)
        names = [t["approver_name"] for t in _view(w, rec.id)["tasks"]]
        assert "Bob" not in names  # distinct_from: creator
        with pytest.raises(SelfApproval) as own:
            decide(w.records, w.flow, rec.id, bea_fin, "approve", None)
        assert "your own" in str(own.value)
        with pytest.raises(NotApprover):
            decide(w.records, w.flow, rec.id, p["lee"], "approve", None)
        decide(w.records, w.flow, rec.id, p["fay"], "approve", None)
        with pytest.raises(AlreadyDecided):
            decide(w.records, w.flow, rec.id, p["fay"], "reject", "changed my mind")
        with pytest.raises(ValidationFailed):
            decide(w.records, w.flow, rec.id, p["fred"], "maybe", None)
    finally:
        w.db.dispose()


def test_a_delegate_decides_on_behalf_of_an_approver_and_sees_the_record(database_url: str) -> None:
    w, p = _setup(database_url, "any")
    try:
        rid = _submitted(w, p)
        access = Access(w.db, w.registry, w.records)
        with pytest.raises(NotFound):
            access.get(w.flow, rid, p["lee"])
        now = datetime.now(timezone.utc)
        set_delegation(w.db, "rita", "lee", now - timedelta(hours=1), now + timedelta(days=1))
        assert access.get(w.flow, rid, p["lee"]).id == rid
        assert access.get(w.flow, rid, p["rita"]).id == rid  # an approver sees the record
        mine = _view(w, rid, p["lee"])["my_task"]
        assert mine is not None and mine["approver_name"] == "Rita"
        out = decide(w.records, w.flow, rid, p["lee"], "approve", "for Rita")
        assert out.moved_to == "done"  # any: one approval passes
        step = [h for h in w.history(rid) if h["action"] == "approve"][0]
        assert (step["actor_name"], step["on_behalf_of_name"]) == ("Lee", "Rita")
    finally:
        w.db.dispose()


def test_quorum_with_its_own_reject_threshold(database_url: str) -> None:
    w, p = _setup(database_url, "{quorum: 2, reject: 1}")
    try:
        rid = _submitted(w, p)
        decide(w.records, w.flow, rid, p["fay"], "approve", None)
        assert decide(w.records, w.flow, rid, p["fred"], "approve", None).moved_to == "done"
        rid2 = _submitted(w, p)
        decide(w.records, w.flow, rid2, p["fay"], "approve", None)
        assert decide(w.records, w.flow, rid2, p["max"], "reject", "no budget").moved_to == "draft"
    finally:
        w.db.dispose()


def _race(w: World, rid: int, approvers: list[Any], decision: str = "approve") -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(approvers))

    def go(actor: Any) -> None:
        barrier.wait()
        try:
            decide(w.records, w.flow, rid, actor, decision, "ok" if decision == "approve" else "no")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(a,)) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


# CI runs 3 rounds; RELAYFLOW_APPROVAL_RACE_ROUNDS=200 runs the 200 (a few minutes per database).
@pytest.mark.parametrize("rounds", [int(os.environ.get("RELAYFLOW_APPROVAL_RACE_ROUNDS") or 3)])
def test_twenty_approvers_deciding_at_once_are_counted_once_and_the_stage_moves_once(database_url: str,
                                                                                    rounds: int) -> None:
    w = World(database_url, joint("all").replace("approvers: [role:finance, field:reviewer, manager_of:creator]",
                                                 "approvers: [role:finance]"))
    try:
        bea = w.user("bea", "buyer")
        approvers = [w.user(f"f{i:02d}", "finance") for i in range(20)]
        for _ in range(rounds):
            rec = w.records.create(w.flow, bea, {"subject": "Race"})
            w.records.transition(w.flow, rec.id, "submit", bea, expected_version=rec.version)
            errors = _race(w, rec.id, approvers)
            assert errors == []
            assert w.records.get(w.flow, rec.id).state == "done"
            with w.db.connect() as conn:
                moves = conn.execute(select(func.count()).select_from(history).where(
                    history.c.record_id == rec.id, history.c.action == "transition",
                    history.c.transition == "passed")).scalar()
                decided = conn.execute(select(func.count()).select_from(approval_tasks).where(
                    approval_tasks.c.record_id == rec.id, approval_tasks.c.status == "approved")).scalar()
            assert (moves, decided) == (1, 20)
    finally:
        w.db.dispose()


def test_an_approver_added_before_me_decides_first_and_counts(database_url: str) -> None:
    from engine.records.task_actions import add_approver, hand_over

    w, p = _setup(database_url, "any")
    try:
        w.user("ann")
        rid = _submitted(w, p)
        add_approver(w.records, w.flow, rid, p["rita"], "ann", "before", "ask the engineer first")
        tasks = {t["approver_name"]: t["status"] for t in _view(w, rid)["tasks"]}
        assert tasks["Ann"] == "pending" and tasks["Rita"] == "waiting"
        with pytest.raises(NotApprover):
            decide(w.records, w.flow, rid, p["rita"], "approve", None)  # waits for Ann
        hand_over(w.records, w.flow, rid, p["fay"], "lee", "on leave")
        view = {t["approver_name"]: t for t in _view(w, rid)["tasks"]}
        assert view["Lee"]["responsible_name"] == "Fay"  # the person first responsible is kept
        ann = w.user("ann2")  # noqa: F841 - another user, not an approver
        from engine.people.users import load_actor
        out = decide(w.records, w.flow, rid, load_actor(w.db, username="ann"), "reject", "not like this")
        assert out.moved_to is None  # any: one rejection is not enough
        assert {t["approver_name"]: t["status"] for t in _view(w, rid)["tasks"]}["Rita"] == "pending"
        actions = [h["action"] for h in w.history(rid)]
        assert "add_approver" in actions and "hand_over" in actions
    finally:
        w.db.dispose()
