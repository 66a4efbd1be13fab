"""Plain arithmetic computed directly gives exactly what the sandbox gives, errors included."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.language.expressions import EvaluationError, Expression, compile_expression

CASES: list[tuple[str, dict[str, Any]]] = [
    ("quantity * unit_price", {"quantity": 3, "unit_price": Decimal("1200.50")}),
    ("quantity * unit_price", {"quantity": 3, "unit_price": None}),
    ("quantity * unit_price", {"quantity": "3", "unit_price": 2}),
    ("quantity * unit_price", {"quantity": True, "unit_price": 2}),
    ("quantity * unit_price", {"quantity": 3}),
    ("total < 100000", {"total": Decimal("99999.99")}),
    ("total >= 100000", {"total": Decimal("100000.00")}),
    ("total == 0", {"total": Decimal("0.00")}),
    ("total != 0", {"total": 0.0}),
    ("a / b", {"a": Decimal("1"), "b": Decimal("3")}),
    ("a / b", {"a": 1, "b": 0}),
    ("a / b", {"a": Decimal(1), "b": Decimal(0)}),
    ("-a * 2 + 1", {"a": Decimal("2.5")}),
    ("a + b", {"a": Decimal("1.1"), "b": 2.2}),
    ("a - b - c", {"a": 10, "b": 3, "c": 2}),
    ("(a + b) * c", {"a": 1, "b": 2, "c": Decimal("0.5")}),
    ("a + b", {"a": "x" * 10, "b": "y"}),
    ("sum(lines, 'amount')", {"lines": [{"amount": Decimal("1.50")}, {"amount": None}, {"amount": Decimal("2.25")}]}),
    ("sum(lines, 'amount')", {"lines": []}),
    ("sum(lines, 'amount')", {"lines": None}),
    ("sum(lines, 'amount')", {}),
    ("sum(lines, 'amount')", {"lines": [{"amount": "12"}]}),
    ("sum(lines, 'amount')", {"lines": "not rows"}),
    ("sum(lines, 'amount') * 2 < 10", {"lines": [{"amount": 3}, {"amount": Decimal("1.5")}]}),
    ("count(lines) + 1", {"lines": [{"amount": 1}, {}]}),
    ("max(lines, 'amount') - min(lines, 'amount')", {"lines": [{"amount": 4}, {"amount": Decimal("1.5")}]}),
    ("max(lines, 'amount')", {"lines": []}),
    ("sum(lines, 'amount')", {"lines": [{"amount": 1}], "sum": Decimal(5)}),
    ("min(lines, 'day')", {"lines": [{"day": "2026-01-02"}, {"day": "2026-01-01"}]}),
]


def _sandbox(expr: Expression, context: dict[str, Any]) -> Any:
    return Expression(expr.source, expr.names, expr._fn).evaluate(context)  # the same, without the direct form


@pytest.mark.parametrize(("source", "context"), CASES)
def test_direct_form_answers_like_the_sandbox(source: str, context: dict[str, Any]) -> None:
    expr = compile_expression(source)
    assert expr._fast is not None  # these are all plain arithmetic: the direct form is used
    try:
        expected: Any = _sandbox(expr, context)
    except EvaluationError as exc:
        with pytest.raises(EvaluationError) as got:
            expr.evaluate(context)
        assert str(got.value) == str(exc)
        return
    value = expr.evaluate(context)
    assert value == expected and type(value) is type(expected)
    if isinstance(value, Decimal):
        assert value.as_tuple() == expected.as_tuple()  # same digits and exponent, not only equal


@pytest.mark.parametrize("source", ["a > b and c", "a if b else c", "sum(lines, name)", "sum(rows(), 'a')", "a < b < c", "a ** 2",
                                    "name ~ 'x'", "a // 2", "a % 2"])
def test_other_expressions_stay_in_the_sandbox(source: str) -> None:
    assert compile_expression(source)._fast is None
