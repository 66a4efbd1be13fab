"""Field values as another system reads them: JSON with references and people named, not bare ids.

The JSON form of each field type (forms: money and decimals as strings, dates and instants ISO) with
two additions: a reference is `{"id": 17, "title": "宁波华东机电"}` and a user `{"id": 3, "name": "Sally"}`,
in the record's own fields and in the rows of its tables alike. Targets and people are read with one
query per target flow and one for the people, whatever the number of rows. Used by the events' payloads
(engine/delivery/events.py) and the change notices (engine/delivery/change_notices.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from functools import partial

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.records.read_memo import ReadMemo
from engine.storage.registry import FlowRegistry
from engine.storage.schema import users
from forms.base import FieldSpecBase


def _cells(spec: FieldSpecBase, value: Any) -> Iterable[tuple[FieldSpecBase, Any]]:
    """(field spec, value) of a value and, for a table, of every cell of its rows."""
    if spec.type == "table":
        row_fields: Mapping[str, FieldSpecBase] = getattr(spec, "fields", {})
        for row in value or []:
            for n, cell in row.items():
                if n in row_fields and cell is not None:
                    yield row_fields[n], cell
    elif value is not None:
        yield spec, value


class Namer:
    """Titles of referenced records and names of users, read once for a batch of values."""

    def __init__(self, conn: Connection, registry: FlowRegistry | None, flow: CompiledFlow,
                 values: Iterable[Mapping[str, Any]], names: Iterable[str], memo: ReadMemo | None = None) -> None:
        wanted = [n for n in names if n in flow.fields]
        refs: dict[str, set[int]] = {}
        people: set[int] = set()
        for vals in values:
            for n in wanted:
                for spec, v in _cells(flow.fields[n], vals.get(n)):
                    if spec.type == "reference" and isinstance(v, int):
                        refs.setdefault(str(getattr(spec, "flow", "")), set()).add(v)
                    elif spec.type == "user" and isinstance(v, int):
                        people.add(v)
        self.titles: dict[tuple[str, int], str] = {}
        for target, ids in refs.items():
            if registry is None or target not in registry:
                continue
            if memo is None:
                self.titles.update(_titles(conn, registry, target, ids))
            else:
                self.titles.update(memo.titles(target, ids, partial(_titles, conn, registry, target)))
        self.people: dict[int, str] = {}
        if people:
            self.people = {int(r.id): str(r.display_name) for r in conn.execute(
                select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(people))))}

    def value(self, spec: FieldSpecBase, value: Any) -> Any:
        """The JSON of one value of `spec` (a table: its rows, each cell the same way)."""
        if value is None:
            return None
        if spec.type == "table":
            row_fields: Mapping[str, FieldSpecBase] = getattr(spec, "fields", {})
            return [{n: self.value(row_fields[n], cell) for n, cell in row.items() if n in row_fields}
                    for row in value]
        if spec.type == "reference":
            return {"id": int(value), "title": self.titles.get((str(getattr(spec, "flow", "")), int(value)), "")}
        if spec.type == "user":
            return {"id": int(value), "name": self.people.get(int(value), "")}
        return spec.to_json(value)


def _titles(conn: Connection, registry: FlowRegistry, target: str, ids: set[int]) -> dict[tuple[str, int], str]:
    from engine.records.records import Records
    from engine.records.transitions import values_from_row

    live = registry.get(target)
    t = live.table
    names = [n for n in (live.flow.title.names if live.flow.title else ()) if n in live.flow.stored_fields]
    out: dict[tuple[str, int], str] = {}
    for row in conn.execute(select(t.c.id, t.c.state, *(t.c[n] for n in names)).where(t.c.id.in_(sorted(ids)))).mappings():
        values = values_from_row(live.flow, row, names)
        out[(target, int(row["id"]))] = Records.title_of(live.flow, values, int(row["id"]), row["state"])
    return out


def record_title(conn: Connection, registry: FlowRegistry | None, flow: CompiledFlow, values: Mapping[str, Any],
                 record_id: int, state: str | None, namer: Namer | None = None) -> str:
    """The record's title with the references it names shown by their targets' titles ("PO-1 · ACME"), for
    a message or a payload that leaves the site (no reader's visibility applies)."""
    from engine.records.records import Records
    from engine.records.reference_titles import title_references, with_target_titles

    refs = title_references(flow)
    if not refs:
        return Records.title_of(flow, values, record_id, state)
    namer = namer or Namer(conn, registry, flow, [values], list(refs))
    titles = {(n, values[n]): namer.titles.get((target, values[n]), "")
              for n, target in refs.items() if isinstance(values.get(n), int)}
    return Records.title_of(flow, with_target_titles(flow, values, titles), record_id, state)
