"""`show_if` / `required_if` on every create, edit and transition, on SQLite and PostgreSQL.

A field hidden by its condition is neither required nor written (a value sent for it is ignored and
the stored one stays); `required_if` that holds asks for the field, named by its title, without
showing the expression.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.records.errors import MissingRequired, ValidationFailed
from forms.messages import Message
from tests.conftest import World

QC = (Path(__file__).parent / "conditional_qc.yaml").read_text(encoding="utf-8")
FLOW = "qc_check"


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url, QC)
    yield w
    w.db.dispose()


@pytest.fixture
def qc(world: World) -> Any:
    return world.user("quinn", "qc")


def stored(world: World, record_id: int) -> dict[str, Any]:
    return world.records.get(FLOW, record_id).values


def test_a_transition_with_required_if_true_and_the_field_empty_is_refused_naming_the_field(world: World, qc: Any) -> None:
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "pass"})
    # an edit checks what it sends (as for `required`): the result alone may be saved first
    rec = world.records.edit(FLOW, rec.id, qc, {"qc_result": "fail"}, expected_version=rec.version)
    with pytest.raises(MissingRequired) as info:
        world.records.transition(FLOW, rec.id, "fail_it", qc, expected_version=rec.version)
    assert info.value.fields == ["defect_notes"]  # audit_ref is required too, but nobody may edit it here
    assert "不合格说明" in info.value.message  # the title, in the flow's language
    assert "==" not in info.value.message and "qc_result" not in info.value.message
    assert world.records.get(FLOW, rec.id).state == "inspection"
    # the record page's button says the same before anyone presses it
    options = {o.name: o for o in world.records.available_transitions(world.records.get(FLOW, rec.id), qc)}
    assert not options["fail_it"].allowed and any("不合格说明" in r for r in options["fail_it"].reasons)
    # filled in the same step: it goes through, and the notes are written
    moved = world.records.transition(FLOW, rec.id, "fail_it", qc, expected_version=rec.version,
                                     values={"defect_notes": "scratches on the housing"})
    assert moved.state == "rework" and stored(world, rec.id)["defect_notes"] == "scratches on the housing"


def test_sending_the_field_empty_is_a_field_error_with_its_title_and_no_expression(world: World, qc: Any) -> None:
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "fail", "defect_notes": "dent"})
    for step in ("edit", "transition"):
        with pytest.raises(ValidationFailed) as info:
            if step == "edit":
                world.records.edit(FLOW, rec.id, qc, {"defect_notes": "  "}, expected_version=rec.version)
            else:
                world.records.transition(FLOW, rec.id, "fail_it", qc, expected_version=rec.version,
                                         values={"defect_notes": ""})
        message = info.value.field_errors["defect_notes"]
        assert isinstance(message, Message) and message.code == "required_if"
        assert "不合格说明" in message and "==" not in message and "qc_result" not in message
    assert stored(world, rec.id)["defect_notes"] == "dent"


def test_creating_with_the_condition_true_asks_for_the_field(world: World, qc: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "fail"})
    assert set(info.value.field_errors) == {"defect_notes"}
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "fail", "defect_notes": "dent"})
    assert stored(world, rec.id)["defect_notes"] == "dent"


def test_with_the_condition_false_the_field_is_not_required_and_a_posted_value_is_not_written(
        world: World, qc: Any) -> None:
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "pass", "defect_notes": "should not be kept",
                                          "rework_hours": 4})
    assert stored(world, rec.id)["defect_notes"] is None and stored(world, rec.id)["rework_hours"] is None
    edited = world.records.edit(FLOW, rec.id, qc, {"defect_notes": "nor this", "quantity": 3},
                                expected_version=rec.version)
    assert edited.values["defect_notes"] is None and edited.values["quantity"] == 3
    # a posted value alone for a hidden field changes nothing: no new version, no history entry
    same = world.records.edit(FLOW, rec.id, qc, {"defect_notes": "again"}, expected_version=edited.version)
    assert same.version == edited.version
    moved = world.records.transition(FLOW, rec.id, "pass_it", qc, expected_version=edited.version,
                                     values={"defect_notes": "and not this"})
    assert moved.state == "passed"  # neither required_if nor pass_it's `require: [waiver]` asked for a hidden field
    assert stored(world, rec.id)["defect_notes"] is None
    for entry in world.history(rec.id):
        assert "defect_notes" not in (entry["changes"] or {}) and "rework_hours" not in (entry["changes"] or {})


def test_a_hidden_field_keeps_its_stored_value(world: World, qc: Any) -> None:
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "fail", "defect_notes": "dent",
                                          "rework_hours": 2})
    # passing now hides the notes: sending new notes with it writes nothing, the old notes stay stored
    after = world.records.edit(FLOW, rec.id, qc, {"qc_result": "pass", "defect_notes": "changed", "rework_hours": 9},
                               expected_version=rec.version)
    assert after.values["qc_result"] == "pass"
    assert after.values["defect_notes"] == "dent" and after.values["rework_hours"] == 2
    changes = dict(world.history(rec.id)[-1]["changes"])
    changes.pop("assignee_id", None)  # the edit claimed the queued record (engine/records/claim_on_act.py)
    assert changes == {"qc_result": ["fail", "pass"]}


def test_conditions_see_the_values_after_the_change_in_the_same_step(world: World, qc: Any) -> None:
    rec = world.records.create(FLOW, qc, {"batch": "B-1"})
    # qc_result becomes fail in the same edit that sends the notes and hours: they are shown, so written
    edited = world.records.edit(FLOW, rec.id, qc, {"qc_result": "fail", "defect_notes": "dent", "rework_hours": 1},
                                expected_version=rec.version)
    assert edited.values["defect_notes"] == "dent" and edited.values["rework_hours"] == 1


def test_a_chain_of_conditions_hides_what_hangs_on_a_hidden_field(world: World, qc: Any) -> None:
    # rework_hours is shown while defect_notes is filled; hidden notes count as empty, so the hours hide too
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "fail", "defect_notes": "dent"})
    passed = world.records.edit(FLOW, rec.id, qc, {"qc_result": "pass", "rework_hours": 5}, expected_version=rec.version)
    assert passed.values["defect_notes"] == "dent" and passed.values["rework_hours"] is None


def test_a_required_field_hidden_by_its_condition_is_not_required(world: World, qc: Any) -> None:
    # supervisor_note is `required: true` but shown only above a total of 1000 (a computed field)
    small = world.records.create(FLOW, qc, {"batch": "B-1", "quantity": 2, "unit_cost": "10.00"})
    assert small.values["total"] is not None and small.values["supervisor_note"] is None
    with pytest.raises(ValidationFailed) as info:
        world.records.create(FLOW, qc, {"batch": "B-2", "quantity": 200, "unit_cost": "10.00"})
    assert set(info.value.field_errors) == {"supervisor_note"}
    with pytest.raises(ValidationFailed):  # a larger order by an edit: the note must come with it
        world.records.edit(FLOW, small.id, qc, {"quantity": 500, "supervisor_note": ""}, expected_version=small.version)
    big = world.records.edit(FLOW, small.id, qc, {"quantity": 500, "supervisor_note": "checked"},
                             expected_version=small.version)
    assert big.values["supervisor_note"] == "checked"


def test_a_condition_that_cannot_be_evaluated_hides_its_field(world: World, qc: Any) -> None:
    # total is empty without a quantity: `total > 1000` cannot be evaluated, so the note is hidden
    rec = world.records.create(FLOW, qc, {"batch": "B-1", "supervisor_note": "early"})
    assert rec.values["supervisor_note"] is None


def test_field_errors_of_the_pages_agree_with_the_engine(world: World, qc: Any) -> None:
    from engine.records.transitions import field_errors

    rec = world.records.create(FLOW, qc, {"batch": "B-1", "qc_result": "pass"})
    now = datetime.now(timezone.utc)
    errors = field_errors(world.live.flow, transition=None, row=rec.system, before=rec.values, actor=qc,
                          given={"qc_result": "fail", "defect_notes": None}, comment=None, now=now)
    assert set(errors) == {"defect_notes"}
    errors = field_errors(world.live.flow, transition=None, row=rec.system, before=rec.values, actor=qc,
                          given={"qc_result": "pass", "defect_notes": None}, comment=None, now=now)
    assert errors == {}
