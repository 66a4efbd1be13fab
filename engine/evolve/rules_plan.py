"""Transitions, roles and permissions: what changes for the people who work on the records.

These changes touch no stored value; the plan lists them so that nobody is
surprised by a button that disappeared or an inbox that filled up.
"""
from __future__ import annotations

from typing import Any

from forms.local_text import pick
from engine.evolve.context import PlanContext
from engine.language.spec import StateSpec, TransitionSpec

_TRANSITION_KEYS = {"from_": "from", "to": "to", "by": "who may fire it", "when": "condition",
                    "require": "required fields", "comment": "comment", "title": "label", "confirm": "confirmation"}
_STATE_KEYS = {"owner": "owner", "assign": "assignment", "edit": "editable fields", "edit_by": "who may edit",
               "hide": "hidden fields", "final": "final", "pause_sla": "pauses the clock", "title": "label"}


def _show(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "model_dump"):
        dumped = {k: v for k, v in value.model_dump().items() if v is not None}
        return ", ".join(f"{k} {v}" for k, v in dumped.items())
    return str(value)


def _list_change(a: list[Any], b: list[Any]) -> str:
    added = [str(x) for x in b if x not in a]
    removed = [str(x) for x in a if x not in b]
    parts = ([f"+ {', '.join(added)}"] if added else []) + ([f"− {', '.join(removed)}"] if removed else [])
    return " ".join(parts) if parts else f"{_show(a)} → {_show(b)} (order)"


def _differences(old: Any, new: Any, keys: dict[str, str]) -> list[str]:
    out = []
    for attr, words in keys.items():
        a, b = getattr(old, attr), getattr(new, attr)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            out.append(f"{words}: {_list_change(a, b)}")
        else:
            out.append(f"{words}: {_show(a)} → {_show(b)}")
    return out


def plan_rules(ctx: PlanContext) -> None:
    if ctx.old is None:
        return
    old, new = ctx.old.spec, ctx.flow.spec
    _transitions(ctx, old.transitions, new.transitions)
    for name in new.roles.keys() - old.roles.keys():
        ctx.change("rules", "role_added", name, f"New role '{name}'")
    for name in old.roles.keys() - new.roles.keys():
        ctx.change("rules", "role_removed", name,
                   f"Role '{name}' is no longer used by this flow (users keep the grant; it gives nothing here)")
    _states(ctx, old.states, new.states)
    for attr, words in (("create_by", "who may create records"), ("visibility", "who may read records"),
                        ("initial", "the state new records start in"), ("record_title", "how a record is named"),
                        ("title", "the flow's title")):
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            ctx.change("rules", f"flow_{attr}", attr, f"Changed {words}: {_show(a)} → {_show(b)}")
    if old.reminders != new.reminders:
        ctx.change("rules", "reminders", "reminders",
                   f"Reminder rules change ({len(old.reminders)} → {len(new.reminders)} rules)")


def _transitions(ctx: PlanContext, old: dict[str, TransitionSpec], new: dict[str, TransitionSpec]) -> None:
    for name, t in new.items():
        title = pick(t.title, None, ctx.flow.spec.language)
        label = f"'{title}' ({name})" if title and title != name else f"'{name}'"
        if name not in old:
            ctx.change("rules", "transition_added", name,
                       f"New transition {label}: {', '.join(t.from_)} → {t.to}, by {', '.join(t.by)}")
        elif old[name] != t:
            ctx.change("rules", "transition_changed", name,
                       f"Transition {label} changes: " + "; ".join(_differences(old[name], t, _TRANSITION_KEYS)))
    for name, t in old.items():
        if name not in new:
            ctx.change("rules", "transition_removed", name,
                       f"Transition '{pick(t.title, None, ctx.old.spec.language) if ctx.old else t.title or name}' ({name}) "
                       "is removed: its button disappears")


def _states(ctx: PlanContext, old: dict[str, StateSpec], new: dict[str, StateSpec]) -> None:
    for name, st in new.items():
        before = old.get(ctx.renamed_states.get(name, name))
        if before is None:
            continue
        diffs = _differences(before, st, _STATE_KEYS)
        if diffs:
            ctx.change("rules", "state_changed", name, f"In state {ctx.state_label(name)}: " + "; ".join(diffs))
