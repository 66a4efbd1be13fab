"""A transition's effects, run in its own transaction (flow-language-2.md, "Effects of a transition"):

* `set` fills fields of the record itself, after the transition's checks (`require`, `when`) passed and
  before what is computed from them; it is part of the step's change and history.
* `create` makes a record in another flow, under that flow's rules (types, required fields, patterns,
  unique values, references the acting person may see), entering its first state with the usual
  assignment and SLA clock; `update` changes the record a reference field names, under its flow's
  field rules. Both run after the record's own writes, in the same transaction: an effect that fails
  refuses the transition (EffectFailed, with the reason in the reader's words) and nothing is written,
  neither here nor there.

Each effect leaves a history row on both records: "created 回款任务 #12 …" on this one, "created by
销售订单 SO-000001 (已发货)" on the other. The people's rights to create or edit in the other flow are not
asked: the flow's author decided, in the file, that this transition does it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.language.compiled_effects import EffectValue
from engine.language.expressions import EvaluationError
from engine.language.flow import CompiledFlow
from engine.language.spec import TransitionSpec
from engine.records.actor import Actor
from engine.records.errors import TransitionNotAllowed, WorkflowError
from engine.records.refusal_words import field_title, flow_title, transition_title
from forms.messages import Message

if TYPE_CHECKING:
    from engine.records.records import Records
    from engine.records.transitions import Refusal
    from engine.storage.executor import WriteTransaction
    from engine.storage.registry import LiveFlow


class EffectFailed(TransitionNotAllowed):
    """An effect of the transition cannot be carried out; the transition is refused and nothing written."""

    code = "effect_failed"


def _context(flow: CompiledFlow, values: Mapping[str, Any], actor: Actor, now: datetime, record_id: int) -> dict[str, Any]:
    from engine.records.transitions import expression_context

    ctx = expression_context(values, actor, now, flow)
    ctx["id"] = record_id
    return ctx


def _refusal(flow: CompiledFlow, t: TransitionSpec, name: str, reason: Message) -> Refusal:
    from engine.records.transitions import Refusal

    err = EffectFailed(Message("effect_failed", "'{t}': {reason}", t=transition_title(flow, t, name), reason=reason))
    return Refusal(reason, err)


def set_fields(flow: CompiledFlow, t: TransitionSpec, name: str, values: dict[str, Any], actor: Actor,
               now: datetime, record_id: int) -> Refusal | None:
    """Fill `values` (in place) with the fields transition `name` sets; the refusal when one cannot be set."""
    effects = flow.effects.get(name)
    if effects is None:
        return None
    ctx = _context(flow, values, actor, now, record_id)
    for field, source in effects.set.items():
        f = flow.fields[field]
        try:
            values[field] = f.coerce(source.evaluate(ctx), tz=flow.timezone)
        except (EvaluationError, ValueError, TypeError) as exc:
            detail = getattr(exc, "message", None) or "the value cannot be worked out"
            return _refusal(flow, t, name, Message("effect_set_failed", "{field} cannot be set: {detail}",
                                                   field=field_title(flow, field), detail=detail))
    return None


def _evaluate(flow: CompiledFlow, t: TransitionSpec, name: str, values: Mapping[str, EffectValue],
              ctx: Mapping[str, Any], target: CompiledFlow) -> dict[str, Any]:
    out = {}
    for field, source in values.items():
        try:
            out[field] = source.evaluate(ctx)
        except EvaluationError:
            raise _refusal(flow, t, name, Message(
                "effect_value_failed", "the value for {field} of the {flow} cannot be worked out",
                field=field_title(target, field), flow=flow_title(target))).error from None
    return out


def _reason(exc: WorkflowError) -> str:
    return exc.message if isinstance(exc.message, str) else str(exc)


def run_effects(records: Records, tx: WriteTransaction, live: LiveFlow, record_id: int, state: str,
                values: Mapping[str, Any], actor: Actor, now: datetime, name: str) -> None:
    """The `create` and `update` effects of transition `name`, after the record's own writes, in `tx`
    (raises EffectFailed: the caller's transaction then rolls everything back)."""
    from engine.records.records import Records as _Records, _history_row, insert_history
    from engine.storage.plain import JoinedExecutor

    flow = live.flow
    effects = flow.effects.get(name)
    if effects is None or not effects.after_move:
        return
    t = flow.spec.transitions[name]
    joined = records.using(JoinedExecutor(tx))
    ctx = _context(flow, values, actor, now, record_id)
    title = _Records.title_of(flow, values, record_id, state)
    source = {"flow": flow.name, "id": record_id, "title": title, "transition": name}

    def note(on_flow: str, on_id: int, action: str, about: dict[str, Any]) -> None:
        tx.insert(insert_history, _history_row(flow=on_flow, record_id=on_id, at=now, actor_id=actor.id, action=action,
                                               transition=name if on_flow == flow.name else None,
                                               changes={"_effect": about}, revision=live.revision,
                                               on_behalf_of=actor.on_behalf_of))

    for target_name, given in effects.create:
        target = records.registry.get(target_name).flow
        data = _evaluate(flow, t, name, given, ctx, target)
        try:
            made = joined.create(target_name, actor, data, now=now, by_engine=True)
        except WorkflowError as exc:
            raise _refusal(flow, t, name, Message("effect_create_failed", "the {flow} it creates is not valid: {reason}",
                                                  flow=flow_title(target), reason=_reason(exc))).error from None
        note(flow.name, record_id, "effect_create", {"flow": target_name, "id": made.id, "title": made.title})
        note(target_name, made.id, "created_by", source)
    for ref_name, given in effects.update:
        target_id = values.get(ref_name)
        if target_id is None:
            continue  # an empty reference names no record: nothing to change
        ref = flow.fields[ref_name]
        target_name = str(getattr(ref, "flow", ""))
        target = records.registry.get(target_name).flow
        data = _evaluate(flow, t, name, given, ctx, target)
        try:
            changed = joined.system_edit(target_name, int(target_id), actor, data, now=now)
        except WorkflowError as exc:
            raise _refusal(flow, t, name, Message("effect_update_failed", "the {flow} it changes would not be valid: {reason}",
                                                  flow=flow_title(target), reason=_reason(exc))).error from None
        note(flow.name, record_id, "effect_update", {"flow": target_name, "id": changed.id, "title": changed.title})
        note(target_name, changed.id, "updated_by", source)
