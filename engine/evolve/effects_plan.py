"""The effects of transitions in a reload plan: what a transition newly sets, creates or updates, and what it stops doing.

Effects touch no stored value when a flow is reloaded (they act on the next firing), so every change here is
`safe`; the plan lists them because "shipping now also opens a collection task" is news for finance.
Other flows are named by their titles (read from their live revisions), their fields too.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forms.message_parts import Joined, Label
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.language.effects_spec import CreateEffect, UpdateEffect
from engine.language.spec import TransitionSpec
from engine.storage.revisions import read_live

_NO_EFFECTS: dict[str, Any] = {"set": {}, "create": [], "update": []}


def without_effects(t: TransitionSpec) -> TransitionSpec:
    """`t` with no effects (the rest of the plan compares transitions without them)."""
    return t.model_copy(update=_NO_EFFECTS)


class _Others:
    """Titles of the other flows and their fields, from their live revisions (the id when a flow is not live)."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self._specs: dict[str, Any] = {}

    def spec(self, name: str) -> Any:
        if name == self.ctx.flow.name:
            return self.ctx.flow.spec
        if name not in self._specs:
            live = read_live(self.ctx.conn, name)
            try:
                self._specs[name] = live.compile().spec if live is not None else None
            except Exception:  # noqa: BLE001 - a plan names what it can; the flow's own problems show elsewhere
                self._specs[name] = None
        return self._specs[name]

    def flow(self, name: str) -> Label:
        spec = self.spec(name)
        return Label(name, spec.title if spec is not None else None, spec.language if spec is not None else None)

    def fields(self, flow: str, names: list[str]) -> Joined:
        spec = self.spec(flow)
        parts = []
        for n in names:
            f = spec.fields.get(n) if spec is not None else None
            parts.append(Label(n, f.title if f is not None else None, spec.language if spec is not None else None))
        return Joined.from_parts(parts)


def _changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return [n for n in b if n in a and a[n] != b[n]]


def _by_target(effects: list[Any], key: str) -> dict[str, Any]:
    return {getattr(e, key): e for e in effects}


def plan_effects(ctx: PlanContext) -> None:
    old = ctx.old.spec.transitions if ctx.old is not None else {}
    others = _Others(ctx)
    for name, t in ctx.flow.spec.transitions.items():
        before = old.get(name)
        label = Label(name, t.title, ctx.flow.spec.language)
        texts = _set_texts(ctx, before.set if before else {}, t.set)
        texts += _create_texts(ctx, others, before.create if before else [], t.create)
        texts += _update_texts(ctx, others, before.update if before else [], t.update)
        if texts:
            ctx.change("rules", "transition_effects", name,
                       Message("plan.transition_effects", "Transition {transition}: {what}", transition=label,
                               what=Joined.from_parts(texts, "; ")))
    for name, t in old.items():
        if name not in ctx.flow.spec.transitions and (t.create or t.update):
            language = ctx.old.spec.language if ctx.old else None
            flows = Joined.from_parts(others.flow(e.flow) for e in t.create) if t.create else None
            ctx.change("rules", "transition_effects", name,
                       Message("plan.effects_removed", "Transition {transition} is removed with its effects (records it "
                               "created stay)", transition=Label(name, t.title, language)) if flows is None else
                       Message("plan.effects_removed_creates", "Transition {transition} is removed: no more records of "
                               "{flows} are created by it (those it created stay)", transition=Label(name, t.title, language),
                               flows=flows))


def _set_texts(ctx: PlanContext, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Message]:
    out = []
    added = [n for n in b if n not in a]
    removed = [n for n in a if n not in b]
    if added:
        out.append(Message("plan.effect_sets", "now sets {fields}", fields=Joined.from_parts(ctx.field_label(n) for n in added)))
    if removed:
        out.append(Message("plan.effect_no_longer_sets", "no longer sets {fields}",
                           fields=Joined.from_parts(ctx.field_label(n, ctx.old) for n in removed)))
    changed = _changed(a, b)
    if changed:
        out.append(Message("plan.effect_sets_changed", "sets {fields} to other values",
                           fields=Joined.from_parts(ctx.field_label(n) for n in changed)))
    return out


def _create_texts(ctx: PlanContext, others: _Others, a: list[CreateEffect], b: list[CreateEffect]) -> list[Message]:
    out = []
    before, after = _by_target(a, "flow"), _by_target(b, "flow")
    for flow, effect in after.items():
        if flow not in before:
            out.append(Message("plan.effect_creates", "now creates a record of {flow} (with {fields})",
                               flow=others.flow(flow), fields=others.fields(flow, list(effect.values))))
            continue
        changed = _changed(before[flow].values, effect.values) + [n for n in effect.values if n not in before[flow].values]
        gone = [n for n in before[flow].values if n not in effect.values]
        if changed or gone:
            out.append(Message("plan.effect_creates_changed", "fills other values into the new record of {flow}: {fields}",
                               flow=others.flow(flow), fields=others.fields(flow, changed + gone)))
    for flow in before:
        if flow not in after:
            out.append(Message("plan.effect_no_longer_creates", "no longer creates a record of {flow}", flow=others.flow(flow)))
    return out


def _update_texts(ctx: PlanContext, others: _Others, a: list[UpdateEffect], b: list[UpdateEffect]) -> list[Message]:
    out = []
    before, after = _by_target(a, "reference"), _by_target(b, "reference")

    def target(ref: str) -> str:
        f = ctx.flow.fields.get(ref) or (ctx.old.fields.get(ref) if ctx.old is not None else None)
        return str(getattr(f, "flow", "")) if f is not None else ""

    for ref, effect in after.items():
        fields = list(effect.values)
        if ref in before and before[ref].values == effect.values:
            continue
        if ref in before:
            fields = _changed(before[ref].values, effect.values) + [n for n in effect.values if n not in before[ref].values]
        out.append(Message("plan.effect_updates", "updates {fields} of the {flow} in {reference}",
                           fields=others.fields(target(ref), fields or list(effect.values)), flow=others.flow(target(ref)),
                           reference=ctx.field_label(ref)))
    for ref in before:
        if ref not in after:
            out.append(Message("plan.effect_no_longer_updates", "no longer updates the {flow} in {reference}",
                               flow=others.flow(target(ref)), reference=ctx.field_label(ref, ctx.old)))
    return out
