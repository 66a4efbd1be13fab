"""References in API answers: the referenced records' titles, the lookups of one record, and its fetched values
whose source changed since they were copied."""
from __future__ import annotations

from typing import Any

from api.services import ApiServices
from engine.records.actor import Actor
from engine.records.records import Record
from engine.records.references import fetch_statuses, lookup_spec, lookup_values, reference_fields, shown_targets
from engine.records.row_fetches import fetching_tables, row_fetch_statuses


def reference_parts(svc: ApiServices, rec: Record, actor: Actor) -> dict[str, Any]:
    """`references` (field → {id, title, flow} of a target the reader may see, else null), `lookups`
    (lookup → the live value, null when the target is empty or hidden from the reader) and `changed_at_source`
    (a fetched field, or a row's fetched cell keyed `lines[2].unit_price`, whose source the reader may see
    holds another value now than the one copied → {"now": that value}) of a record."""
    flow = svc.registry.get(rec.flow).flow
    if not reference_fields(flow) and not flow.has_row_references:
        return {}
    hidden = flow.hidden_fields(rec.state)
    shown = {k: v for k, v in rec.values.items() if k not in hidden}
    targets = shown_targets(svc.db, svc.registry, flow, shown, actor)
    refs = {n: (None if t is None else {"flow": t.flow, "id": t.id, "title": t.title})
            for n, t in targets.items() if n not in hidden}
    lookups: dict[str, Any] = {}
    for name, value in lookup_values(flow, targets).items():
        spec = lookup_spec(svc.registry, flow, name)
        lookups[name] = None if value is None or spec is None else spec.to_json(value)
    changed: dict[str, Any] = {}
    for name, status in fetch_statuses(svc.db, svc.registry, flow, rec.id, targets).items():
        if status.changed and name not in hidden:
            spec = flow.fields[name]
            changed[name] = {"now": None if status.current is None else spec.to_json(status.current)}
    tables = [t for t in fetching_tables(flow) if t in shown]
    if tables:
        with svc.db.connect().execution_options(readonly=True) as conn:
            for key, cell in row_fetch_statuses(conn, svc.registry, flow, rec.id, shown, actor, tables).items():
                spec = flow.tables[cell.table].spec.fields[cell.column]
                changed[key] = {"now": None if cell.current is None else spec.to_json(cell.current)}
    return {"references": refs, "lookups": lookups, "changed_at_source": changed}
