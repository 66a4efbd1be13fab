"""Record titles that name a referenced record: `record_title: "{{ order_no }} · {{ customer }}"`.

A reference is stored as the target's id; in a title people want the target's
own title ("SO-000001 · 宁波华东机电"), not "SO-000001 · 17". For a batch of
records (a list page, an inbox) the targets are read with one query per target
flow, whatever the batch size. A target the reader may not see, or one that
is gone, shows as empty — the title never leaks what the reader cannot open.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.storage.registry import FlowRegistry


def title_references(flow: CompiledFlow) -> dict[str, str]:
    """Reference fields the flow's record_title names → the flow they refer to."""
    if flow.title is None:
        return {}
    out = {}
    for name in flow.title.names:
        f = flow.fields.get(name)
        if f is not None and f.type == "reference":
            out[name] = str(getattr(f, "flow", ""))
    return out


def target_titles(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor,
                  value_maps: Iterable[Mapping[str, Any]], refs: Mapping[str, str] | None = None) -> dict[tuple[str, int], str]:
    """(reference field, target id) → the target's title, for the references the title names (or for
    `refs`: reference field → target flow, such as a data table's reference columns)."""
    from engine.records.access import visible_clause
    from engine.records.records import Records
    from engine.records.transitions import values_from_row

    refs = title_references(flow) if refs is None else refs
    if not refs:
        return {}
    maps = list(value_maps)
    out: dict[tuple[str, int], str] = {}
    for name, target in refs.items():
        ids = sorted({v[name] for v in maps if isinstance(v.get(name), int)})
        if not ids or target not in registry:
            continue
        live = registry.get(target)
        t = live.table
        names = [n for n in (live.flow.title.names if live.flow.title else ()) if n in live.flow.stored_fields]
        q = select(t.c.id, t.c.state, *(t.c[n] for n in names)).where(t.c.id.in_(ids), visible_clause(live, actor))
        for row in conn.execute(q).mappings():
            values = values_from_row(live.flow, row, names)
            out[(name, int(row["id"]))] = Records.title_of(live.flow, values, int(row["id"]), row["state"])
    return out


def with_target_titles(flow: CompiledFlow, values: Mapping[str, Any], titles: Mapping[tuple[str, int], str]) -> dict[str, Any]:
    """`values` with each reference the title names replaced by its target's title (empty when unknown)."""
    out = dict(values)
    for name in title_references(flow):
        rid = values.get(name)
        out[name] = titles.get((name, rid), "") if isinstance(rid, int) else None
    return out


def retitle(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor, records: Sequence[Any]) -> None:
    """Set `title` of each record (engine Record objects of `flow`) with its references' target titles."""
    if not title_references(flow) or not records:
        return
    from engine.records.records import Records

    titles = target_titles(conn, registry, flow, actor, [r.values for r in records])
    for rec in records:
        rec.title = Records.title_of(flow, with_target_titles(flow, rec.values, titles), rec.id, rec.state)
