"""A flow's records as a data table: a view is columns + filters + sort, read a page at a time.

The view is plain data (`ViewSpec`), the same whether it comes from the API's JSON, the list page's
query string or a saved view (engine/records/saved_views.py). `run_view` reads one page of it;
`iter_view_rows` yields every row of it, page by page (exports):

    reader = ViewReader(db, records, actor, lang="zh-CN")
    page = run_view(reader, live, spec, limit=50, after=None, sums=True)   # -> ViewPage
    for row in iter_view_rows(reader, live, spec):                         # -> ViewRow, each once
        row.cells["amount"].value                                          # typed: Decimal, date, ...

Columns (`ViewSpec.columns`, in order): a field id (references shown by their target's title,
choices by their label, users by name, in the reader's language); `<table field>@count` (the
number of line-item rows; a table's sums are the flow's own computed fields, columns like any
other); and `@state`, `@assignee`, `@stage_age` (time since the record entered its state),
`@sla` (due instant, and whether it is late), `@created_at`, `@updated_at`.

Sort keys: `@id`, `@created_at`, `@updated_at`, `@sla` (the due instant) and every field whose
type sorts, `-` in front for descending. Paging is the keyset paging of engine/records/listing.py:
the cursor carries the last row's sort value and id, so a page never repeats or skips a record
while others are added.

Cost: filters and sorts the database serves from an index are always allowed. A filter or sort
the indexes cannot serve (view_filters.uses_index; a sort on a field without `index: true`) makes
the database read every record the indexed part of the view leaves. Up to `scan_limit` such
records (RELAYFLOW_LIST_SCAN_LIMIT) the view runs and says so (`ViewPage.notes`); above it the
view is refused with a message naming the fields (ViewTooLarge, a 422), never a silent scan.

Visibility: only records the reader may see (engine/records/access.py `visible_clause`, through
the listing), and a field hidden in a record's state shows, filters and sums as empty there; a
field hidden in every state is no column and no filter.

Sums (`sums=True`): every money, decimal and integer column, over the WHOLE filtered set (not the
page), and the number of records in it, in one aggregate query.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, type_coerce
from sqlalchemy.engine import Connection, Engine

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.errors import ValidationFailed
from engine.records.hidden_fields import shown_condition
from engine.records.listing import MAX_LIMIT, ListQuery, list_records
from engine.records.records import Record, Records
from engine.records.reference_titles import target_titles
from engine.records.refusal_words import field_titles
from engine.records.view_filters import (
    SUMMABLE_TYPES, ViewFilter, conditions_of, hidden_everywhere, parse_filter, per_flow, uses_index,
)
from engine.storage.registry import LiveFlow
from engine.storage.schema import history, users
from engine.storage.search_index import fts_terms
from forms.local_text import pick
from forms.messages import Message

DEFAULT_SCAN_LIMIT = 100_000
MAX_COLUMNS = 40
MAX_FILTERS = 20
SYSTEM_COLUMNS = ("@state", "@assignee", "@stage_age", "@sla", "@created_at", "@updated_at")
SYSTEM_SORTS = {"@id": "id", "@created_at": "created_at", "@updated_at": "updated_at", "@sla": "sla_due_at"}
COUNT_SUFFIX = "@count"

# Titles of the system columns (English msgids; the pages translate them, the API gives them as is).
SYSTEM_TITLES = {"@state": "State", "@assignee": "Assignee", "@stage_age": "Time in stage", "@sla": "Due",
                 "@created_at": "Created", "@updated_at": "Last change", "@id": "Number"}


class ViewTooLarge(ValidationFailed):
    """A filter or sort no index serves, over more records than the scan limit allows."""

    code = "view_needs_index"


@dataclass(frozen=True)
class ViewSpec:
    """What a view shows: columns, filters, sort and an optional text search (plain, JSON-able data)."""

    columns: tuple[str, ...]
    filters: tuple[ViewFilter, ...] = ()
    sort: str = "-@id"
    search: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "filters": [f.as_json() for f in self.filters], "sort": self.sort,
                "search": self.search}


@dataclass(frozen=True)
class ViewReader:
    """Who reads a view, in which language, and how big an unindexed scan may get."""

    db: Engine
    records: Records
    actor: Actor
    lang: str | None = None
    scan_limit: int = DEFAULT_SCAN_LIMIT


@dataclass(frozen=True)
class ColumnInfo:
    key: str
    title: str  # the field's title in the reader's language; for system columns the English msgid
    kind: str  # the field type, or "count", "state", "assignee", "stage_age", "sla", "datetime"
    summable: bool
    sort_key: str | None  # the view's sort key for this column, None when it cannot sort
    system: bool = False


@dataclass
class Cell:
    value: Any  # typed: Decimal, int, date, datetime, str, bool, None (empty or hidden)
    label: str | None = None  # what people read, when it is not the value: a title, a choice's label, a name
    late: bool = False  # @sla: past the due instant


@dataclass
class ViewRow:
    id: int
    state: str
    version: int
    title: str
    cells: dict[str, Cell]


@dataclass
class ViewPage:
    columns: list[ColumnInfo]
    rows: list[ViewRow]
    next_cursor: str | None
    limit: int
    sort: str
    sums: dict[str, Decimal | int] | None = None
    count: int | None = None
    notes: list[Message] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


# --- the view's parts ---------------------------------------------------------------------------

def _count_fields(flow: CompiledFlow) -> dict[str, str]:
    return {f"{n}{COUNT_SUFFIX}": n for n, f in flow.fields.items() if not f.stored_in_row and f.type == "table"}


def available_columns(flow: CompiledFlow, lang: str | None = None) -> list[ColumnInfo]:
    """Every column a view of this flow may show, in file order, then the system columns."""
    return list(per_flow(flow, f"columns:{lang}", lambda: tuple(_columns(flow, lang))))


def _columns(flow: CompiledFlow, lang: str | None) -> list[ColumnInfo]:
    out = []
    for name, f in flow.fields.items():
        if not f.stored_in_row or hidden_everywhere(flow, name) or f.type == "file":
            continue
        out.append(ColumnInfo(name, pick(f.title, lang, flow.spec.language) or name, f.type,
                              f.type in SUMMABLE_TYPES, name if f.sortable else None))
    for key, name in _count_fields(flow).items():
        title = pick(flow.fields[name].title, lang, flow.spec.language) or name
        out.append(ColumnInfo(key, title, "count", False, None))
    for key in SYSTEM_COLUMNS:
        sort = {"@sla": "@sla", "@created_at": "@created_at", "@updated_at": "@updated_at"}.get(key)
        kind = {"@created_at": "datetime", "@updated_at": "datetime"}.get(key, key[1:])
        out.append(ColumnInfo(key, SYSTEM_TITLES[key], kind, False, sort, system=True))
    return out


def default_columns(flow: CompiledFlow) -> tuple[str, ...]:
    """The columns of a view nobody chose: indexed fields first, then others, up to six, and state and due."""
    names = [c.key for c in available_columns(flow) if not c.system and c.kind != "count"]
    indexed = [n for n in names if flow.fields[n].index or flow.fields[n].unique]
    picked = (indexed + [n for n in names if n not in indexed])[:6]
    return (*picked, "@state", "@sla")


def view_columns(flow: CompiledFlow, spec: ViewSpec, lang: str | None = None) -> list[ColumnInfo]:
    """The view's columns, in its order (unknown ones left out: check_spec refuses them)."""
    by_key = {c.key: c for c in available_columns(flow, lang)}
    return [by_key[k] for k in spec.columns if k in by_key]


