"""Lists of records: filters, whitelisted sorting, keyset pagination, always through the visibility rule.

* Filters only on fields the flow marks `index: true` (or `unique: true`) whose
  type offers filters (`filter_ops`: equality, ranges), on the state and on the
  assignee/creator. Values are parsed by the field type (`filter_value`) and
  reach SQL as bound parameters, never as text.
* Sort on `id`, `created_at`, `updated_at`, `sla_due_at` or an indexed field
  whose type is `sortable`, ascending or descending (`-name`); ties are broken by id.
* Keyset pagination: the opaque `next` cursor carries the last row's sort
  value and id; a page never skips or repeats a row when others are added.
  Empty (NULL) sort values come last in both directions.
* At most MAX_LIMIT records per page.
* Search (`q`): a case-insensitive "contains" over the searchable fields,
  served by the flow's trigram search index (engine/storage/search_index.py).
* A field hidden in a record's state counts as empty for that record in
  filters, sorts and searches (engine/records/hidden_fields.py), so a list
  never gives a hidden value away through its count or order.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.engine import Engine

from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.errors import ValidationFailed
from engine.records.hidden_fields import hidden_by_field, hidden_condition, shown_condition, states_hiding
from engine.language.flow import CompiledFlow
from engine.records.reference_titles import retitle, title_references
from engine.records.records import Record, Records
from engine.storage.registry import LiveFlow
from engine.storage.search_index import contains_condition, fts_terms, search_fields
from forms import FieldSpecBase, FieldValueError
from forms.messages import Message
from forms.unicode_text import nfc

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
SYSTEM_SORTS = ("id", "created_at", "updated_at", "sla_due_at")
_NOT_NULL = frozenset({"id", "created_at", "updated_at"})
MAX_SEARCH = 100

Op = Literal["eq", "gte", "lte"]


@dataclass(frozen=True)
class Filter:
    field: str
    op: Op
    value: Any  # as given (JSON or query-string text); coerced by the field type


@dataclass(frozen=True)
class ListQuery:
    states: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    search: str | None = None
    assignee_id: int | None = None
    created_by: int | None = None
    sort: str = "-id"
    limit: int = DEFAULT_LIMIT
    after: str | None = None

    def without_states(self) -> ListQuery:
        """The same filters for every state (for per-state counts); no sort or paging."""
        return ListQuery(filters=self.filters, search=self.search, assignee_id=self.assignee_id,
                         created_by=self.created_by)


@dataclass
class Page:
    records: list[Record]
    next_cursor: str | None
    limit: int
    sort: str
    extra: dict[str, Any] = field(default_factory=dict)


def filterable_fields(flow: CompiledFlow) -> dict[str, FieldSpecBase]:
    """Fields a list may filter on: indexed (or unique) ones whose type offers filters."""
    return {n: f for n, f in flow.fields.items() if (f.index or f.unique) and f.filter_ops}


def range_fields(flow: CompiledFlow) -> dict[str, FieldSpecBase]:
    """Filterable fields whose type also offers `.gte` / `.lte`."""
    return {n: f for n, f in filterable_fields(flow).items() if "gte" in f.filter_ops}


def sort_keys(flow: CompiledFlow) -> tuple[str, ...]:
    return SYSTEM_SORTS + tuple(n for n, f in filterable_fields(flow).items() if f.sortable)


def _coerce(flow: CompiledFlow, name: str, raw: Any, key: str) -> Any:
    try:
        value = flow.fields[name].filter_value(raw, tz=flow.timezone)
    except FieldValueError as exc:
        raise ValidationFailed({key: exc.message}) from None
    if value is None:
        raise ValidationFailed({key: Message("required", "give a value")})
    return value


def _parse_sort(flow: CompiledFlow, sort: str, keys: Sequence[str] | None = None) -> tuple[str, bool]:
    desc = sort.startswith("-")
    name = sort[1:] if desc else sort
    keys = sort_keys(flow) if keys is None else keys
    if name not in keys:
        raise ValidationFailed({"sort": Message("bad_sort", "sort by one of: {keys} (prefix - for descending)",
                                             keys=", ".join(keys))})
    return name, desc


def conditions(live: LiveFlow, actor: Actor, query: ListQuery, db: Engine | None = None) -> list[ColumnElement[bool]]:
    """The WHERE terms of a list; with `db`, a text search goes through the flow's search index."""
    flow, t = live.flow, live.table
    conds: list[ColumnElement[bool]] = [visible_clause(live, actor)]
    if query.states:
        unknown = [s for s in query.states if s not in flow.spec.states]
        if unknown:
            raise ValidationFailed({"state": Message("unknown_state", "unknown state '{s}'", s=unknown[0])})
        conds.append(t.c.state.in_(sorted(set(query.states))))
    if query.assignee_id is not None:
        conds.append(t.c.assignee_id == query.assignee_id)
    if query.created_by is not None:
        conds.append(t.c.created_by == query.created_by)
    allowed = filterable_fields(flow)
    for flt in query.filters:
        key = flt.field if flt.op == "eq" else f"{flt.field}.{flt.op}"
        if flt.field not in allowed or flt.op not in allowed[flt.field].filter_ops:
            raise ValidationFailed({key: Message("not_a_filter", "not a filter of this flow")})
        col = t.c[flt.field]
        value = _coerce(flow, flt.field, flt.value, key)
        conds.append(col == value if flt.op == "eq" else col >= value if flt.op == "gte" else col <= value)
        shown = shown_condition(t, flow, flt.field)
        if shown is not None:  # a hidden value counts as empty: it matches no filter
            conds.append(shown)
    if query.search:
        text = nfc(query.search.strip())
        if len(text) > MAX_SEARCH:
            raise ValidationFailed({"q": Message("too_long", "at most {n} characters", n=MAX_SEARCH)})
        names = search_fields(flow)
        if text and names:
            conds.append(contains_condition(t, names, text, _fts_terms(db, live, text),
                                             db.dialect.name if db is not None else None,
                                             hidden_by_field(flow, names)))
    return conds


