"""JSON Schema of the flow language, for editors (YAML language servers read it).

pydantic describes the long forms; the short forms the loader expands
(`sla: 4h`, `by: clerk`, `assign: creator`, `roles: {sales: 销售}`) are added
here so that an editor accepts what the engine accepts.
"""
from __future__ import annotations

from typing import Any

from engine.language.spec import FlowSpec

_LISTS = {
    "TransitionSpec": ("from", "by", "require"),
    "StateSpec": ("edit", "edit_by", "hide"),
    "ReminderSpec": ("notify", "via", "states"),
    "FlowSpec": ("create_by",),
}


def _one_or_many(prop: dict[str, Any]) -> dict[str, Any]:
    items = prop.get("items") or next((a.get("items") for a in prop.get("anyOf", []) if "items" in a), None)
    if not items:
        return prop
    desc: dict[str, Any] = {k: prop[k] for k in ("description", "title") if k in prop}
    return {**desc, "anyOf": [items, {"type": "array", "items": items}]}


def flow_language_schema() -> dict[str, Any]:
    schema = FlowSpec.model_json_schema(by_alias=True, mode="validation")
    defs = schema.get("$defs", {})
    for model, keys in _LISTS.items():
        props = schema["properties"] if model == "FlowSpec" else defs.get(model, {}).get("properties", {})
        for key in keys:
            if key in props:
                props[key] = _one_or_many(props[key])
    state = defs["StateSpec"]["properties"]
    state["sla"] = {"description": "The clock: a duration (sla: 4h) or {due, warn, clock, calendar}",
                    "anyOf": [{"type": "string"}, {"$ref": "#/$defs/SlaSpec"}, {"type": "null"}]}
    state["assign"] = {"description": "creator | round_robin | least_loaded | {field: a_user_field} "
                                      "| {manager_of: creator or a user field}",
                       "anyOf": [{"enum": ["creator", "round_robin", "least_loaded"]},
                                 {"type": "string", "pattern": "^manager_of:"},
                                 {"type": "object", "properties": {"field": {"type": "string"}},
                                  "required": ["field"], "additionalProperties": False},
                                 {"type": "object", "properties": {"manager_of": {"type": "string"}},
                                  "required": ["manager_of"], "additionalProperties": False},
                                 {"type": "null"}]}
    schema["properties"]["roles"] = {
        "type": "object", "description": "role id → {title} or just the title",
        "additionalProperties": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/RoleSpec"}]}}
    schema["properties"]["visibility"] = {"anyOf": [{"enum": ["all", "roles", "own", "department"]}, {"$ref": "#/$defs/VisibilitySpec"}]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Relayflow flow file"
    return schema
