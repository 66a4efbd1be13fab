"""`show_if` / `required_if` that could never work are refused when the flow loads, located in the file."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError

QC = (Path(__file__).parent / "conditional_qc.yaml").read_text(encoding="utf-8")
SHOW = "show_if: \"qc_result == 'fail'\""
LINE = next(i for i, line in enumerate(QC.splitlines(), 1) if SHOW in line)  # defect_notes' show_if


def problems(text: str) -> list[str]:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(text, source="flows/qc.yaml")
    return [str(p) for p in info.value.problems]


def one(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def column_of(expression: str, inner: int) -> int:
    """1-based column of the character `inner` characters into `expression` on defect_notes' show_if line."""
    line = QC.splitlines()[LINE - 1].replace(SHOW, f'show_if: "{expression}"')
    return line.index('"') + 1 + inner + 1


def with_show_if(expression: str) -> str:
    return QC.replace(SHOW, f'show_if: "{expression}"', 1)


def test_the_conditions_compile_when_the_flow_loads() -> None:
    flow = load_flow_text(QC)
    assert set(flow.conditions.show_if) == {"defect_notes", "rework_hours", "supervisor_note", "waiver"}
    assert set(flow.conditions.required_if) == {"defect_notes", "audit_ref"}
    order = flow.conditions.show_order
    assert order.index("defect_notes") < order.index("rework_hours")  # rework_hours reads defect_notes


def test_an_unknown_field_is_located_at_its_name_with_a_hint() -> None:
    msg = one(with_show_if("qc_reslt == 'fail'"))
    assert msg.startswith(f"flows/qc.yaml:{LINE}:{column_of('qc_reslt', 0)}: show_if of field 'defect_notes' "
                          "uses unknown field 'qc_reslt'"), msg
    assert "did you mean 'qc_result'" in msg


def test_a_syntax_error_is_located_at_the_mistake() -> None:
    expression = "qc_result == = 'fail'"
    msg = one(with_show_if(expression))
    assert msg.startswith(f"flows/qc.yaml:{LINE}:{column_of(expression, expression.index('= ') + 2)}:"), msg
    assert "does not compile" in msg


def test_a_type_mismatch_is_refused() -> None:
    msg = one(with_show_if("qc_result > 3"))
    assert msg.startswith(f"flows/qc.yaml:{LINE}:")
    assert "compares the field 'qc_result' (a text) with a number (3): they can never be compared" in msg


def test_a_condition_reading_its_own_field_is_refused() -> None:
    msg = one(with_show_if("defect_notes == 'x'"))
    assert msg.startswith(f"flows/qc.yaml:{LINE}:{column_of('defect_notes', 0)}:"), msg
    assert "reads the field itself" in msg
    required = one(QC.replace("required_if: \"qc_result == 'fail'\"\n", "required_if: \"defect_notes == none\"\n", 1))
    assert f"flows/qc.yaml:{LINE + 1}:" in required and "required_if of field 'defect_notes' reads the field itself" in required


def test_show_if_conditions_in_a_cycle_are_refused() -> None:
    msg = one(with_show_if("rework_hours > 3"))  # rework_hours is shown by defect_notes, and now the other way round
    assert msg.startswith(f"flows/qc.yaml:{LINE}:")
    assert "shown depending on each other in a cycle: defect_notes → rework_hours → defect_notes" in msg


def test_required_if_on_a_computed_or_always_required_field_is_refused() -> None:
    computed = one(QC.replace('compute: "quantity * unit_cost"', 'compute: "quantity * unit_cost", required_if: "quantity > 1"'))
    assert "field 'total' is computed; it cannot be required" in computed
    always = one(QC.replace("batch: {type: text, required: true,", "batch: {type: text, required: true, required_if: \"quantity > 1\","))
    assert "field 'batch' is always required" in always


def test_every_problem_is_reported_at_once() -> None:
    text = with_show_if("qc_reslt == 'fail'").replace('show_if: "total > 1000"', 'show_if: "total > \'lots\'"')
    found = problems(text)
    assert len(found) == 2, found
    assert "unknown field 'qc_reslt'" in found[0] and "compares the field 'total' (a number) with a text" in found[1]


def test_changing_a_condition_is_not_a_change_of_the_stored_values() -> None:
    from engine.evolve.column_types import value_rules

    old = load_flow_text(QC).fields["defect_notes"]
    new = load_flow_text(with_show_if("qc_result != 'pass'")).fields["defect_notes"]
    assert value_rules(old) == value_rules(new)
