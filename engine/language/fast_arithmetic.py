"""Plain arithmetic and comparisons of numbers without the sandbox's per-step interception.

Most expressions of a flow are `quantity * unit_price`, `sum(lines, 'amount')` or
`total < 100000`: a row's computed amount is evaluated for every line of every write. Jinja2's sandbox
intercepts each operation (for its limits on time and size), which costs
tens of microseconds per evaluation. An expression made only of field names,
number constants, the aggregates over a table's rows (engine/language/aggregates.py),
`+ - * /`, unary minus and one comparison is turned here
into a small closure that computes the same Python operations directly — but
only while every value it meets is a number (int, float or Decimal, never a
bool). Anything else (text, lists, a missing name, an error) is answered
`NOT_FAST`, and the caller evaluates the expression in the sandbox as before,
so results and errors stay exactly those of the sandbox. The closure is
bounded by the expression's size, so no time limit is needed.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from jinja2 import nodes

from engine.language.aggregates import AGGREGATES, ARITY

NOT_FAST: Any = object()  # "evaluate in the sandbox instead"
Fast = Callable[[Mapping[str, Any]], Any]

_NUMBERS = (int, float, Decimal)
_BINARY: dict[type[nodes.BinExpr], Callable[[Any, Any], Any]] = {
    nodes.Add: operator.add, nodes.Sub: operator.sub, nodes.Mul: operator.mul, nodes.Div: operator.truediv,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lteq": operator.le, "gt": operator.gt, "gteq": operator.ge,
}


def _number(value: Any) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool)


def _pair(left: Fast, right: Fast, combine: Callable[[Any, Any], Any]) -> Fast:
    def pair(ctx: Mapping[str, Any]) -> Any:
        a = left(ctx)
        if a is NOT_FAST:
            return NOT_FAST
        b = right(ctx)
        if b is NOT_FAST:
            return NOT_FAST
        return combine(a, b)
    return pair


def _operand(node: nodes.Node) -> Fast | None:
    if isinstance(node, nodes.Name) and node.ctx == "load":
        name = node.name

        def read(ctx: Mapping[str, Any]) -> Any:
            value = ctx.get(name, NOT_FAST)
            return value if _number(value) else NOT_FAST
        return read
    if isinstance(node, nodes.Const) and _number(node.value):
        const = node.value
        return lambda ctx: const
    if isinstance(node, nodes.Neg):
        inner = _operand(node.node)
        if inner is None:
            return None

        def negate(ctx: Mapping[str, Any]) -> Any:
            value = inner(ctx)
            return NOT_FAST if value is NOT_FAST else -value
        return negate
    if isinstance(node, nodes.Call):
        return _aggregate(node)
    op = _BINARY.get(type(node)) if isinstance(node, nodes.BinExpr) else None
    if op is not None and isinstance(node, nodes.BinExpr):
        left, right = _operand(node.left), _operand(node.right)
        if left is None or right is None:
            return None

        return _pair(left, right, op)
    return None


def _aggregate(node: nodes.Call) -> Fast | None:
    """`sum(lines, 'amount')`, `count(lines)`, `min(...)`, `max(...)`: the sandbox's own function called
    directly, its value used only when it is a number."""
    fn = node.node
    if (not isinstance(fn, nodes.Name) or fn.name not in AGGREGATES or node.kwargs or node.dyn_args
            or node.dyn_kwargs or len(node.args) != ARITY[fn.name] or not isinstance(node.args[0], nodes.Name)):
        return None
    name, aggregate, table = fn.name, AGGREGATES[fn.name], node.args[0].name
    if len(node.args) == 1:
        column = None
    elif isinstance(node.args[1], nodes.Const) and isinstance(node.args[1].value, str):
        column = node.args[1].value
    else:
        return None

    def call(ctx: Mapping[str, Any]) -> Any:
        if name in ctx:  # a value of that name would hide the function (a flow's load refuses such a field)
            return NOT_FAST
        rows = ctx.get(table, NOT_FAST)
        if rows is NOT_FAST:
            return NOT_FAST
        value = aggregate(rows) if column is None else aggregate(rows, column)
        return value if _number(value) else NOT_FAST
    return call


def fast_form(expr: nodes.Expr) -> Fast | None:
    """The direct form of `expr` (the expression's node), or None when it has other parts."""
    if isinstance(expr, nodes.Compare) and len(expr.ops) == 1 and expr.ops[0].op in _COMPARE:
        left, right = _operand(expr.expr), _operand(expr.ops[0].expr)
        if left is None or right is None:
            return None
        compare = _COMPARE[expr.ops[0].op]

        return _pair(left, right, compare)
    return _operand(expr)


def run_fast(fast: Fast, context: Mapping[str, Any]) -> Any:
    """The value, or NOT_FAST when the sandbox must answer (also for any error, so that its message and
    kind are the sandbox's own)."""
    try:
        return fast(context)
    except Exception:  # noqa: BLE001 - the sandbox evaluates it again and raises its own error
        return NOT_FAST
