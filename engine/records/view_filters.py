"""Filters of a data-table view: one per field, with the operators its type supports.

A filter is plain data (`ViewFilter(field, op, value)`) that a saved view stores as JSON and the API
takes as JSON; `filter_condition` turns it into a SQL condition on the flow's table, the value
parsed by the field type (`filter_value`) and bound as a parameter, never as text.

Operators by kind of field (`ops_for`):

* text (text, e-mail, phone, web address): `contains`, `equals`, `starts`; long text: `contains`
* number, money, date, date-time: `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `between` (value: [low, high])
* choice: `in` (value: a list of choice keys)
* user, reference: `is` (one id), `in` (a list of ids)
* boolean: `is` (true / false)
* every kind: `empty`, `not_empty` (no value)

Besides the fields: `@state` (`in`), `@assignee` (`is` / `in` / `empty` / `not_empty`) and `@late` (`is`).

A field hidden in a record's state counts as empty there (engine/records/hidden_fields.py): it
matches `empty`, and no other operator. Whether the database can serve a filter from an index is
told by `uses_index`: the flow's `index: true` / `unique: true` fields with an equality or range
operator (and `empty`), the state, the assignee and the due instant; `contains` on a searchable
indexed field goes through the search index. The others make the database read every record the
indexed part of the view leaves, which the view guards with a size limit (engine/records/data_view.py).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, and_, func, literal, or_

from engine.language.flow import CompiledFlow
from engine.records.errors import ValidationFailed
from engine.records.hidden_fields import hidden_condition, shown_condition, states_hiding
from engine.storage.registry import LiveFlow
from engine.storage.search_index import contains_condition, search_fields
from forms import FieldSpecBase, FieldValueError
from forms.messages import Message
from forms.unicode_text import nfc

TEXT_TYPES = frozenset({"text", "email", "phone", "url"})
ORDERED_TYPES = frozenset({"integer", "decimal", "money", "date", "datetime"})
SUMMABLE_TYPES = frozenset({"integer", "decimal", "money"})
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "between")
NO_VALUE_OPS = ("empty", "not_empty")
SYSTEM_FILTERS = ("@state", "@assignee", "@late")
MAX_TEXT = 200
T = TypeVar("T")
MAX_LIST = 100

# What a person reads for each operator (the filter row's select, the API's description).
OP_WORDS: dict[str, str] = {
    "contains": "contains", "equals": "is", "starts": "starts with",
    "eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "between": "between",
    "in": "is one of", "is": "is", "empty": "is empty", "not_empty": "is not empty",
}


@dataclass(frozen=True)
class ViewFilter:
    """One filter of a view: a field id (or `state`, `assignee`, `late`), an operator and its value."""

    field: str
    op: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


def ops_for(field: FieldSpecBase) -> tuple[str, ...]:
    """The operators a field's type supports (empty: the field cannot be filtered)."""
    kind = field.type
    if kind in TEXT_TYPES:
        return ("contains", "equals", "starts", *NO_VALUE_OPS)
    if kind == "longtext":
        return ("contains", *NO_VALUE_OPS)
    if kind in ORDERED_TYPES:
        return (*COMPARE_OPS, *NO_VALUE_OPS)
    if kind == "choice":
        return ("in", *NO_VALUE_OPS)
    if kind in ("user", "reference"):
        return ("is", "in", *NO_VALUE_OPS)
    if kind == "boolean":
        return ("is", *NO_VALUE_OPS)
    return ()


def system_ops(name: str) -> tuple[str, ...]:
    return {"@state": ("in",), "@assignee": ("is", "in", "empty", "not_empty"), "@late": ("is",)}[name]


_per_flow: dict[tuple[int, str], tuple[CompiledFlow, Any]] = {}
_lock = threading.Lock()


def per_flow(flow: CompiledFlow, key: str, make: Callable[[], T]) -> T:
    """`make()` computed once per compiled flow (a reload compiles a new one) and `key`."""
    hit = _per_flow.get((id(flow), key))
    if hit is not None and hit[0] is flow:
        return cast(T, hit[1])
    value = make()
    with _lock:
        if len(_per_flow) > 1024:
            _per_flow.clear()
        _per_flow[(id(flow), key)] = (flow, value)
    return value


