"""States on reload: a removed state's records go where the file says, and their history says why."""
from __future__ import annotations

import pytest

from engine.evolve import PlanRefused
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from tests.evolve.helpers import BASE, Evolving, change, edit

WITHOUT_LEGAL = (
    ("  legal: {owner: manager}\n", ""),
    ("  to_legal: {from: review, to: legal, by: manager}\n", ""),
    ("approve: {from: [review, legal], to: done, by: manager}", "approve: {from: review, to: done, by: manager}"),
)


def test_removing_a_state_that_holds_records_needs_a_mapping(world: Evolving) -> None:
    held = [world.create({"customer": f"c{i}"}, "submit", "to_legal") for i in range(2)]
    removed = edit(BASE, *WITHOUT_LEGAL)
    plan = world.plan(removed)
    problem = change(plan, "state_removed_unmapped", "legal")
    assert plan.refused and problem.count == 2
    assert "2 records are still in it" in problem.text and "`legal: {moved_to: <state>}`" in problem.text
    with pytest.raises(PlanRefused):
        world.apply(removed)
    assert {world.get(r.id).state for r in held} == {"legal"} and world.live_revision() == 1


def test_with_a_mapping_the_records_move_and_their_history_says_why(world: Evolving) -> None:
    moved = world.create({"customer": "ACME"}, "submit", "to_legal")
    untouched = world.create({"customer": "Globex"}, "submit")
    mapped = edit(BASE, *WITHOUT_LEGAL[1:], ("  legal: {owner: manager}", "  legal: {moved_to: review}"))
    plan = world.plan(mapped)
    c = change(plan, "state_removed_moved", "legal")
    assert c.count == 1 and "move to 'review'" in c.text and c.effect == "data"
    world.apply(mapped, plan)
    rec = world.get(moved.id)
    assert rec.state == "review" and rec.version == moved.version + 1 and rec.system["revision"] == 2
    assert rec.system["sla_state"] == "review" and rec.system["sla_due_at"] is not None  # entered review: a clock
    last = world.records.history(world.name, moved.id)[-1]
    assert (last["action"], last["from_state"], last["to_state"], last["revision"]) == ("migrate", "legal", "review", 2)
    assert "was removed in revision 2" in last["comment"] and "moved_to" in last["comment"]
    assert world.get(untouched.id).version == untouched.version
    assert world.plan(mapped).unchanged  # the mapping may stay in the file


def test_a_renamed_state_keeps_its_records_assignee_and_clock(world: Evolving) -> None:
    rec = world.create({"customer": "ACME"}, "submit")
    renamed = edit(
        BASE,
        ("  review: {owner: manager, sla: {due: 4h, clock: elapsed}}",
         "  checking: {owner: manager, sla: {due: 4h, clock: elapsed}}\n  review: {moved_to: checking}"),
        ("submit: {from: draft, to: review", "submit: {from: draft, to: checking"),
        ("to_legal: {from: review", "to_legal: {from: checking"),
        ("approve: {from: [review, legal]", "approve: {from: [checking, legal]"))
    plan = world.plan(renamed)
    assert change(plan, "state_renamed", "review").count == 1
    assert "state_added" not in [c.kind for c in plan.changes]
    world.apply(renamed, plan)
    after = world.get(rec.id)
    assert after.state == "checking" and after.system["sla_state"] == "checking"
    assert after.system["sla_due_at"] == rec.system["sla_due_at"]
    assert "was renamed to" in world.records.history(world.name, rec.id)[-1]["comment"]
    world.records.transition(world.name, rec.id, "approve", world.actor, expected_version=after.version)


def test_removing_an_empty_state_is_safe(world: Evolving) -> None:
    world.create({"customer": "ACME"}, "submit")
    plan = world.plan(edit(BASE, *WITHOUT_LEGAL))
    assert plan.safe and change(plan, "state_removed", "legal").effect == "safe"


def test_the_mapping_is_checked_when_the_file_is_read() -> None:
    def problems(text: str) -> str:
        with pytest.raises(FlowLoadError) as exc:
            load_flow_text(text)
        return str(exc.value)

    unknown = edit(BASE, *WITHOUT_LEGAL[1:], ("  legal: {owner: manager}", "  legal: {moved_to: reveiw}"))
    assert "<flow>:12:21: state 'legal' is removed and moves its records to unknown state 'reveiw' — did you mean 'review'?" \
        in problems(unknown)
    mixed = edit(BASE, ("  legal: {owner: manager}", "  legal: {owner: manager, moved_to: review}"))
    assert "moved_to marks a removed state and stands alone" in problems(mixed)
    circle = edit(BASE, *WITHOUT_LEGAL[1:], ("  legal: {owner: manager}", "  legal: {moved_to: old}\n  old: {moved_to: legal}"))
    assert "removed states move to each other in a circle: legal → old → legal" in problems(circle)
    chain = edit(BASE, *WITHOUT_LEGAL[1:], ("  legal: {owner: manager}", "  legal: {moved_to: old}\n  old: {moved_to: done}"))
    assert load_flow_text(chain).spec.moved_states == {"legal": "old", "old": "done"}