def sort_keys(flow: CompiledFlow) -> tuple[str, ...]:
    return (*SYSTEM_SORTS, *(n for n, f in flow.fields.items()
                             if f.stored_in_row and f.sortable and not hidden_everywhere(flow, n)))


def _sort_indexed(flow: CompiledFlow, key: str) -> bool:
    if key in SYSTEM_SORTS:
        return True
    f = flow.fields[key]
    return bool(f.index or f.unique)


def check_spec(flow: CompiledFlow, spec: ViewSpec) -> None:
    """Unknown or hidden columns, a bad sort, too many parts: a 422 naming the part."""
    known = {c.key for c in available_columns(flow, None)}
    if not spec.columns:
        raise ValidationFailed({"columns": Message("view_no_columns", "choose at least one column")})
    if len(spec.columns) > MAX_COLUMNS:
        raise ValidationFailed({"columns": Message("view_columns_many", "at most {n} columns", n=MAX_COLUMNS)})
    for i, key in enumerate(spec.columns):
        if key not in known:
            raise ValidationFailed({f"columns[{i}]": Message("view_unknown_column", "not a column of this flow")})
    if len(spec.filters) > MAX_FILTERS:
        raise ValidationFailed({"filters": Message("view_filters_many", "at most {n} filters", n=MAX_FILTERS)})
    name = spec.sort.removeprefix("-")
    if name not in sort_keys(flow):
        raise ValidationFailed({"sort": Message("view_bad_sort", "this column cannot be sorted")})