def filterable(flow: CompiledFlow) -> dict[str, FieldSpecBase]:
    """Fields a view may filter on: a type with operators, and not hidden in every state (do not change it)."""
    return per_flow(flow, "filterable", lambda: {
        n: f for n, f in flow.fields.items() if f.stored_in_row and ops_for(f) and not hidden_everywhere(flow, n)})


def hidden_everywhere(flow: CompiledFlow, name: str) -> bool:
    """A field no reader sees in any state: never a column or a filter."""
    hidden = per_flow(flow, "hidden_everywhere", lambda: frozenset(
        n for n in flow.fields if len(states_hiding(flow, n)) == len(flow.spec.states)))
    return name in hidden


def _bad(key: str, message: Message) -> ValidationFailed:
    return ValidationFailed({key: message})


def parse_filter(raw: Any, index: int) -> ViewFilter:
    """A filter from JSON (`{"field": ..., "op": ..., "value": ...}`), or a clear 422."""
    key = f"filters[{index}]"
    if not isinstance(raw, Mapping):
        raise _bad(key, Message("view_filter_shape", "a filter is an object with field, op and value"))
    fld, op = raw.get("field"), raw.get("op")
    if not isinstance(fld, str) or not isinstance(op, str) or not fld or not op:
        raise _bad(key, Message("view_filter_shape", "a filter is an object with field, op and value"))
    extra = set(raw) - {"field", "op", "value"}
    if extra:
        raise _bad(key, Message("view_filter_shape", "a filter is an object with field, op and value"))
    return ViewFilter(fld[:64], op[:16], raw.get("value"))


def _one(flow: CompiledFlow, field: FieldSpecBase, raw: Any, key: str) -> Any:
    if isinstance(raw, (dict, list)):
        raise _bad(key, Message("view_filter_one_value", "give one value"))
    try:
        value = field.filter_value(raw, tz=flow.timezone)
    except FieldValueError as exc:
        raise _bad(key, exc.message) from None  # type: ignore[arg-type]
    if value is None:
        raise _bad(key, Message("required", "give a value"))
    return value