def _fts_terms(db: Engine | None, live: LiveFlow, text: str) -> tuple[str, ...] | None:
    return None if db is None else fts_terms(db, live.table.name, live.revision, text)


def _encode_cursor(sort: str, value: Any, record_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif value is not None and not isinstance(value, (int, str, bool)):
        value = str(value)
    raw = json.dumps([sort, value, record_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(flow: CompiledFlow, sort: str, name: str, cursor: str) -> tuple[Any, int]:
    bad = ValidationFailed({"after": Message(
        "bad_cursor", "invalid cursor (take `next` from the previous page, with the same sort)")})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, record_id = json.loads(raw)
    except (ValueError, TypeError):
        raise bad from None
    if got_sort != sort or not isinstance(record_id, int) or isinstance(record_id, bool):
        raise bad
    if value is None:
        if name in _NOT_NULL:
            raise bad
        return None, record_id
    try:
        if name == "id":
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad
        elif name in ("created_at", "updated_at", "sla_due_at"):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise bad
        else:
            value = _coerce(flow, name, value, "after")
    except (ValueError, TypeError, ValidationFailed):
        raise bad from None
    return value, record_id


def _keyset(live: LiveFlow, name: str, desc: bool, value: Any, record_id: int) -> ColumnElement[bool]:
    t = live.table
    col, idc = t.c[name], t.c.id
    if name == "id":
        return idc < record_id if desc else idc > record_id
    tie = idc < record_id if desc else idc > record_id
    if value is None:  # we are in the NULL tail: only ids further on
        return and_(col.is_(None), tie)
    beyond = (col < value) if desc else (col > value)
    cond = or_(beyond, and_(col == value, tie))
    if name in _NOT_NULL:
        return cond
    return or_(and_(col.is_not(None), cond), col.is_(None))


def list_records(db: Engine, records: Records, live: LiveFlow, actor: Actor, query: ListQuery, *,
                 extra: Sequence[ColumnElement[bool]] = (), sorts: Sequence[str] | None = None) -> Page:
    """One page of the records `actor` may see, filtered and sorted.

    `extra`: more WHERE terms (a data-table view's filters, engine/records/data_view.py); `sorts`: the
    sort keys allowed instead of `sort_keys(flow)` (a view, which checks their cost itself)."""
    flow, t = live.flow, live.table
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": Message("out_of_range", "between {lo} and {hi}", lo=1, hi=MAX_LIMIT)})
    name, desc = _parse_sort(flow, query.sort, sorts)
    conds = conditions(live, actor, query, db) + list(extra)
    cursor_at = _decode_cursor(flow, query.sort, name, query.after) if query.after else None
    col = t.c[name]
    by_id = t.c.id.desc() if desc else t.c.id.asc()
    primary = col.desc() if desc else col.asc()
    with db.connect().execution_options(readonly=True) as conn:
        if name == "id" or name in _NOT_NULL:
            if cursor_at:
                conds.append(_keyset(live, name, desc, *cursor_at))
            order = [by_id] if name == "id" else [primary, by_id]
            rows = list(conn.execute(select(t).where(*conds).order_by(*order).limit(query.limit + 1)).mappings())
        else:
            # NULLs last in both directions, as two index-ordered reads instead of one sort over
            # "col IS NULL" (which no index can serve): first the values, then the NULL tail.
            # A value hidden in a record's state counts as empty: those records sort in the tail.
            rows = []
            in_tail = cursor_at is not None and cursor_at[0] is None
            shown, hidden = shown_condition(t, flow, name), hidden_condition(t, flow, name)
            if not in_tail:
                head = [*conds, col.is_not(None)] + ([shown] if shown is not None else [])
                if cursor_at:
                    value, record_id = cursor_at
                    tie = t.c.id < record_id if desc else t.c.id > record_id
                    head.append(or_((col < value) if desc else (col > value), and_(col == value, tie)))
                rows = list(conn.execute(select(t).where(*head).order_by(primary, by_id)
                                         .limit(query.limit + 1)).mappings())
            if len(rows) <= query.limit:
                tail = [*conds, col.is_(None) if hidden is None else or_(col.is_(None), hidden)]
                if in_tail:
                    tail.append(t.c.id < cursor_at[1] if desc else t.c.id > cursor_at[1])  # type: ignore[index]
                rows += list(conn.execute(select(t).where(*tail).order_by(by_id)
                                          .limit(query.limit + 1 - len(rows))).mappings())
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    recs = [records.row_to_record(live, cast(Mapping[str, Any], r)) for r in rows]
    if title_references(flow):  # titles naming a referenced record show its title (one query per target flow)
        with records.executor.read() as conn:
            retitle(conn, records.registry, flow, actor, recs)
    cursor = None
    if more and rows:
        last = rows[-1]
        in_view = name in _NOT_NULL or name == "id" or last["state"] not in states_hiding(flow, name)
        cursor = _encode_cursor(query.sort, last[name] if in_view else None, last["id"])
    return Page(recs, cursor, query.limit, query.sort)


def count_by_state(db: Engine, live: LiveFlow, actor: Actor, query: ListQuery | None = None) -> dict[str, int]:
    """Visible records per state (for tabs), with the query's filters except its states."""
    t = live.table
    conds = conditions(live, actor, query.without_states() if query else ListQuery(), db)
    stmt = select(t.c.state, func.count()).where(*conds).group_by(t.c.state)
    with db.connect().execution_options(readonly=True) as conn:
        got = {s: int(n) for s, n in conn.execute(stmt).all()}
    return {s: got.get(s, 0) for s in live.flow.spec.states}


def parse_filters(flow: CompiledFlow, params: Mapping[str, Sequence[str]]) -> tuple[Filter, ...]:
    """Filters from query parameters `field=v`, `field.gte=v`, `field.lte=v` (unknown names are refused)."""
    out: list[Filter] = []
    for key, values in params.items():
        name, _, op = key.partition(".")
        if op and op not in ("gte", "lte"):
            raise ValidationFailed({key: Message("bad_operator", "operators are .gte and .lte")})
        if name not in flow.fields:
            raise ValidationFailed({key: Message("not_a_filter", "not a filter of this flow")})
        for v in values:
            out.append(Filter(name, op or "eq", v))  # type: ignore[arg-type]
    return tuple(out)
