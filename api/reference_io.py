"""References in API answers: the referenced records' titles and the lookups of one record."""
from __future__ import annotations

from typing import Any

from api.services import ApiServices
from engine.records.actor import Actor
from engine.records.records import Record
from engine.records.references import lookup_spec, lookup_values, reference_fields, shown_targets


def reference_parts(svc: ApiServices, rec: Record, actor: Actor) -> dict[str, Any]:
    """`references` (field → {id, title, flow} of a target the reader may see, else null) and `lookups`
    (lookup → the live value, null when the target is empty or hidden from the reader) of a record."""
    flow = svc.registry.get(rec.flow).flow
    if not reference_fields(flow):
        return {}
    hidden = flow.hidden_fields(rec.state)
    targets = shown_targets(svc.db, svc.registry, flow, {k: v for k, v in rec.values.items() if k not in hidden}, actor)
    refs = {n: (None if t is None else {"flow": t.flow, "id": t.id, "title": t.title})
            for n, t in targets.items() if n not in hidden}
    lookups: dict[str, Any] = {}
    for name, value in lookup_values(flow, targets).items():
        spec = lookup_spec(svc.registry, flow, name)
        lookups[name] = None if value is None or spec is None else spec.to_json(value)
    return {"references": refs, "lookups": lookups}