def spec_from_json(data: Any) -> ViewSpec:
    """A ViewSpec from JSON (`{"columns": [...], "filters": [...], "sort": "...", "search": "..."}`)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"view": Message("view_shape", "a view is an object with columns, filters and sort")})
    unknown = set(data) - {"columns", "filters", "sort", "search"}
    if unknown:
        raise ValidationFailed({sorted(unknown)[0][:40]: Message("view_unknown_key", "not a part of a view")})
    columns = data.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValidationFailed({"columns": Message("view_columns_list", "give the columns as a list of names")})
    filters = data.get("filters") or []
    if not isinstance(filters, list):
        raise ValidationFailed({"filters": Message("view_filters_list", "give the filters as a list")})
    sort = data.get("sort") or "-@id"
    search = data.get("search")
    if not isinstance(sort, str) or (search is not None and not isinstance(search, str)):
        raise ValidationFailed({"sort": Message("view_bad_sort", "this column cannot be sorted")})
    if len(filters) > MAX_FILTERS:
        raise ValidationFailed({"filters": Message("view_filters_many", "at most {n} filters", n=MAX_FILTERS)})
    return ViewSpec(tuple(c[:80] for c in columns[:MAX_COLUMNS + 1]),
                    tuple(parse_filter(f, i) for i, f in enumerate(filters)), sort[:80], search or None)


# --- cost ------------------------------------------------------------------------------------------

def _unindexed(flow: CompiledFlow, spec: ViewSpec) -> list[str]:
    """The fields of the view's filters and sort that no index serves (in view order, once each)."""
    names = [f.field for f in spec.filters if not uses_index(flow, f)]
    sort = spec.sort.removeprefix("-")
    if not _sort_indexed(flow, sort):
        names.append(sort)
    return list(dict.fromkeys(names))


def _guard(reader: ViewReader, live: LiveFlow, spec: ViewSpec, indexed: Sequence[ColumnElement[bool]]) -> list[Message]:
    """Refuse a view that would scan more than the scan limit; else the note saying it scans."""
    slow = _unindexed(live.flow, spec)
    if not slow:
        return []
    t = live.table
    cap = reader.scan_limit
    inner = select(t.c.id).where(*indexed).limit(cap + 1).subquery()
    with reader.db.connect().execution_options(readonly=True) as conn:
        n = int(conn.execute(select(func.count()).select_from(inner)).scalar_one())
    titles = field_titles(live.flow, slow)
    if n > cap:
        raise ViewTooLarge({"filters": Message(
            "view_needs_index",
            "{fields}: not indexed, so this list can be filtered or sorted by it only when it has at most {n} "
            "records; narrow it first with another filter (state, an indexed field) or ask an administrator "
            "to index the field", fields=titles, n=cap)})
    return [Message("view_slow_filter", "{fields}: not indexed; this list is read in full to filter or sort by it",
                    fields=titles)]


# --- reading -----------------------------------------------------------------------------------------

def _conditions(reader: ViewReader, live: LiveFlow, spec: ViewSpec, now: datetime) -> tuple[list[Any], list[Any]]:
    """(all filter conditions, only those an index serves)."""
    db = reader.db

    def fts(text: str) -> tuple[str, ...] | None:
        return fts_terms(db, live.table.name, live.revision, text)

    conds = conditions_of(live, spec.filters, now=now, dialect=db.dialect.name, fts=fts)
    indexed = [c for f, c in zip(spec.filters, conds) if uses_index(live.flow, f)]
    return conds, indexed


