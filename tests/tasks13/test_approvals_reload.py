"""Open approval rounds in a reload (SQLite and PostgreSQL): the plan says what happens to the pending
decisions of a state whose approval changes, and apply does it — kept, counted under the new rule, cancelled,
renamed with the state, or opened for the records already in a state that gains an approval."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine.evolve import Plan, apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.people.departments import add_department, add_member
from engine.records.approvals import decide
from engine.storage.schema import approval_tasks
from tests.approvals.flows import joint
from tests.conftest import World

BASE = joint("all")


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[World, dict[str, Any]]]:
    w = World(database_url, BASE)
    people = {"bea": w.user("bea", "buyer"), "fay": w.user("fay", "finance"), "fred": w.user("fred", "finance"),
              "rita": w.user("rita", "production"), "max": w.user("max", "manager")}
    add_department(w.db, "sales", "Sales", manager="max")
    add_member(w.db, "sales", "bea")
    yield w, people
    w.db.dispose()


def _submitted(w: World, p: dict[str, Any]) -> int:
    rec = w.records.create(w.flow, p["bea"], {"subject": "Steel", "reviewer": p["rita"].id})
    w.records.transition(w.flow, rec.id, "submit", p["bea"], expected_version=rec.version)
    return int(rec.id)


def _tasks(w: World, rid: int) -> list[tuple[str, int, str]]:
    a = approval_tasks
    with w.db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(a.c.state, a.c.approver_id, a.c.status)
                                                .where(a.c.record_id == rid).order_by(a.c.seq, a.c.id))]


def _plan(w: World, text: str) -> Plan:
    return plan_flow(w.db, load_flow_text(text))


def _apply(w: World, text: str, plan: Plan) -> None:
    apply_flow(w.db, load_flow_text(text), expected=plan)
    w.registry.refresh(w.db)


def _change(plan: Plan, kind: str) -> Any:
    found = [c for c in plan.changes if c.kind == kind]
    assert found, [(c.kind, c.text) for c in plan.changes]
    return found[0]


def test_a_new_rule_counts_open_rounds_from_their_next_decision(world) -> None:  # type: ignore[no-untyped-def]
    w, p = world
    rid = _submitted(w, p)
    decide(w.records, w.flow, rid, p["fay"], "approve", None)
    other = _submitted(w, p)
    any_one = joint("any")
    plan = _plan(w, any_one)
    c = _change(plan, "approval_changed")
    assert c.effect == "data" and c.count == 2
    assert "the 2 open approval rounds are counted under the new rule from their next decision" in c.text
    assert "1 round the new rule would already decide" in c.text
    _apply(w, any_one, plan)
    assert w.records.get(w.flow, rid).state == "check"  # nothing moved by the apply itself
    out = decide(w.records, w.flow, rid, p["fred"], "approve", None)
    assert out.moved_to == "done"
    assert decide(w.records, w.flow, other, p["rita"], "approve", None).moved_to == "done"  # one approval passes now


def test_new_approvers_leave_open_rounds_as_they_were(world) -> None:  # type: ignore[no-untyped-def]
    w, p = world
    rid = _submitted(w, p)
    before = _tasks(w, rid)
    fewer = BASE.replace("approvers: [role:finance, field:reviewer, manager_of:creator]", "approvers: [role:finance]")
    plan = _plan(w, fewer)
    c = _change(plan, "approval_changed")
    assert c.effect == "safe" and "keep their approvers and the decisions made" in c.text
    _apply(w, fewer, plan)
    assert _tasks(w, rid) == before  # Rita and Max are still asked in this round
    fresh = _submitted(w, p)
    assert {uid for _, uid, _ in _tasks(w, fresh)} == {p["fay"].id, p["fred"].id}


def test_a_state_that_loses_its_approval_cancels_the_open_rounds(world) -> None:  # type: ignore[no-untyped-def]
    w, p = world
    rid = _submitted(w, p)
    decide(w.records, w.flow, rid, p["fay"], "approve", "ok")
    plain = BASE.replace("""    approval:
      approvers: [role:finance, field:reviewer, manager_of:creator]
      mode: all
      on_reject: send_back
      distinct_from: [creator]
""", "    owner: finance\n").replace("passed: {from: check, to: done, on: approval_passed}",
                                    "passed: {from: check, to: done, by: finance}")
    plan = _plan(w, plain)
    c = _change(plan, "approval_removed")
    assert c.effect == "data" and "its 1 open approval round are cancelled (3 undecided tasks end undecided" in c.text
    _apply(w, plain, plan)
    assert sorted(s for _, _, s in _tasks(w, rid)) == ["approved", "cancelled", "cancelled", "cancelled"]
    assert w.records.get(w.flow, rid).state == "check"
    w.records.transition(w.flow, rid, "passed", p["fred"], expected_version=None)  # its owner moves it on


def test_a_removed_state_cancels_and_a_renamed_one_keeps_its_rounds(world) -> None:  # type: ignore[no-untyped-def]
    w, p = world
    rid = _submitted(w, p)
    decide(w.records, w.flow, rid, p["fay"], "approve", None)
    renamed = (BASE.replace("  check:\n", "  vetting:\n").replace("  done:\n", "  check: {moved_to: vetting}\n  done:\n")
               .replace("from: check", "from: vetting").replace("to: check", "to: vetting"))
    plan = _plan(w, renamed)
    assert not [c for c in plan.changes if c.kind.startswith("approval")]  # same approval, same rounds
    _apply(w, renamed, plan)
    assert {s for s, _, _ in _tasks(w, rid)} == {"vetting"}
    assert decide(w.records, w.flow, rid, p["fred"], "approve", None).tally["approved"] == 2  # the round goes on
    removed = (renamed.replace("  check: {moved_to: vetting}\n", "").replace("  vetting:\n", "  check:\n")
               .replace("from: vetting", "from: check").replace("to: vetting", "to: check"))
    removed = removed.replace("  done:\n", "  vetting: {moved_to: draft}\n  done:\n", 1)
    plan = _plan(w, removed)
    c = _change(plan, "approval_rounds_cancelled")
    assert "its 1 open approval round are cancelled (2 undecided tasks end undecided" in c.text and "'draft'" in c.text
    _apply(w, removed, plan)
    assert w.records.get(w.flow, rid).state == "draft"
    assert sorted(s for _, _, s in _tasks(w, rid)) == ["approved", "approved", "cancelled", "cancelled"]


def test_a_state_that_gains_an_approval_opens_rounds_for_the_records_in_it(database_url: str) -> None:
    plain = BASE.replace("""    approval:
      approvers: [role:finance, field:reviewer, manager_of:creator]
      mode: all
      on_reject: send_back
      distinct_from: [creator]
""", "    owner: finance\n").replace("passed: {from: check, to: done, on: approval_passed}",
                                    "passed: {from: check, to: done, by: finance}")
    w = World(database_url, plain)
    try:
        p = {"bea": w.user("bea", "buyer"), "fay": w.user("fay", "finance"), "rita": w.user("rita", "production")}
        rid = _submitted(w, p)
        assert _tasks(w, rid) == []
        plan = _plan(w, BASE)
        c = _change(plan, "approval_added")
        assert c.effect == "data" and "the 1 record already in it get a round starting now" in c.text
        _apply(w, BASE, plan)
        assert sorted((uid, s) for _, uid, s in _tasks(w, rid)) == sorted([(p["fay"].id, "pending"), (p["rita"].id, "pending")])
        decide(w.records, w.flow, rid, p["fay"], "approve", None)
        assert decide(w.records, w.flow, rid, p["rita"], "approve", None).moved_to == "done"
    finally:
        w.db.dispose()
