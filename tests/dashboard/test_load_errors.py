"""Bad `dashboards:` keys are refused when the flow loads, each problem located at its line and column."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError

BASE = (Path(__file__).parent / "flows" / "purchase.yaml").read_text(encoding="utf-8").split("dashboards:")[0]


def _problems(board: str) -> list[str]:
    text = BASE + "dashboards:\n" + board
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(text, "purchase.yaml")
    return str(info.value).splitlines()


def _line_of(board: str, needle: str) -> int:
    lines = (BASE + "dashboards:\n" + board).splitlines()
    return next(i + 1 for i, line in enumerate(lines) if needle in line)


def test_unknown_widget_is_located() -> None:
    board = "  - title: Board\n    widgets:\n      - {count_by: state}\n      - {pie: state}\n"
    problems = _problems(board)
    assert problems == [f"purchase.yaml:{_line_of(board, 'pie')}:10: unknown key 'pie' in dashboards.0.widgets.1"]


def test_unknown_field_sum_of_text_and_unknown_role_are_located() -> None:
    board = ("  - title: Board\n    for: [role:bos, someone]\n    widgets:\n"
             "      - {sum: amout, by: month}\n      - {sum: item}\n      - {late: list}\n")
    problems = _problems(board)
    for_line = _line_of(board, "role:bos")
    assert f"purchase.yaml:{for_line}:11: unknown role 'bos' — did you mean 'boss'?" in problems
    assert f"purchase.yaml:{for_line}:21: unknown audience 'someone': a dashboard is for role:<role> entries" in problems
    assert f"purchase.yaml:{_line_of(board, 'amout')}:15: unknown field 'amout' — did you mean 'amount'?" in problems
    assert (f"purchase.yaml:{_line_of(board, 'sum: item')}:15: field 'item' is a text field; "
            "a sum needs a money or number field") in problems
    assert len(problems) == 4


def test_a_widget_with_two_kinds_or_a_misplaced_by_is_refused() -> None:
    board = "  - widgets:\n      - {count_by: state, late: list}\n      - {late: list, by: week}\n      - {wip_by_age: [1d, 3x]}\n"
    problems = "\n".join(_problems(board))
    assert "dashboards.0.widgets.0: a widget needs exactly one of" in problems and "(this one has count_by, late)" in problems
    assert "dashboards.0.widgets.1: 'by' only applies to sum and count widgets, not late" in problems
    assert "unknown unit 'x' in duration '3x'" in problems
    assert f"purchase.yaml:{_line_of(board, 'count_by')}:" in problems


def test_a_value_a_widget_does_not_take_is_refused() -> None:
    problems = "\n".join(_problems("  - widgets:\n      - {on_time_rate: by_team}\n"))
    assert "dashboards.0.widgets.0.on_time_rate" in problems and "by_stage" in problems and "by_person" in problems