def run_view(reader: ViewReader, live: LiveFlow, spec: ViewSpec, *, limit: int = 50, after: str | None = None,
             sums: bool = False, now: datetime | None = None) -> ViewPage:
    """One page of the view for the reader (and, with `sums`, the totals of the whole filtered set)."""
    flow = live.flow
    now = now or datetime.now(timezone.utc)
    check_spec(flow, spec)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": Message("out_of_range", "between {lo} and {hi}", lo=1, hi=MAX_LIMIT)})
    conds, indexed = _conditions(reader, live, spec, now)
    notes = _guard(reader, live, spec, indexed)
    desc = spec.sort.startswith("-")
    key = spec.sort.removeprefix("-")
    sort = ("-" if desc else "") + SYSTEM_SORTS.get(key, key)
    allowed = tuple(SYSTEM_SORTS.get(k, k) for k in sort_keys(flow))
    query = ListQuery(search=spec.search, sort=sort, limit=limit, after=after)
    page = list_records(reader.db, reader.records, live, reader.actor, query, extra=conds, sorts=allowed)
    columns = view_columns(flow, spec, reader.lang)
    rows = _rows(reader, live, columns, page.records, now)
    out = ViewPage(columns, rows, page.next_cursor, limit, spec.sort, notes=notes, records=page.records)
    if sums:
        out.sums, out.count = view_sums(reader, live, spec, columns, now=now)
    return out


def iter_view_rows(reader: ViewReader, live: LiveFlow, spec: ViewSpec, *, batch: int = MAX_LIMIT,
                   now: datetime | None = None) -> Iterator[ViewRow]:
    """Every row of the view, in its order, read `batch` records at a time (each record once)."""
    after: str | None = None
    while True:
        page = run_view(reader, live, spec, limit=batch, after=after, now=now)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor


def view_sums(reader: ViewReader, live: LiveFlow, spec: ViewSpec, columns: Sequence[ColumnInfo] | None = None, *,
              now: datetime | None = None) -> tuple[dict[str, Decimal | int], int]:
    """Sums of the view's number and money columns over every record it filters, and their number."""
    from engine.records.listing import conditions as list_conditions

    flow, t = live.flow, live.table
    now = now or datetime.now(timezone.utc)
    if columns is None:
        check_spec(flow, spec)
        columns = view_columns(flow, spec, reader.lang)
    conds, indexed = _conditions(reader, live, spec, now)
    _guard(reader, live, spec, indexed)  # the sums read the whole filtered set: the same limit as the rows
    where = list_conditions(live, reader.actor, ListQuery(search=spec.search), reader.db) + conds
    summed = [c.key for c in columns if c.summable]
    parts: list[Any] = [func.count().label("n")]
    for name in summed:
        col = t.c[name]
        shown = shown_condition(t, flow, name)
        expr = col if shown is None else case((shown, col), else_=None)
        parts.append(type_coerce(func.sum(expr), col.type).label(f"s_{len(parts)}"))
    with reader.db.connect().execution_options(readonly=True) as conn:
        row = conn.execute(select(*parts).select_from(t).where(*where)).one()
    out: dict[str, Decimal | int] = {}
    for i, name in enumerate(summed, start=1):
        value = row[i]
        f = flow.fields[name]
        out[name] = (f.from_db(value) if value is not None else f.from_db(0)) if f.type != "integer" else int(value or 0)
    return out, int(row[0])


@dataclass(frozen=True)
class _Lookups:
    """What the cells of one page show besides the records' own values (read once per page)."""

    titles: Mapping[tuple[str, int], str]
    names: Mapping[int, str]
    counts: Mapping[str, Mapping[int, int]]
    entered: Mapping[int, datetime]
    labels: Mapping[str, Mapping[str, str]]  # "@state" / a choice field → id → label in the reader's language
    now: datetime


def _labels(flow: CompiledFlow, lang: str | None) -> dict[str, dict[str, str]]:
    fb = flow.spec.language
    out = {"@state": {n: pick(st.title, lang, fb) or n for n, st in flow.spec.states.items()}}
    for name, f in flow.fields.items():
        if f.type in ("choice", "multichoice"):
            out[name] = {k: pick(v, lang, fb) or k for k, v in getattr(f, "choices", {}).items()}
    return out


