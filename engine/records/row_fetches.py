"""What was fetched into line-item rows, remembered per row, and which row values changed at the source since.

An order line's `unit_price` (`fetch: product.list_price`) is a snapshot, like a fetched field of the record
itself (engine/records/references.py). To tell the reader that the product's price changed since, the engine
remembers per row what the cell holds from its source: `reference_fetches` rows keyed
`<table>.<position>.<column>` (`lines.3.unit_price`) with the source record and the value (as JSON).

Rows have no identity of their own: a step sends the whole table again, rows reordered, removed, added or
changed. So the memory is keyed by position at rest and carried along at every write that changes the table:
each row after the step is matched to a row before it (the same row unchanged first, then the same reference
with the same fetched values, then the same reference at the same position, then any row with that reference),
and takes that row's memory when the reference is still the same record. A cell whose value is exactly its
source's value now (a row just filled, a price typed that equals the list price, a re-fetch) is remembered
anew; a cell edited on purpose keeps the memory of its copy, so it is marked only when the source changes, not
merely because it differs. Unchanged rows cost no read of their sources.

The mark compares the remembered value with the source's value now, for the sources the reader may see.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.references import copied_value, target_flow
from engine.storage.executor import WriteTransaction
from engine.storage.id_lists import among
from engine.storage.registry import FlowRegistry
from engine.storage.schema import reference_fetches
from forms import FieldSpecBase, FieldValueError


@dataclass(frozen=True)
class FetchColumn:
    """A fetched column of a table's rows: `column` copies `source` of the record its row's `ref` names."""

    column: str
    ref: str
    source: str
    field: FieldSpecBase
    target: str  # the flow `ref` names


@dataclass(frozen=True)
class RowFetchStatus:
    """A fetched cell whose source's value changed since it was copied."""

    table: str
    row: int  # position, from 0
    column: str
    copied: Any  # the value copied (JSON)
    current: Any  # the source's value now as the cell would hold it (canonical): what a re-fetch writes

    @property
    def key(self) -> str:
        """Keyed like the engine's errors of a row cell: `lines[2].unit_price`."""
        return f"{self.table}[{self.row}].{self.column}"


@dataclass(frozen=True)
class _Memory:
    source_flow: str
    source_id: int
    value: Any
    fetched_at: datetime | None  # None when read for the marks only


def fetch_columns(flow: CompiledFlow, table: str) -> list[FetchColumn]:
    """The fetched columns of table field `table` whose reference is a column of the same row."""
    spec = flow.tables[table].spec
    out = []
    for name, f in spec.fields.items():
        if not f.fetch:
            continue
        ref, _, source = f.fetch.partition(".")
        ref_field = spec.fields.get(ref)
        if ref_field is not None and ref_field.type == "reference":
            out.append(FetchColumn(name, ref, source, f, target_flow(ref_field)))
    return out


def fetching_tables(flow: CompiledFlow) -> list[str]:
    """Table fields with at least one fetched column."""
    return [n for n in flow.tables if fetch_columns(flow, n)]


def _key(table: str, row: int, column: str) -> str:
    return f"{table}.{row}.{column}"


def _parse_key(key: str) -> tuple[str, int, str] | None:
    parts = key.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def _json(f: FieldSpecBase, value: Any) -> Any:
    return None if value is None else f.to_json(value)


def _memories(conn: Connection, flow: str, record_id: int, tables: Iterable[str], *,
              with_time: bool = True) -> dict[tuple[str, int, str], _Memory]:
    """What the rows of `tables` remember, by (table, row, column). A page of 200 lines reads 200 of them, most
    holding one of a few prices: each value's JSON text is parsed once (`with_time=False`: the instants of the
    copies are not needed, as for the marks)."""
    rf = reference_fetches.c
    wanted = set(tables)
    out: dict[tuple[str, int, str], _Memory] = {}
    cols = [rf.field, rf.source_flow, rf.source_id, cast(rf.value, Text).label("value")]
    rows = conn.execute(select(*cols, *([rf.fetched_at] if with_time else []))
                        .where(rf.flow == flow, rf.record_id == record_id, rf.field.contains(".")))
    parsed: dict[str | None, Any] = {None: None}
    for r in rows:
        key = _parse_key(r.field)
        if key is None or key[0] not in wanted:
            continue
        text = r.value
        if text not in parsed:
            parsed[text] = json.loads(text)
        out[key] = _Memory(r.source_flow, int(r.source_id), parsed[text], r.fetched_at if with_time else None)
    return out


