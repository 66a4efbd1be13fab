"""The aggregate functions of the expression language: sum, count, min and max over a table's rows.

They are the sandbox's only functions besides `range` (engine/language/expressions.py).
A table reaches an expression as a list of rows (dicts of canonical values);
empty values are skipped, `sum` of no rows is 0, `min`/`max` of no values is
empty. Their use is checked when a flow loads (engine/language/tables.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def _rows(rows: Any) -> Sequence[Mapping[str, Any]]:
    if rows is None:
        return ()
    if not isinstance(rows, (list, tuple)):
        raise TypeError("the first argument must be a table")
    return rows


def _column(rows: Any, name: Any) -> list[Any]:
    if not isinstance(name, str):
        raise TypeError("the second argument must be the name of a row field in quotes")
    return [r.get(name) for r in _rows(rows) if r.get(name) is not None]


def agg_sum(rows: Any, name: Any) -> Any:
    total: Any = 0
    for v in _column(rows, name):
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            raise TypeError("sum() adds numbers only")
        total = total + v
    return total


def agg_count(rows: Any) -> int:
    return len(_rows(rows))


def agg_min(rows: Any, name: Any) -> Any:
    values = _column(rows, name)
    return min(values) if values else None


def agg_max(rows: Any, name: Any) -> Any:
    values = _column(rows, name)
    return max(values) if values else None


AGGREGATES: dict[str, Any] = {"sum": agg_sum, "count": agg_count, "min": agg_min, "max": agg_max}
ARITY = {"sum": 2, "count": 1, "min": 2, "max": 2}
