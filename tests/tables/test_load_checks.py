"""Load-time checks of tables, row computations and aggregates: located, plain, all at once."""
from __future__ import annotations

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from tests.tables.flows import ORDER


def _problems(text: str) -> list[str]:
    with pytest.raises(FlowLoadError) as exc:
        load_flow_text(text)
    return [str(p) for p in exc.value.problems]


def test_the_order_flow_loads_with_its_table() -> None:
    flow = load_flow_text(ORDER)
    assert list(flow.tables) == ["lines"] and "lines" not in flow.stored_fields
    assert flow.tables["lines"].order == ("amount",)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("sum(lines, 'amount')", "sum(lins, 'amount')", "unknown table 'lins' — did you mean 'lines'?"),
    ("sum(lines, 'amount')", "sum(lines, 'amout')", "unknown row field 'amout' — did you mean 'amount'?"),
    ("sum(lines, 'amount')", "sum(lines, 'product')", "sum() adds numbers, but the row field 'Product' is not a number"),
    ("sum(lines, 'amount')", "sum(lines)", "sum() takes a table and a row field in quotes"),
    ("count(lines)", "count(lines, 'amount')", "count() takes the table only"),
    ("count(lines)", "lines + 1", "the table 'lines' can be used only through count(lines)"),
    ("quantity * unit_price", "quantity * price", "uses unknown row field 'price' — did you mean 'unit_price'?"),
    ("quantity * unit_price", "quantity * total", "uses unknown row field 'total'"),
    ("quantity * unit_price", "quantity + product", "cannot compute the field 'Quantity' (a number) + the field 'Product'"),
])
def test_wrong_uses_are_refused_at_the_expression(old: str, new: str, expected: str) -> None:
    text = ORDER.replace(old, new)
    problems = _problems(text)
    assert any(expected in p for p in problems), problems
    line = text.splitlines().index(next(li for li in text.splitlines() if new in li)) + 1
    assert any(p.startswith(f"<flow>:{line}:") for p in problems if expected in p), problems


@pytest.mark.parametrize(("row_field", "expected"), [
    ("sub: {type: table, fields: {a: {type: text}}}", "a row of 'Order lines' cannot hold a table"),
    ("code: {type: text, unique: true}", "row field 'code' cannot be unique"),
    ("Code: {type: text}", "row field id 'Code' must be snake_case"),
])
def test_row_fields_a_row_cannot_hold_are_refused_where_they_are(row_field: str, expected: str) -> None:
    text = ORDER.replace("      amount:", f"      {row_field}\n      amount:")
    problems = _problems(text)
    line = next(i for i, li in enumerate(text.splitlines(), 1) if row_field in li)
    assert any(expected in p and p.startswith(f"<flow>:{line}:") for p in problems), problems


def test_table_options_that_contradict_each_other_are_refused() -> None:
    problems = _problems(ORDER.replace("min_rows: 1", "min_rows: 9"))
    assert any("min_rows (9) must not be greater than max_rows (5)" in p for p in problems), problems
    problems = _problems(ORDER.replace("    min_rows: 1\n", "    min_rows: 1\n    unique: true\n"))
    assert any("a table field cannot have `unique`" in p for p in problems), problems


def test_the_language_schema_describes_tables() -> None:
    from engine.language.language_schema import flow_language_schema

    text = str(flow_language_schema())
    assert "min_rows" in text and "max_rows" in text