def _source_values(conn: Connection, registry: FlowRegistry, target: str, ids: Iterable[int],
                   columns: Iterable[str], actor: Actor | None) -> dict[int, dict[str, Any]]:
    """id → the source columns of those records of flow `target` (only those `actor` may see, given one)."""
    if target not in registry:
        return {}
    live = registry.get(target)
    t = live.table
    names = [c for c in sorted(set(columns)) if c in live.flow.stored_fields]
    q = select(t.c.id, *(t.c[c] for c in names)).where(among(t.c.id, sorted(set(ids)), conn.dialect.name))
    if actor is not None:
        from engine.records.access import visible_clause

        q = q.where(visible_clause(live, actor))
    from engine.records.transitions import values_from_row

    return {int(r["id"]): values_from_row(live.flow, r, names) for r in conn.execute(q).mappings()}


def _current(flow: CompiledFlow, registry: FlowRegistry, col: FetchColumn, source: Mapping[str, Any]) -> tuple[bool, Any]:
    """(ok, the source's value as the cell would hold it); not ok when the source field is gone or refuses."""
    target_field = registry.get(col.target).flow.fields.get(col.source) if col.target in registry else None
    if target_field is None:
        return False, None
    try:
        return True, copied_value(col.field, target_field, source.get(col.source), flow.timezone)
    except FieldValueError:
        return False, None


