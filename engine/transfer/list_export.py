"""An export source from today's list (its filters, search and sort), with the reader's rights.

Records come from `engine/records/listing.py` page by page (keyset paging, MAX_LIMIT at a time), so only
records the reader may see are read, in the list's order; a field hidden in a record's state is an empty
cell; references show the target's title only when the reader may see the target. Line items are read per
page (one query per table) and written to their own sheet, keyed by the record's number and key field.

`ListExport` fits `engine/transfer/export.py`'s `ExportSource`; a saved view can give the same shape.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, select

from engine.language.flow import CompiledFlow
from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.listing import MAX_LIMIT, ListQuery, list_records
from engine.records.records import Record, Records
from engine.records.table_rows import attach_rows
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import users
from engine.transfer.cells import Column
from engine.transfer.export import ExportRow, ExportTable
from engine.transfer.values import NOT_EXPORTED, cell_value, field_column
from forms import FieldSpecBase
from forms.local_text import pick


@dataclass(frozen=True)
class ExportWords:
    """The app's own words in the headers, in the reader's language (the pages translate them)."""

    number: str = "No."
    state: str = "State"


def key_field(flow: CompiledFlow) -> str | None:
    """The record's key for line-item sheets and for imports: its first unique field that a creator sets."""
    for name, f in flow.fields.items():
        if f.unique and f.type not in NOT_EXPORTED and name in flow.create_fields:
            return name
    return None


def exported_fields(flow: CompiledFlow) -> list[str]:
    return [n for n, f in flow.fields.items() if f.type not in NOT_EXPORTED]


def row_fields(flow: CompiledFlow, table: str) -> list[str]:
    return [n for n, f in flow.tables[table].spec.fields.items() if f.type not in NOT_EXPORTED]


class _Names:
    """Titles of referenced records (only those the reader may see) and people's names, read once each."""

    def __init__(self, registry: FlowRegistry, actor: Actor) -> None:
        self.registry, self.actor = registry, actor
        self.titles: dict[str, dict[int, str | None]] = {}
        self.people: dict[int, str] = {}

    def need(self, conn: Connection, f: FieldSpecBase, values: Sequence[Any]) -> None:
        ids = {int(v) for v in values if v is not None}
        if f.type == "reference":
            target = str(getattr(f, "flow", ""))
            known = self.titles.setdefault(target, {})
            missing = sorted(ids - known.keys())
            if missing and target in self.registry:
                live = self.registry.get(target)
                t = live.table
                for i in range(0, len(missing), 500):
                    part = missing[i:i + 500]
                    q = select(t).where(t.c.id.in_(part), visible_clause(live, self.actor))
                    for row in conn.execute(q).mappings():
                        rec = Records(conn.engine, self.registry).row_to_record(live, row)
                        known[rec.id] = rec.title
                    for rid in part:
                        known.setdefault(rid, None)
        elif f.type == "user":
            missing = sorted(ids - self.people.keys())
            if missing:
                for uid, name in conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(missing))):
                    self.people[int(uid)] = str(name)

    def titles_of(self, f: FieldSpecBase) -> Mapping[int, str]:
        got = self.titles.get(str(getattr(f, "flow", "")), {})
        return {k: v for k, v in got.items() if v is not None}


@dataclass
class ListExport:
    db: Engine
    records: Records
    live: LiveFlow
    actor: Actor
    query: ListQuery
    lang: str | None
    tz: tzinfo
    words: ExportWords = field(default_factory=ExportWords)

    def __post_init__(self) -> None:
        flow = self.live.flow
        fb = flow.spec.language
        self.flow: CompiledFlow = flow
        self.title = pick(flow.spec.title, self.lang, fb) or flow.name
        self.fields = exported_fields(flow)
        self.key = key_field(flow)
        self.columns: Sequence[Column] = [Column(self.words.number, "integer"), Column(self.words.state)] + [
            field_column(flow.fields[n], self._title(flow.fields[n], n)) for n in self.fields]
        tables = []
        for name in flow.tables:
            spec = flow.tables[name].spec
            head = [Column(self.words.number, "integer")]
            if self.key:
                head.append(field_column(flow.fields[self.key], self._title(flow.fields[self.key], self.key)))
            cols = head + [field_column(spec.fields[c], self._title(spec.fields[c], c)) for c in row_fields(flow, name)]
            tables.append(ExportTable(name, self._title(flow.fields[name], name), cols))
        self.tables: Sequence[ExportTable] = tables

    def _title(self, f: FieldSpecBase, name: str) -> str:
        return pick(f.title, self.lang, self.flow.spec.language) or name

    def _pages(self) -> Iterator[list[Record]]:
        after = None
        base = self.query
        while True:
            q = ListQuery(states=base.states, filters=base.filters, search=base.search, assignee_id=base.assignee_id,
                          created_by=base.created_by, sort=base.sort, limit=MAX_LIMIT, after=after)
            page = list_records(self.db, self.records, self.live, self.actor, q)
            if page.records:
                yield page.records
            if not page.next_cursor:
                return
            after = page.next_cursor

    def rows(self) -> Iterator[ExportRow]:
        flow, fb = self.flow, self.flow.spec.language
        names = _Names(self.records.registry, self.actor)
        for recs in self._pages():
            with self.db.connect().execution_options(readonly=True) as conn:
                if self.live.row_tables:
                    attach_rows(conn, self.live, {r.id: r.values for r in recs})
                for n in self.fields:
                    f = flow.fields[n]
                    if f.type in ("reference", "user"):
                        names.need(conn, f, [r.values.get(n) for r in recs])
                for tname in flow.tables:
                    for c, f in flow.tables[tname].spec.fields.items():
                        if f.type in ("reference", "user"):
                            names.need(conn, f, [row.get(c) for r in recs for row in (r.values.get(tname) or [])])
            for rec in recs:
                yield self._row(rec, names, fb)

    def _cell(self, f: FieldSpecBase, value: Any, names: _Names, fb: str | None) -> Any:
        return cell_value(f, value, tz=self.tz, lang=self.lang, fallback=fb,
                          titles=names.titles_of(f) if f.type == "reference" else None, names=names.people)

    def _row(self, rec: Record, names: _Names, fb: str | None) -> ExportRow:
        flow = self.flow
        hidden = flow.hidden_fields(rec.state)
        state_title = pick(flow.state(rec.state).title, self.lang, fb) or rec.state
        cells: list[Any] = [rec.id, state_title]
        for n in self.fields:
            cells.append(None if n in hidden else self._cell(flow.fields[n], rec.values.get(n), names, fb))
        lines: dict[str, list[Sequence[Any]]] = {}
        key_cell = cells[2 + self.fields.index(self.key)] if self.key else None
        for tname in flow.tables:
            if tname in hidden:
                continue
            spec = flow.tables[tname].spec
            cols = row_fields(flow, tname)
            out: list[Sequence[Any]] = []
            for row in rec.values.get(tname) or []:
                head: list[Any] = [rec.id] + ([key_cell] if self.key else [])
                out.append(head + [self._cell(spec.fields[c], row.get(c), names, fb) for c in cols])
            if out:
                lines[tname] = out
        return ExportRow(cells, lines)