def _many(flow: CompiledFlow, field: FieldSpecBase, raw: Any, key: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise _bad(key, Message("view_filter_list", "give a list of values"))
    if len(raw) > MAX_LIST:
        raise _bad(key, Message("view_filter_list_long", "at most {n} values", n=MAX_LIST))
    return [_one(flow, field, v, key) for v in raw]


def _text(raw: Any, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(key, Message("required", "give a value"))
    if len(raw) > MAX_TEXT:
        raise _bad(key, Message("too_long", "at most {n} characters", n=MAX_TEXT))
    return nfc(raw.strip())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ids(raw: Any, key: str, many: bool) -> list[int]:
    items = raw if many else [raw]
    if not isinstance(items, list) or not items or len(items) > MAX_LIST:
        raise _bad(key, Message("view_filter_list", "give a list of values"))
    out = []
    for v in items:
        if isinstance(v, str) and v.isascii() and v.isdigit():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 2**53:
            raise _bad(key, Message("view_filter_id", "give a record or user number"))
        out.append(v)
    return out


def _bool(raw: Any, key: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise _bad(key, Message("view_filter_bool", "give yes or no"))


def check_filter(flow: CompiledFlow, flt: ViewFilter, key: str) -> None:
    """Refuse an unknown field or an operator its type does not support (a 422 naming the filter)."""
    if flt.field in SYSTEM_FILTERS:
        ops: tuple[str, ...] = system_ops(flt.field)
    elif flt.field in filterable(flow):
        ops = ops_for(flow.fields[flt.field])
    else:
        raise _bad(key, Message("not_a_filter", "not a filter of this flow"))
    if flt.op not in ops:
        raise _bad(key, Message("view_filter_op", "this field can be filtered with: {ops}",
                                ops=", ".join(OP_WORDS[o] for o in ops)))


def uses_index(flow: CompiledFlow, flt: ViewFilter) -> bool:
    """Whether the database can find the records of this filter through an index."""
    if flt.field in SYSTEM_FILTERS:
        return True
    field = flow.fields[flt.field]
    if not (field.index or field.unique):
        return False
    if flt.op == "contains":
        return flt.field in search_fields(flow)
    return flt.op not in ("ne", "not_empty", "starts")


def filter_condition(live: LiveFlow, flt: ViewFilter, key: str, *, now: datetime, dialect: str | None = None,
                     fts_terms: tuple[str, ...] | None = None) -> ColumnElement[bool]:
    """The SQL condition of one filter (checked first: unknown field, wrong operator or value → 422)."""
    flow, t = live.flow, live.table
    check_filter(flow, flt, key)
    if flt.field == "@state":
        states = flt.value if isinstance(flt.value, list) else [flt.value]
        if not states or len(states) > MAX_LIST or not all(isinstance(s, str) for s in states):
            raise _bad(key, Message("view_filter_list", "give a list of values"))
        unknown = [s for s in states if s not in flow.spec.states]
        if unknown:
            raise _bad(key, Message("unknown_state", "unknown state '{s}'", s=unknown[0][:64]))
        return t.c.state.in_(sorted(set(states)))
    if flt.field == "@assignee":
        if flt.op == "empty":
            return t.c.assignee_id.is_(None)
        if flt.op == "not_empty":
            return t.c.assignee_id.is_not(None)
        return t.c.assignee_id.in_(_ids(flt.value, key, flt.op == "in"))
    if flt.field == "@late":
        late = and_(t.c.sla_due_at.is_not(None), t.c.sla_due_at < now, t.c.sla_paused_at.is_(None),
                    t.c.state.not_in(sorted(flow.final_states)) if flow.final_states else literal(True))
        return late if _bool(flt.value, key) else ~late
    return _field_condition(live, flt, key, dialect, fts_terms)


def _field_condition(live: LiveFlow, flt: ViewFilter, key: str, dialect: str | None,
                     fts_terms: tuple[str, ...] | None) -> ColumnElement[bool]:
    flow, t = live.flow, live.table
    field = flow.fields[flt.field]
    col = t.c[flt.field]
    shown, hidden = shown_condition(t, flow, flt.field), hidden_condition(t, flow, flt.field)
    if flt.op == "empty":
        return col.is_(None) if hidden is None else or_(col.is_(None), hidden)
    op, value = flt.op, flt.value
    cond: ColumnElement[bool]
    if op == "not_empty":
        cond = col.is_not(None)
    elif op in ("contains", "starts"):
        text = _text(value, key)
        if op == "contains" and flt.field in search_fields(flow):
            hiding = states_hiding(flow, flt.field)
            return contains_condition(t, [flt.field], text, fts_terms, dialect, {flt.field: hiding} if hiding else None)
        pattern = (f"%{_like_escape(text)}%" if op == "contains" else f"{_like_escape(text)}%")
        cond = func.lower(col).like(func.lower(literal(pattern)), escape="\\")
    elif op == "equals":
        cond = col == _one(live.flow, field, _text(value, key), key)
    elif op in ("in", "is") and field.type in ("user", "reference"):
        cond = col.in_(_ids(value, key, op == "in"))
    elif op == "is":  # boolean
        cond = col == _bool(value, key)
    elif op == "in":
        cond = col.in_(_many(flow, field, value, key))
    elif op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _bad(key, Message("view_filter_between", "give two values: from and to"))
        low, high = _one(flow, field, value[0], key), _one(flow, field, value[1], key)
        if low > high:
            raise _bad(key, Message("view_filter_order", "the first value must not be after the second"))
        cond = and_(col >= low, col <= high)
    else:
        v = _one(flow, field, value, key)
        cond = {"eq": col == v, "lt": col < v, "le": col <= v, "gt": col > v, "ge": col >= v,
                "ne": or_(col != v, col.is_(None))}[op]
        if op == "ne":  # an empty or hidden value is "not equal" too
            return cond if hidden is None else or_(cond, hidden)
    return cond if shown is None else and_(cond, shown)


def conditions_of(live: LiveFlow, filters: Sequence[ViewFilter], *, now: datetime, dialect: str | None = None,
                  fts: Any = None) -> list[ColumnElement[bool]]:
    """The conditions of every filter (`fts(text)`: the search index's terms for a `contains`)."""
    out: list[ColumnElement[bool]] = []
    for i, flt in enumerate(filters):
        terms = fts(flt.value) if fts is not None and flt.op == "contains" and isinstance(flt.value, str) else None
        out.append(filter_condition(live, flt, f"filters[{i}]", now=now, dialect=dialect, fts_terms=terms))
    return out