def match_rows(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]], refs: Sequence[str],
               fetched: Sequence[str]) -> list[int | None]:
    """For each row after a step, the position of the row before it that it continues (None: a new row).

    In order of preference: the same row unchanged at the same place, the same row unchanged elsewhere (a
    row moved, or rows removed before it), a row with the same references and fetched values, one with the
    same references at the same place, then any row with the same references. Each row before is used once."""
    def whole(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(sorted((k, repr(v)) for k, v in row.items()))

    def refs_of(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(r) for r in refs)

    def snap(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return refs_of(row) + tuple(repr(row.get(c)) for c in fetched)

    out: list[int | None] = [None] * len(after)
    used = [False] * len(before)
    for j, row in enumerate(after):
        if j < len(before) and before[j] == row:
            out[j], used[j] = j, True
    for key, same_place in ((whole, False), (snap, False), (refs_of, True), (refs_of, False)):
        free: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(before):
            if not used[i]:
                free[key(row)].append(i)
        for j, row in enumerate(after):
            if out[j] is not None:
                continue
            k = key(row)
            if same_place:
                if j < len(before) and not used[j] and key(before[j]) == k:
                    out[j], used[j] = j, True
                continue
            while free.get(k) and used[free[k][0]]:
                free[k].pop(0)
            if free.get(k):
                i = free[k].pop(0)
                out[j], used[i] = i, True
    return out


def remember_rows(tx: WriteTransaction, registry: FlowRegistry, flow: CompiledFlow, record_id: int,
                  before: Mapping[str, Any], after: Mapping[str, Any], tables: Iterable[str], now: datetime,
                  *, new: bool = False) -> None:
    """Carry and renew the memory of the fetched cells of `tables` (the ones the step changed), in `tx`."""
    conn = tx.conn
    for table in tables:
        cols = fetch_columns(flow, table) if table in flow.tables else []
        if not cols:
            continue
        old_rows = [r for r in (before.get(table) or []) if isinstance(r, Mapping)]
        new_rows = [r for r in (after.get(table) or []) if isinstance(r, Mapping)]
        memory = {} if new or not old_rows else _memories(conn, flow.name, record_id, [table])
        refs = list(dict.fromkeys(c.ref for c in cols))
        matched = match_rows(old_rows, new_rows, refs, [c.column for c in cols]) if memory else [None] * len(new_rows)
        kept: dict[tuple[int, str], _Memory] = {}
        to_check: list[tuple[int, FetchColumn, int, Any]] = []  # (row, column, source id, value as JSON)
        for j, row in enumerate(new_rows):
            i = matched[j]
            for col in cols:
                rid = row.get(col.ref)
                value = _json(col.field, row.get(col.column))
                if not isinstance(rid, int) or value is None:
                    continue
                carried = memory.get((table, i, col.column)) if i is not None else None
                if carried is not None and carried.source_id != rid:
                    carried = None
                if carried is not None:
                    kept[(j, col.column)] = carried
                    if carried.value == value:
                        continue  # the copy as it was: nothing to ask the source
                to_check.append((j, col, rid, value))
        if to_check:
            wanted: dict[str, set[int]] = defaultdict(set)
            sources: dict[str, set[str]] = defaultdict(set)
            for _j, col, rid, _v in to_check:
                wanted[col.target].add(rid)
                sources[col.target].add(col.source)
            found = {t: _source_values(conn, registry, t, ids, sources[t], None) for t, ids in wanted.items()}
            for j, col, rid, value in to_check:
                source = found[col.target].get(rid)
                if source is None:
                    continue
                ok, current = _current(flow, registry, col, source)
                if ok and _json(col.field, current) == value:
                    kept[(j, col.column)] = _Memory(col.target, rid, value, now)
        if memory:
            rf = reference_fetches.c
            tx.execute(delete(reference_fetches).where(
                rf.flow == flow.name, rf.record_id == record_id, rf.field.startswith(f"{table}.", autoescape=True)))
        if kept:
            tx.conn.execute(reference_fetches.insert(), [
                {"flow": flow.name, "record_id": record_id, "field": _key(table, j, c), "source_flow": m.source_flow,
                 "source_id": m.source_id, "value": m.value, "fetched_at": m.fetched_at}
                for (j, c), m in sorted(kept.items())])


def row_fetch_statuses(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, record_id: int,
                       values: Mapping[str, Any], actor: Actor,
                       tables: Iterable[str] | None = None) -> dict[str, RowFetchStatus]:
    """The fetched cells of the record's rows (`values`: its values with their rows) whose source, as `actor`
    may see it, holds another value now than the one copied; keyed `lines[2].unit_price`."""
    names = [t for t in (fetching_tables(flow) if tables is None else tables)
             if t in flow.tables and isinstance(values.get(t), list) and values.get(t)]
    if not names:
        return {}
    memory = _memories(conn, flow.name, record_id, names, with_time=False)
    if not memory:
        return {}
    cols = {(t, c.column): c for t in names for c in fetch_columns(flow, t)}
    wanted: dict[str, set[int]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    live_memory: list[tuple[tuple[str, int, str], _Memory, FetchColumn]] = []
    for (table, i, column), m in memory.items():
        col = cols.get((table, column))
        rows = values[table]
        if col is None or i >= len(rows) or not isinstance(rows[i], Mapping) or rows[i].get(col.ref) != m.source_id:
            continue
        live_memory.append(((table, i, column), m, col))
        wanted[col.target].add(m.source_id)
        sources[col.target].add(col.source)
    found = {t: _source_values(conn, registry, t, ids, sources[t], actor) for t, ids in wanted.items()}
    out: dict[str, RowFetchStatus] = {}
    currents: dict[tuple[str, str, int], tuple[bool, Any, Any]] = {}  # one per source and column: (ok, value, JSON)
    for (table, i, column), m, col in sorted(live_memory, key=lambda x: x[0]):
        source = found[col.target].get(m.source_id)
        if source is None:
            continue
        at = (table, column, m.source_id)
        if at not in currents:
            ok, value = _current(flow, registry, col, source)
            currents[at] = (ok, value, _json(col.field, value) if ok else None)
        ok, current, as_json = currents[at]
        if ok and as_json != m.value:
            status = RowFetchStatus(table, i, column, m.value, current)
            out[status.key] = status
    return out
