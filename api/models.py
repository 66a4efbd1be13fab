"""Per-flow typed models, generated from the flow file and cached per flow revision.

Each field's JSON Schema is the field type's own `value_schema()` (titles,
types, enums, ranges, patterns), so the OpenAPI document, the JSON Schema
endpoint and the engine's validation describe the same values. Python names
are prefixed (`f_<field>`) and the JSON names are aliases, so a field called
`copy` or `schema` cannot clash with pydantic's own attributes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from api.body import MAX_VERSION
from api.condition_docs import field_description
from api.schemas import RecordBase
from forms.local_text import pick
from engine.records.access import create_fields
from engine.language.flow import CompiledFlow
from engine.records.records import MAX_COMMENT
from engine.storage.registry import LiveFlow
from forms import FieldSpecBase


@dataclass(frozen=True)
class FlowModels:
    camel: str
    create_values: type[BaseModel]
    edit_values: type[BaseModel]
    values: type[BaseModel]
    create_request: type[BaseModel]
    edit_request: type[BaseModel]
    transition_request: type[BaseModel]
    record: type[BaseModel]
    page: type[BaseModel]


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Flow"


def _value_schema(f: FieldSpecBase, nullable: bool) -> dict[str, Any]:
    core = dict(f.value_schema())
    meta: dict[str, Any] = {k: core.pop(k) for k in ("title", "description", "default") if k in core}
    if core.pop("readOnly", None) is not None or f.compute:
        meta["readOnly"] = True
    if not nullable:
        return {**meta, **core}
    return {**meta, "anyOf": [core, {"type": "null"}]}


def _values_model(model_name: str, title: str, flow: CompiledFlow, names: list[str], *,
                  required: frozenset[str] = frozenset()) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for name in names:
        f = flow.fields[name]
        is_required = name in required
        schema = _value_schema(f, nullable=not is_required)
        annotation = Annotated[Any, WithJsonSchema(schema)]
        title, about = pick(f.title, None, flow.spec.language) or name, field_description(f, flow.spec.language)
        info = Field(alias=name, title=title, description=about) if is_required else \
            Field(default=None, alias=name, title=title, description=about)
        definitions[f"f_{name}"] = (annotation, info)
    return create_model(model_name, __config__=ConfigDict(extra="forbid", title=title, populate_by_name=True),
                        **definitions)


def reference_parts_fields(flow: CompiledFlow) -> dict[str, Any]:
    """The `references`, `lookups` and `changed_at_source` of one record's answer (api/reference_io.py), for a flow with references."""
    if not any(f.type == "reference" for f in flow.fields.values()) and not flow.has_row_references:
        return {}
    return {
        "references": (dict[str, dict[str, Any] | None] | None, Field(
            default=None, description="Reference field → {flow, id, title} of its target, null when empty or hidden "
                                      "from you (one record's answer only)")),
        "lookups": (dict[str, Any] | None, Field(
            default=None, description="Lookup → the referenced record's value now (one record's answer only)")),
        "changed_at_source": (dict[str, dict[str, Any]] | None, Field(
            default=None, description="Fetched values whose source record holds another value now than the one "
                                      "copied: a field, or a line-item cell keyed like `lines[2].unit_price` (the row "
                                      "from 0), → {now: the source's value now}; a re-fetch is an ordinary edit "
                                      "(one record's answer only)")),
    }


def build_models(flow: CompiledFlow) -> FlowModels:
    c = camel(flow.name)
    label = pick(flow.spec.title, None, flow.spec.language) or flow.name
    settable = create_fields(flow)
    creatable = [n for n in flow.fields if n in settable]
    required = frozenset(n for n in creatable if flow.fields[n].required and flow.fields[n].default is None
                         and not flow.fields[n].show_if)  # a field hidden by its condition is not required
    editable = [n for n in flow.fields if n not in flow.compute]
    create_values = _values_model(f"{c}CreateValues", f"{label}: values of a new record", flow, creatable,
                                  required=required)
    edit_values = _values_model(f"{c}EditValues", f"{label}: values to change", flow, editable)
    values = _values_model(f"{c}Values", f"{label}: values", flow, list(flow.fields))
    strict = ConfigDict(extra="forbid")
    version = (int | None, Field(default=None, ge=1, le=MAX_VERSION,
                                 description="The version you saw; or send If-Match"))
    comment = (str | None, Field(default=None, max_length=MAX_COMMENT))
    create_request = create_model(f"{c}CreateRequest", __config__=strict, values=(create_values, ...))
    edit_request = create_model(f"{c}EditRequest", __config__=strict, version=version,
                                values=(edit_values, Field(default_factory=dict)), comment=comment)
    transition_request = create_model(f"{c}TransitionRequest", __config__=strict, version=version,
                                      values=(edit_values | None, None), comment=comment)
    states = tuple(flow.spec.states)
    record = create_model(f"{c}Record", __base__=RecordBase,
                          state=(Literal[states], Field(description="Current state")),  # type: ignore[valid-type]
                          values=(values, Field(description="Field values (fields hidden in this state left out)")),
                          **reference_parts_fields(flow))
    page = create_model(f"{c}RecordPage", __config__=strict, items=(list[record], ...),  # type: ignore[valid-type]
                        next=(str | None, Field(description="Cursor of the next page (`after`), null at the end")),
                        limit=(int, ...), sort=(str, ...))
    return FlowModels(c, create_values, edit_values, values, create_request, edit_request, transition_request,
                      record, page)


_lock = threading.Lock()
_cache: dict[tuple[str, int, str], FlowModels] = {}


def models_for(live: LiveFlow) -> FlowModels:
    """The models of a live flow (built once per flow revision)."""
    key = (live.flow.name, live.revision, live.flow.sha256)
    hit = _cache.get(key)
    if hit is None:
        hit = build_models(live.flow)
        with _lock:
            stale = [k for k in _cache if k[0] == key[0] and k != key]
            for k in stale:
                _cache.pop(k, None)
            _cache[key] = hit
    return hit


def record_schema(live: LiveFlow) -> dict[str, Any]:
    """JSON Schema of one record of the flow (what GET .../records/{id} answers)."""
    return models_for(live).record.model_json_schema(mode="serialization")