def _rows(reader: ViewReader, live: LiveFlow, columns: Sequence[ColumnInfo], recs: Sequence[Record],
          now: datetime) -> list[ViewRow]:
    flow = live.flow
    if not recs:
        return []
    keys = {c.key for c in columns}
    with reader.records.executor.read() as conn:
        refs = {c.key: str(getattr(flow.fields[c.key], "flow", "")) for c in columns if c.kind == "reference"}
        titles = target_titles(conn, reader.records.registry, flow, reader.actor, [r.values for r in recs], refs) if refs else {}
        user_ids = {r.assignee_id for r in recs if "@assignee" in keys}
        user_ids |= {r.values.get(c.key) for c in columns if c.kind == "user" for r in recs}
        names = _user_names(conn, {u for u in user_ids if isinstance(u, int)})
        counts = {c.key: _row_counts(conn, live, c.key[:-len(COUNT_SUFFIX)], [r.id for r in recs])
                  for c in columns if c.kind == "count"}
        entered = _entered(conn, flow, recs) if "@stage_age" in keys else {}
    look = _Lookups(titles, names, counts, entered, per_flow(flow, f"labels:{reader.lang}", lambda: _labels(flow, reader.lang)),
                    now)
    out = []
    for rec in recs:
        hidden = flow.hidden_fields(rec.state) if rec.state in flow.spec.states else frozenset()
        cells = {c.key: _cell(flow, rec, c, hidden, look) for c in columns}
        out.append(ViewRow(rec.id, rec.state, rec.version, rec.title, cells))
    return out


def _cell(flow: CompiledFlow, rec: Record, c: ColumnInfo, hidden: frozenset[str], look: _Lookups) -> Cell:
    key = c.key
    if key[0] == "@":
        sys = rec.system
        if key == "@state":
            return Cell(rec.state, look.labels["@state"].get(rec.state, rec.state))
        if key == "@assignee":
            uid = rec.assignee_id
            return Cell(uid, look.names.get(uid) if uid is not None else None)
        if key == "@sla":
            due = sys.get("sla_due_at") if rec.state not in flow.final_states else None
            return Cell(due, None, due is not None and due < look.now and sys.get("sla_paused_at") is None)
        if key == "@stage_age":
            since = look.entered.get(rec.id)
            return Cell(int((look.now - since).total_seconds()) if since is not None else None)
        return Cell(sys.get(key[1:]))  # @created_at, @updated_at
    if c.kind == "count":
        return Cell(None) if key[:-len(COUNT_SUFFIX)] in hidden else Cell(look.counts[key].get(rec.id, 0))
    value = None if key in hidden else rec.values.get(key)
    if value is None:
        return Cell(None)
    if c.kind == "reference":
        return Cell(value, look.titles.get((key, value), "") if isinstance(value, int) else None)
    if c.kind == "user":
        return Cell(value, look.names.get(value))
    if c.kind == "choice":
        return Cell(value, look.labels[key].get(value, value))
    if c.kind == "multichoice":
        return Cell(value, ", ".join(look.labels[key].get(v, v) for v in value))
    return Cell(value)


def _user_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(ids))))
    return {int(i): str(n) for i, n in rows}


def _row_counts(conn: Connection, live: LiveFlow, table_field: str, ids: list[int]) -> dict[int, int]:
    rt = live.row_tables[table_field].table
    rows = conn.execute(select(rt.c.record_id, func.count()).where(rt.c.record_id.in_(ids)).group_by(rt.c.record_id))
    return {int(r): int(n) for r, n in rows}


def _entered(conn: Connection, flow: CompiledFlow, recs: Sequence[Record]) -> dict[int, datetime]:
    """When each record entered its current state: its SLA clock's start, else the last history row that
    moved it there (one query for the records without a running clock)."""
    out: dict[int, datetime] = {}
    rest = []
    for r in recs:
        started = r.system.get("sla_started_at")
        if started is not None and r.system.get("sla_state") == r.state:
            out[r.id] = started
        else:
            rest.append(r)
    if rest:
        h = history
        moved = or_(h.c.from_state.is_(None), h.c.from_state != h.c.to_state)
        q = (select(h.c.record_id, h.c.to_state, func.max(h.c.at))
             .where(h.c.flow == flow.name, h.c.record_id.in_([r.id for r in rest]), moved)
             .group_by(h.c.record_id, h.c.to_state))
        states = {r.id: r.state for r in rest}
        for rid, state, at in conn.execute(q):
            if states.get(int(rid)) == state and at is not None:
                out[int(rid)] = at
    return out

