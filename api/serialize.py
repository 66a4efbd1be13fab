"""Records, history and inbox items as JSON-ready dicts (the shapes the OpenAPI models describe)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.records.owned_fields import owned_editable_fields
from engine.records.actor import Actor
from engine.language.flow import CompiledFlow
from engine.records.inbox import InboxItem
from engine.records.records import Record
from api.reader_language import api_text


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def record_json(flow: CompiledFlow, rec: Record, actor: Actor) -> dict[str, Any]:
    hidden = flow.hidden_fields(rec.state)
    values = {n: (None if v is None else flow.fields[n].to_json(v)) for n, v in rec.values.items() if n not in hidden}
    editable = owned_editable_fields(flow, rec.state, rec.assignee_id, actor)  # a non-assignee's fields are read-only
    s = rec.system
    return {
        "flow": flow.name, "id": rec.id, "state": rec.state, "state_title": api_text(flow.state(rec.state).title, flow) or rec.state,
        "version": rec.version, "revision": s.get("revision"), "title": rec.title, "values": values,
        "editable": [n for n in flow.fields if n in editable],
        "assignee_id": s.get("assignee_id"), "assignee_role": s.get("assignee_role"),
        "created_by": s.get("created_by"), "created_at": iso(s.get("created_at")),
        "updated_by": s.get("updated_by"), "updated_at": iso(s.get("updated_at")),
        "sla": {"state": s.get("sla_state"), "status": s.get("sla_status"), "due_at": iso(s.get("sla_due_at")),
                "warn_at": iso(s.get("sla_warn_at")), "paused": s.get("sla_paused_at") is not None},
    }


def etag(version: int) -> str:
    return f'"{version}"'


def history_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry["id"], "at": iso(entry["at"]), "actor_id": entry.get("actor_id"),
        "actor_name": entry.get("actor_name"), "action": entry["action"], "transition": entry.get("transition"),
        "from_state": entry.get("from_state"), "to_state": entry.get("to_state"),
        "changes": entry.get("changes") or {}, "comment": entry.get("comment"), "revision": entry.get("revision"),
        "on_behalf_of": entry.get("on_behalf_of"), "on_behalf_of_name": entry.get("on_behalf_of_name"),
    }


def inbox_json(item: InboxItem, flow: CompiledFlow | None = None) -> dict[str, Any]:
    """`flow`: the item's, whose language is the fallback of its titles."""
    return {
        "flow": item.flow, "flow_title": api_text(item.flow_title, flow), "record_id": item.record_id,
        "state": item.state, "state_title": api_text(item.state_title, flow), "title": item.title, "assignee_id": item.assignee_id,
        "assignee_role": item.assignee_role, "sla_status": item.sla_status, "sla_due_at": iso(item.sla_due_at),
        "sla_warn_at": iso(item.sla_warn_at), "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at), "version": item.version,
        "on_behalf_of": item.on_behalf_of, "on_behalf_of_name": item.on_behalf_of_name,
        "task": item.task, "urged": item.urged,
        "key_values": {n: (None if v is None or flow is None else flow.fields[n].to_json(v)) for n, v in item.key_values},
    }
