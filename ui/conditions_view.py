"""Conditional fields on the pages: which inputs are shown and which are marked required.

The record page and the new-record form render every field a condition could show, with the
`hidden` attribute on those hidden now, so that the live preview (ui/routes/records.py `/preview`,
the same htmx request that recomputes computed fields) can show and hide them without a reload:
its answer carries `#field-conditions` (records/_conditions.html), whose data attributes app.js
applies to the fields marked `data-cond`. Visibility and requirement come from the engine's own
evaluation (engine/records/conditions.py), with the values typed so far; nothing is saved.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.conditions import NO_CONDITIONS, FieldStates, field_states
from engine.records.transitions import conditions_context
from forms import FieldValueError
from ui.formview import FieldView, Posted


@dataclass(frozen=True)
class ConditionsView:
    """What `#field-conditions` says: the fields hidden now and the conditional fields required now."""

    hidden: tuple[str, ...]
    required: tuple[str, ...]


def states_for(flow: CompiledFlow, values: Mapping[str, Any], actor: Actor, now: datetime) -> FieldStates:
    """The conditions evaluated for the values on the page (computed fields computed, nothing saved)."""
    if not flow.conditions:
        return NO_CONDITIONS
    return field_states(flow, conditions_context(flow, actor, now)(values))


def apply_conditions(flow: CompiledFlow, fields: list[FieldView], states: FieldStates) -> ConditionsView | None:
    """Mark `fields` (in place) as the conditions say; None when the flow has no conditions."""
    if not flow.conditions:
        return None
    required: list[str] = []
    for view in fields:
        f = flow.fields.get(view.name)  # a lookup (shown beside its reference) is no field of the flow's
        if f is None or not (f.show_if or f.required_if):
            continue
        view.conditional = True
        view.shown = view.name not in states.hidden
        view.may_require = view.editable and bool(f.required or f.required_if)
        view.required = view.may_require and view.shown and (f.required or view.name in states.required)
        if view.required:
            required.append(view.name)
    return ConditionsView(tuple(sorted(states.hidden)), tuple(required))


def typed_values(flow: CompiledFlow, typed: Mapping[str, list[str]] | None) -> dict[str, Any]:
    """The values a form that came back with errors shows, as far as they parse (its fields are shown
    or hidden for what the user typed, not for what is stored)."""
    out: dict[str, Any] = {}
    for name, strings in (typed or {}).items():
        try:
            out[name] = flow.fields[name].parse_form(strings, tz=flow.timezone)
        except FieldValueError:
            continue
    return out


def forget_hidden_errors(flow: CompiledFlow, posted: Posted, stored: Mapping[str, Any], actor: Actor,
                         now: datetime) -> None:
    """Forget the parse errors of fields the posted values hide: their input was not shown, and what it
    holds is not written anyway (the engine ignores a value sent for a hidden field)."""
    if not flow.conditions or not posted.errors:
        return
    hidden = states_for(flow, {**stored, **posted.values}, actor, now).hidden
    for name in hidden & posted.errors.keys():
        del posted.errors[name]
