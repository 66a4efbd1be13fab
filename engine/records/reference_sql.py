"""A reference's `filter` (engine/language/reference_rules.py) as a SQL condition on the target flow's table.

The picker's search, the check of a picked record and the list of what may be picked all use
this one condition, so what the picker offers is exactly what a save accepts.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from engine.language.reference_rules import Compare, FilterNode, Junction, Negation
from engine.storage.registry import LiveFlow
from forms import FieldValueError


def _db_value(live: LiveFlow, name: str, value: Any) -> Any:
    """A constant of the filter as the column stores it (a date written as text, a decimal, ...)."""
    f = live.flow.fields.get(name)
    if f is None or value is None:
        return value
    try:
        coerced = f.coerce(value, tz=live.flow.timezone)
    except FieldValueError:
        return value
    return None if coerced is None else f.to_db(coerced)


def filter_clause(live: LiveFlow, node: FilterNode) -> ColumnElement[bool]:
    """The SQL condition of a parsed filter over `live`'s table (names were checked when the flows loaded)."""
    if isinstance(node, Junction):
        parts = [filter_clause(live, p) for p in node.parts]
        return and_(*parts) if node.op == "and" else or_(*parts)
    if isinstance(node, Negation):
        return not_(filter_clause(live, node.part))
    return _compare(live, node)


def _compare(live: LiveFlow, c: Compare) -> ColumnElement[bool]:
    col = live.table.c[c.name]
    if c.op == "isnone":
        return col.is_(None)
    if c.op == "notnone":
        return col.is_not(None)
    if c.op in ("in", "notin"):
        values = [_db_value(live, c.name, v) for v in c.value]
        return col.in_(values) if c.op == "in" else or_(col.is_(None), col.not_in(values))
    value = _db_value(live, c.name, c.value)
    if c.op == "ne":  # as the expression would say: an empty value differs from any constant
        return or_(col.is_(None), col != value)
    ops: dict[str, Any] = {"eq": col.__eq__, "lt": col.__lt__, "le": col.__le__, "gt": col.__gt__, "ge": col.__ge__}
    clause: ColumnElement[bool] = ops[c.op](value)
    return clause
