"""Conditional fields at run time: which fields are shown and which are required, for given values.

Every create, edit and transition (engine/records/transitions.py) asks this module, with the
record's values as they will be after the step (the submitted values applied, computed fields
computed), which fields their `show_if` hides and which their `required_if` requires:

* A field hidden by its condition is not required: neither `required`, nor `required_if`, nor a
  transition's `require` asks for it.
* A value submitted for a hidden field is not written: it is ignored silently and the stored value
  (on a create: the field's default, or empty) stays as it is. Forms post the inputs of fields the
  page has just hidden, so refusing them would refuse ordinary posts; the API does the same, and its
  schema says so in the field's description.
* A hidden field counts as empty for the conditions that read it (`show_if` of another field,
  `required_if`), so a chain of conditions hides all that hangs on a hidden field. The loader
  refuses `show_if` conditions that depend on each other in a cycle, so there is always an order.
* A condition that cannot be evaluated (an empty number in arithmetic) is false: the field is
  hidden (`show_if`) or not required (`required_if`).
* `required_if` that holds asks for the field on a create (every field the creator may set), on an
  edit (the fields the edit sends, as `required` does) and on a transition (every field its state
  lets people edit, so the step cannot leave it empty; a field nobody may edit there never blocks).

Nothing here touches the database; the caller hands in how to build the expression context.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.language.expressions import EvaluationError
from engine.language.flow import CompiledFlow
from engine.records.refusal_words import field_title
from forms.messages import Message

ContextOf = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Field values → the context expressions see (the values with `user`, `now`, `today`; computed fields filled)."""


@dataclass(frozen=True, slots=True)
class FieldStates:
    """What the conditions say for one set of values: the fields hidden, and the shown fields required."""

    hidden: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


NO_CONDITIONS = FieldStates()


def field_states(flow: CompiledFlow, context: Mapping[str, Any]) -> FieldStates:
    """Evaluate every `show_if` (in dependency order) and `required_if` against `context`."""
    conditions = flow.conditions
    if not conditions:
        return NO_CONDITIONS
    ctx = dict(context)
    hidden: set[str] = set()
    for name in conditions.show_order:
        if not _holds(conditions.show_if[name], ctx):
            hidden.add(name)
            ctx[name] = None  # a hidden field counts as empty for the conditions that read it
    required = {name for name, expr in conditions.required_if.items() if name not in hidden and _holds(expr, ctx)}
    return FieldStates(frozenset(hidden), frozenset(required))


def _holds(expr: Any, ctx: Mapping[str, Any]) -> bool:
    try:
        return bool(expr.evaluate(ctx))
    except EvaluationError:
        return False  # cannot be evaluated yet (an empty value): false, as for `when`


def settle(flow: CompiledFlow, before: Mapping[str, Any], after: dict[str, Any], given: dict[str, Any],
           context_of: ContextOf) -> FieldStates:
    """The field states of `after` (the values after the step); a submitted value of a field they hide
    is dropped from `given` and `after` gets the value it had `before` back (it is not written)."""
    if not flow.conditions:
        return NO_CONDITIONS
    states = field_states(flow, context_of(after))
    for name in states.hidden & given.keys():
        del given[name]
        after[name] = before.get(name)
    return states


def shown(names: Iterable[str], states: FieldStates) -> list[str]:
    """`names` without the fields the conditions hide (those are never required)."""
    return [n for n in names if n not in states.hidden]


def required_message(flow: CompiledFlow, name: str) -> Message:
    """The error of a field its `required_if` asks for but that is empty (no expression in it)."""
    return Message("required_if", "fill in '{field}': it is required with the values given", field=field_title(flow, name))


def required_if_errors(flow: CompiledFlow, values: Mapping[str, Any], names: Iterable[str], states: FieldStates,
                       errors: dict[str, str]) -> None:
    """Note each of `names` that its `required_if` requires and that is empty in `values`."""
    for name in names:
        if name in states.required and name not in errors and flow.fields[name].is_empty(values.get(name)):
            errors[name] = required_message(flow, name)


def missing_for_transition(flow: CompiledFlow, require: Iterable[str], values: Mapping[str, Any], state: str | None,
                           context_of: ContextOf) -> list[str]:
    """The fields a transition leaving `state` needs filled that are empty in `values`: its `require`
    list and the fields of the state's `edit` list that `required_if` requires, hidden ones left out.
    (`state` None: the record's state is not known; every field `required_if` requires counts.)"""
    fields = flow.fields
    if not flow.conditions:
        return [f for f in require if fields[f].is_empty(values.get(f))]
    states = field_states(flow, context_of(values))
    wanted = list(dict.fromkeys(require))
    editable = flow.state(state).edit if state is not None else list(fields)
    wanted += [f for f in editable if f in states.required and f not in wanted]
    return [f for f in shown(wanted, states) if fields[f].is_empty(values.get(f))]
