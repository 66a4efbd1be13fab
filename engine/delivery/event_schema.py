"""The JSON Schema of an event's payload (version 1), as published in docs/events.schema.json and served
at GET /api/events/schema.json. A receiver validates what it gets against it; tests/events do."""
from __future__ import annotations

from typing import Any

from engine.delivery.events import PAYLOAD_VERSION

SCHEMA_ID = "https://relayflow.dev/schemas/events/v1.json"

_NAMED = {"type": "object", "properties": {"name": {"type": "string"}, "title": {"type": "string"}},
          "required": ["name", "title"], "additionalProperties": False}
_INSTANT = {"type": "string", "format": "date-time"}

PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "Relayflow record event",
    "description": "What a flow's `events:` send to another system: one JSON object per event, POSTed and signed "
                   "(docs/events.md).",
    "type": "object",
    "required": ["version", "id", "type", "occurred_at", "flow", "record", "state", "transition", "sla", "actor",
                 "fields"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": PAYLOAD_VERSION, "description": "The payload's version; a change that could break a "
                                                             "receiver gets a new one"},
        "id": {"type": "string", "format": "uuid", "description": "The event's id: the same on every retry; a "
                                                                 "receiver drops an id it has seen"},
        "type": {"enum": ["create", "edit", "transition", "warn", "breach"]},
        "occurred_at": {**_INSTANT, "description": "When it happened (UTC, ISO 8601); a warning or breach: when it "
                                                    "was due"},
        "flow": {"$ref": "#/$defs/named"},
        "record": {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
                   "required": ["id", "title"], "additionalProperties": False},
        "state": {"$ref": "#/$defs/named", "description": "The record's state after the event"},
        "transition": {"description": "A transition's name, title and states; null for other events",
                       "oneOf": [{"type": "null"}, {
                           "type": "object", "required": ["name", "title", "from", "to"], "additionalProperties": False,
                           "properties": {"name": {"type": "string"}, "title": {"type": "string"},
                                          "from": {"$ref": "#/$defs/named"}, "to": {"$ref": "#/$defs/named"}}}]},
        "sla": {"description": "A warning's or breach's stage and due instant; null for other events",
                "oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["state", "due_at"], "additionalProperties": False,
                    "properties": {"state": {"$ref": "#/$defs/named"},
                                   "due_at": {"oneOf": [{"type": "null"}, _INSTANT]}}}]},
        "actor": {"description": "Who did it; null for what the system did (warnings, breaches)",
                  "oneOf": [{"type": "null"}, {"$ref": "#/$defs/person"}]},
        "fields": {"type": "object", "description": "The fields the `events:` entry lists, by their ids",
                   "additionalProperties": {"$ref": "#/$defs/value"}},
    },
    "$defs": {
        "named": _NAMED,
        "person": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                   "required": ["id", "name"], "additionalProperties": False},
        "reference": {"type": "object", "description": "A record of another flow",
                      "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
                      "required": ["id", "title"], "additionalProperties": False},
        "scalar": {"description": "text, choice id, e-mail, phone, URL; a number as a string (decimal, money: "
                                  "exact); integer; boolean; a date (YYYY-MM-DD) or instant (ISO 8601) as a string",
                   "type": ["string", "integer", "boolean", "null"]},
        "cell": {"oneOf": [{"$ref": "#/$defs/scalar"}, {"$ref": "#/$defs/reference"}, {"$ref": "#/$defs/person"},
                           {"type": "array", "items": {"type": "string"},
                            "description": "multiple choice ids, file ids"}]},
        "value": {"oneOf": [{"$ref": "#/$defs/cell"},
                            {"type": "array", "description": "A table field's rows (line items)",
                             "items": {"type": "object", "additionalProperties": {"$ref": "#/$defs/cell"}}}]},
    },
}
