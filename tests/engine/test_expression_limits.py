"""Hostile expressions: a flow file cannot make the server compute huge values, fold them at load time,
or loop in a template; ordinary expressions keep working."""
from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from engine.language.expressions import EvaluationError, ExpressionError, compile_expression, compile_template
from engine.language.loader import load_flow_text

HOSTILE = [
    "'a' * 10**9",
    "10**10000000 > 0",
    "2**(2**40)",
    "'%0999999999d' % 1",
    "'{:>999999999}'.format(1)",
    "'{0:.999999999f}'.format(1.5)",
    "'x'.center(10**9)",
    "'x'.ljust(50)",
    "'x'.expandtabs(100)",
    "(range(100000)|list) * 100000",
    "['a' * 100000] * 100000",
    "(['a' * 50000, 'b' * 50000] * 3)|join",
    "'a'|replace('', 'b' * 100000)",
    "('ab' * 50000)|replace('a', 'xyz' * 1000)",
    "'-'.join(['y' * 100000] * 50)",
    "range(10**9)|length",
    "range(100000)|batch(10**9)|list",
    "(range(100000)|list)|slice(10**9)|list",
    "(['a' * 100000] * 2)|string",
]


def _run_with_guard(fn: Any) -> Any:
    """Run fn in a thread; a hang (the defect) fails the test instead of stalling the suite."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "the expression kept the server busy"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_expression_is_refused_when_evaluated(source: str) -> None:
    expr = _run_with_guard(lambda: compile_expression(source))  # compiling folds nothing
    with pytest.raises(EvaluationError):
        _run_with_guard(lambda: expr.evaluate({}))


def test_a_flow_with_hostile_expressions_loads_without_computing_them() -> None:
    flow_text = """
flow: hostile
roles: {staff: Staff}
fields:
  qty: {type: integer}
  blob: {type: text, compute: "'a' * 10**9"}
record_title: "{{ 'x' * 10**9 }}"
states:
  open: {owner: staff}
  done: {final: true}
transitions:
  finish: {from: open, to: done, by: staff, when: "10**10000000 > 0"}
"""
    flow = _run_with_guard(lambda: load_flow_text(flow_text))
    assert flow.title is not None and flow.title.render({"qty": 1}) == ""  # a title never breaks a page
    with pytest.raises(EvaluationError):
        flow.when["finish"].evaluate({"qty": 1})


@pytest.mark.parametrize("template", [
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{% set x = 1 %}{{ x }}",
    "{% if a %}{% for i in range(3) %}x{% endfor %}{% endif %}",
])
def test_templates_refuse_loops_and_blocks(template: str) -> None:
    with pytest.raises(ExpressionError, match="only"):
        compile_template(template)


def test_unknown_or_dropped_filters_and_globals_do_not_compile_or_run() -> None:
    with pytest.raises(ExpressionError):
        compile_expression("'a'|indent(10**9)")
    with pytest.raises(EvaluationError):
        compile_expression("lipsum(10**6)").evaluate({})


def test_overlong_source_is_refused() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression("1 + " * 1000 + "1")


@pytest.mark.parametrize(("source", "context", "expected"), [
    ("qty * price", {"qty": 3, "price": Decimal("2.50")}, Decimal("7.50")),
    ("'A-' ~ name|upper", {"name": "x"}, "A-X"),
    ("'%.2f' % amount", {"amount": 3.14159}, "3.14"),
    ("'{:,}'.format(amount)", {"amount": 1234567}, "1,234,567"),
    ("2 ** 10", {}, 1024),
    ("'ab' * 3", {}, "ababab"),
    ("[1, 2] * 2", {}, [1, 2, 1, 2]),
    ("name.strip().lower().replace('a', 'b')", {"name": " AaA "}, "bbb"),
    ("(items|join(', '))|length", {"items": ["a", "b"]}, 4),
    ("range(5)|sum", {}, 10),
])
def test_ordinary_expressions_still_work(source: str, context: dict[str, Any], expected: Any) -> None:
    assert compile_expression(source).evaluate(context) == expected


def test_ordinary_title_templates_still_work() -> None:
    tpl = compile_template("{{ customer }}{% if urgent %} · urgent{% else %} · normal{% endif %}")
    assert tpl.render({"customer": "ACME", "urgent": True}) == "ACME · urgent"
