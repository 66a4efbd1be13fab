"""Transitions, roles and permissions: what changes for the people who work on the records.

These changes touch no stored value; the plan lists them so that nobody is
surprised by a button that disappeared or an inbox that filled up.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from forms.local_text import pick
from forms.message_parts import Joined, Label
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.evolve.effects_plan import without_effects
from engine.language.spec import StateSpec, TransitionSpec

_TRANSITION_KEYS = {
    "from_": Message("plan.key.from", "source states"), "to": Message("plan.key.to", "target state"),
    "by": Message("plan.key.by", "who may fire it"), "when": Message("plan.key.when", "condition"),
    "require": Message("plan.key.require", "required fields"), "comment": Message("plan.key.comment", "comment"),
    "title": Message("plan.key.title", "label"), "confirm": Message("plan.key.confirm", "confirmation")}
_STATE_KEYS = {
    "owner": Message("plan.key.owner", "owner"), "assign": Message("plan.key.assign", "assignment"),
    "edit": Message("plan.key.edit", "editable fields"), "edit_by": Message("plan.key.edit_by", "who may edit"),
    "hide": Message("plan.key.hide", "hidden fields"), "final": Message("plan.key.final", "final"),
    "pause_sla": Message("plan.key.pause_sla", "pauses the clock"), "title": Message("plan.key.title", "label")}
_FLOW_KEYS = {
    "create_by": Message("plan.key.create_by", "who may create records"),
    "visibility": Message("plan.key.visibility", "who may read records"),
    "initial": Message("plan.key.initial", "the state new records start in"),
    "record_title": Message("plan.key.record_title", "how a record is named"),
    "title": Message("plan.key.flow_title", "the flow's title")}
# Keys whose values name states, roles or fields: a page shows their titles.
_STATES = {"from_", "to", "initial"}
_ROLES = {"by", "owner", "edit_by", "create_by"}
_FIELDS = {"require", "edit", "hide"}
_TEXTS = {"title"}


def _show(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "model_dump"):
        dumped = {k: v for k, v in value.model_dump().items() if v is not None}
        return ", ".join(f"{k} {v}" for k, v in dumped.items())
    return str(value)


class _Named:
    """Names of states, roles and fields in a plan sentence: titles on a page, the names as written elsewhere."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx

    def one(self, attr: str, name: Any) -> Any:
        if not isinstance(name, str):
            return str(name)
        label = (self.ctx.state_label if attr in _STATES else self.ctx.role_label if attr in _ROLES
                 else self.ctx.field_label if attr in _FIELDS else None)
        if label is None:
            return name
        found = label(name)
        if found.words is None and self.ctx.old is not None:
            found = label(name, self.ctx.old)
        return Label(found.name, found.words, found.fallback, plain=name)

    def value(self, attr: str, value: Any) -> Any:
        if value is None or value == []:
            return Message("plan.none", "none")
        if attr in _TEXTS and isinstance(value, (str, dict)):
            return Label(_show(value), value, self.ctx.flow.spec.language, plain=_show(value))
        if isinstance(value, list) and attr in _STATES | _ROLES | _FIELDS:
            return Joined.from_parts(self.one(attr, v) for v in value)
        if isinstance(value, str) and attr in _STATES | _ROLES | _FIELDS:
            return self.one(attr, value)
        return _show(value)

    def list_change(self, attr: str, a: list[Any], b: list[Any]) -> Any:
        added = [self.one(attr, x) for x in b if x not in a]
        removed = [self.one(attr, x) for x in a if x not in b]
        parts = ([Message("plan.list_added", "+ {items}", items=Joined.from_parts(added))] if added else []) + (
            [Message("plan.list_removed", "− {items}", items=Joined.from_parts(removed))] if removed else [])
        if parts:
            return Joined.from_parts(parts, " ")
        return Message("plan.list_order", "{before} → {after} (order)", before=self.value(attr, a), after=self.value(attr, b))

    def differences(self, old: Any, new: Any, keys: dict[str, Message]) -> list[Message]:
        out = []
        for attr, words in keys.items():
            a, b = getattr(old, attr), getattr(new, attr)
            if a == b:
                continue
            if isinstance(a, list) and isinstance(b, list):
                out.append(Message("plan.list_difference", "{what}: {change}", what=words,
                                   change=self.list_change(attr, a, b)))
            else:
                out.append(Message("plan.difference", "{what}: {before} → {after}", what=words,
                                   before=self.value(attr, a), after=self.value(attr, b)))
        return out


def plan_rules(ctx: PlanContext) -> None:
    if ctx.old is None:
        return
    old, new = ctx.old.spec, ctx.flow.spec
    named = _Named(ctx)
    _transitions(ctx, named, old.transitions, new.transitions)
    for name in new.roles.keys() - old.roles.keys():
        ctx.change("rules", "role_added", name,
                   Message("plan.role_added", "New role {role}", role=replace(ctx.role_label(name), plain=f"'{name}'")))
    for name in old.roles.keys() - new.roles.keys():
        ctx.change("rules", "role_removed", name,
                   Message("plan.role_removed", "Role {role} is no longer used by this flow (users keep the grant; it "
                           "gives nothing here)", role=replace(ctx.role_label(name, ctx.old), plain=f"'{name}'")))
    _states(ctx, named, old.states, new.states)
    for attr, words in _FLOW_KEYS.items():
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            ctx.change("rules", f"flow_{attr}", attr,
                       Message("plan.flow_changed", "Changed {what}: {before} → {after}", what=words,
                               before=named.value(attr, a), after=named.value(attr, b)))
    if old.reminders != new.reminders:
        ctx.change("rules", "reminders", "reminders",
                   Message("plan.reminders", "Reminder rules change ({before} → {after} rules)",
                           before=len(old.reminders), after=len(new.reminders)))


def _transitions(ctx: PlanContext, named: _Named, old: dict[str, TransitionSpec], new: dict[str, TransitionSpec]) -> None:
    for name, t in new.items():
        label = Label(name, t.title, ctx.flow.spec.language)
        if name not in old:
            ctx.change("rules", "transition_added", name,
                       Message("plan.transition_added", "New transition {transition}: {sources} → {target}, by {roles}",
                               transition=label, sources=named.value("from_", t.from_), target=named.one("to", t.to),
                               roles=named.value("by", t.by)))
        elif without_effects(old[name]) != without_effects(t):  # effects: engine/evolve/effects_plan.py
            ctx.change("rules", "transition_changed", name,
                       Message("plan.transition_changed", "Transition {transition} changes: {what}", transition=label,
                               what=Joined.from_parts(named.differences(old[name], t, _TRANSITION_KEYS), "; ")))
    for name, t in old.items():
        if name not in new:
            language = ctx.old.spec.language if ctx.old else None
            ctx.change("rules", "transition_removed", name,
                       Message("plan.transition_removed", "Transition {transition} is removed: its button disappears",
                               transition=Label(name, t.title, language,
                                                plain=f"'{pick(t.title, None, language) or name}' ({name})")))


def _states(ctx: PlanContext, named: _Named, old: dict[str, StateSpec], new: dict[str, StateSpec]) -> None:
    for name, st in new.items():
        before = old.get(ctx.renamed_states.get(name, name))
        if before is None:
            continue
        diffs = named.differences(before, st, _STATE_KEYS)
        if diffs:
            ctx.change("rules", "state_changed", name,
                       Message("plan.state_changed", "In state {state}: {what}", state=ctx.state_label(name),
                               what=Joined.from_parts(diffs, "; ")))
