"""Effects checked when the files load: each mistake located in the file that holds it."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.language.flow_set import load_flow_folder
from tests.effects.conftest import copy_flows


def _problems(tmp: Path, *edits: tuple[str, str, str]) -> list[str]:
    folder = copy_flows(tmp)
    for name, old, new in edits:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new), encoding="utf-8")
    found = load_flow_folder(folder)
    return [str(p) for e in found.bad for p in e.problems]


def test_the_shipped_flows_load(tmp_path: Path) -> None:
    assert _problems(tmp_path) == []


SHIP = "sales_order.yaml"


OWED = "flow 'collection_task' has no field 'amount_owed' — did you mean 'amount_due'?"
NOT_A_DATE = "the value for 'due_on' of flow 'collection_task' is a number, but it holds a date"
DAYZ = "the value for 'due_on' uses unknown field 'dayz' — did you mean 'days'?"
NOT_A_TIME = "the value for 'shipped_at' is a number, but 'shipped_at' holds a date and time"
LAST = "flow 'customer' has no field 'last_order' — did you mean 'last_order_no'?"


@pytest.mark.parametrize(("old", "new", "expected", "line"), [
    ("flow: collection_task", "flow: collection_tsk", "create: unknown flow 'collection_tsk' — did you mean 'collection_task'?", 32),
    ("amount_due: \"total\"", "amount_owed: \"total\"", OWED, 33),
    ("amount_due: \"total\", ", "", "flow 'collection_task' requires 'amount_due': give a value for each", 33),
    ("due_on: \"today + days(30)\"", "due_on: \"total\"", NOT_A_DATE, 33),
    ("due_on: \"today + days(30)\"", "due_on: \"today + dayz(30)\"", DAYZ, 33),
    ("due_on: \"today + days(30)\"", "due_on: \"today + \"", "expression does not compile", 33),
    ('set: {shipped_at: "now"}', 'set: {shipped_on: "now"}', "set: unknown field 'shipped_on'", 30),
    ('set: {shipped_at: "now"}', 'set: {shipped_at: "total"}', NOT_A_TIME, 30),
    ("reference: customer", "reference: carrier", "update: 'carrier' is not a reference field", 35),
    ("last_order_no: \"order_no\"", "last_order: \"order_no\"", LAST, 36),
])
def test_a_mistake_in_an_effect_is_refused_where_it_is(tmp_path: Path, old: str, new: str, expected: str, line: int) -> None:
    found = _problems(tmp_path, (SHIP, old, new))
    mine = [p for p in found if expected in p]
    assert mine, found
    assert mine[0].split(":")[1] == str(line), mine[0]
    assert mine[0].split(":")[0].endswith(SHIP)


def test_flows_that_create_each_other_are_refused(tmp_path: Path) -> None:
    loop = ("collection_task.yaml", "    require: [received, bank_slip]",
            "    require: [received, bank_slip]\n    create: {flow: sales_order, values: {order_no: \"'SO-999999'\"}}")
    found = _problems(tmp_path, loop)
    text = "\n".join(found)
    assert "flows create records in each other in a loop: sales_order → collection_task → sales_order" in text
    assert "flows create records in each other in a loop: collection_task → sales_order → collection_task" in text


def test_a_flow_that_creates_its_own_kind_is_a_loop_too(tmp_path: Path) -> None:
    found = _problems(tmp_path, (SHIP, "flow: collection_task\n", "flow: sales_order\n"),
                      (SHIP, 'values: {order: "id", amount_due: "total", due_on: "today + days(30)"}', "values: {order_no: \"'SO-1'\"}"))
    assert any("loop: sales_order → sales_order" in p for p in found), found
