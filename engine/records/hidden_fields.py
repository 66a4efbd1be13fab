"""A field hidden in a state is hidden from lists too: filters, sorts and searches see it as empty there.

`hide:` of a state keeps a field's value off the record page and out of the API answer. A list
must not give it away either: if `?salary.gte=5000` counted, or `?sort=salary` ordered, or `?q=`
matched records in a state that hides `salary`, the result count or order would tell the value.
So for a list, a hidden value counts as empty, per record state:

* a filter on the field matches only records in states that show it;
* a sort by the field puts records in states that hide it with the empty values (last, by id),
  and a page's cursor never carries their value;
* a text search looks in the field only for records in states that show it.

The extra condition is on the `state` column (a short NOT IN list), added only when some state
hides the field, so the field's index still serves the filter and the order.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, Table

from engine.language.flow import CompiledFlow


def states_hiding(flow: CompiledFlow, name: str) -> tuple[str, ...]:
    """The states whose `hide:` names field `name`, in file order."""
    return tuple(s for s in flow.spec.states if name in flow.hidden_fields(s))


def hidden_by_field(flow: CompiledFlow, names: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """For each of `names` that some state hides: those states."""
    return {n: hiding for n in names if (hiding := states_hiding(flow, n))}


def shown_condition(table: Table, flow: CompiledFlow, name: str) -> ColumnElement[bool] | None:
    """Records whose state shows field `name`; None when no state hides it (no condition needed)."""
    hiding = states_hiding(flow, name)
    return table.c.state.not_in(hiding) if hiding else None


def hidden_condition(table: Table, flow: CompiledFlow, name: str) -> ColumnElement[bool] | None:
    """Records whose state hides field `name`; None when no state does."""
    hiding = states_hiding(flow, name)
    return table.c.state.in_(hiding) if hiding else None
