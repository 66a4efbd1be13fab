"""Deciding an edit or a transition: a plan of what will change, or a refusal saying why not.

Nothing here touches the database. The caller (the apply step, `Records` in
engine/records/records.py) loads the record row, passes in what must be looked up
(`UserCheck`: may this user be put in a user field), and writes the plan:
guarded update, history row, then the work of entering the new state
(engine/records/state_entry.py). The buttons of the record page ask the same
`blockers`, so the reason shown beside a button is the error its firing gives.

A transition is decided in this order (docs/transition-steps.md):
version, state, role, the submitted values (coerced, validated, computed),
required fields, condition, comment, then the entry into the new state.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forms.local_text import Words
from forms.messages import Message
from forms.value_checks import text_problem
from engine.records.actor import Actor
from engine.records.errors import (
    CommentRequired, ConditionFailed, Forbidden, MissingRequired, ReadOnlyField, RecordClosed, StaleVersion,
    UnknownTransition, ValidationFailed, WorkflowError, WrongState,
)
from engine.language.expressions import EvaluationError
from engine.language.flow import CompiledFlow
from engine.language.spec import TransitionSpec
from engine.records.conditions import ContextOf, missing_for_transition, required_if_errors, settle, shown
from engine.records.refusal_words import (
    condition_refusal, field_title, field_titles, flow_title, invalid_values, role_titles, state_title, transition_title,
)
from engine.records.state_entry import StateEntry, plan_entry
from engine.records.table_rows import compute_rows, reads_missing_table
from forms import FieldValueError, TableValueError

MAX_COMMENT = 10_000

UserCheck = Callable[[int, str | None], str | None]
"""(user id, the role the field asks for) → why that user cannot be put there, or None."""

OwnerCheck = Callable[[str, "int | None", frozenset[str]], "Refusal | None"]
"""(state, the record's assignee, the actor's roles that allow this act) → the refusal of someone acting on
a task assigned to another person, or None (engine/records/ownership.py)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an edit or a transition cannot happen: a short reason (what a button shows) and the typed
    error the attempt answers (its class is the kind: Forbidden, ConditionFailed, MissingRequired, ...)."""

    reason: str
    error: WorkflowError

    @property
    def code(self) -> str:
        """The kind of refusal, as the API answers it: forbidden, condition_failed, stale_version, ..."""
        return self.error.code


@dataclass(slots=True)
class Change:
    """What an edit or a transition writes, decided: the apply step only writes it (not frozen only
    because a frozen dataclass costs a `object.__setattr__` per field on the hot path)."""

    action: str  # "edit" or "transition"
    transition: str | None
    from_state: str
    to_state: str
    values: dict[str, Any]  # every field value after the step
    changes: dict[str, list[Any]]  # field → [before, after] as JSON, for the history row
    changed_db: dict[str, Any]  # the changed fields as stored
    system: dict[str, Any]  # system columns it sets besides those of entering a state
    entry: StateEntry | None  # entering `to_state` (None for an edit)
    comment: str | None


@dataclass(frozen=True)
class TransitionOption:
    name: str
    title: Words
    to: str
    allowed: bool
    has_role: bool
    reasons: tuple[str, ...]
    comment: str | None
    confirm: Words | None
    require: tuple[str, ...]


# --- values ----------------------------------------------------------------------------------------

def values_from_row(flow: CompiledFlow, row: Mapping[Any, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """Field values (of `names`, by default every field) read from a database row of the flow table."""
    fields = flow.fields
    out: dict[str, Any] = {}
    for name in flow.stored_fields if names is None else names:
        v = row[name]
        out[name] = None if v is None else fields[name].from_db(v)
    return out


def default_values(flow: CompiledFlow) -> dict[str, Any]:
    """The `default:` of every field that has one (computed fields excluded), coerced."""
    return {name: f.coerce(f.default, tz=flow.timezone)
            for name, f in flow.fields.items() if f.default is not None and f.compute is None}


def to_json(flow: CompiledFlow, name: str, value: Any) -> Any:
    return None if value is None else flow.fields[name].to_json(value)


def to_db(flow: CompiledFlow, values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of the record row for `values` (a table field's rows are written apart: table_rows.py)."""
    fields = flow.fields
    return {k: (None if v is None else fields[k].to_db(v)) for k, v in values.items() if fields[k].stored_in_row}


def diff(flow: CompiledFlow, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """field → [before, after] (JSON) of every field whose value changes."""
    out = {}
    for name in flow.fields:
        if name in after and before.get(name) != after[name]:
            out[name] = [to_json(flow, name, before.get(name)), to_json(flow, name, after[name])]
    return out


def coerce_given(flow: CompiledFlow, given: Mapping[str, Any], allowed: frozenset[str], state: str | None,
                 errors: dict[str, str]) -> dict[str, Any] | Refusal:
    """The submitted values coerced by their field types; bad ones noted in `errors`. A field the
    caller may not set (in `state`; None: when creating a record) refuses the whole step."""
    out: dict[str, Any] = {}
    for name, raw in given.items():
        if name not in flow.fields:
            errors[name] = Message("unknown_field", "not a field of this flow")
            continue
        if name not in allowed:
            err = ReadOnlyField(read_only(flow, name, state), field=name)
            return Refusal(err.message, err)
        try:
            out[name] = flow.fields[name].coerce(raw, tz=flow.timezone)
        except TableValueError as exc:
            errors.update(exc.keyed(name))  # lines[2].quantity
        except FieldValueError as exc:
            errors[name] = exc.message
    return out


def read_only(flow: CompiledFlow, name: str, state: str | None) -> Message:
    """Why field `name` may not be set by this user (in `state`; None: when creating a record)."""
    if state is None:
        return Message("read_only_field", "'{field}' cannot be set when creating a record", field=field_title(flow, name))
    return Message("read_only_field", "'{field}' cannot be changed in state '{state}'",
                   field=field_title(flow, name), state=state_title(flow, state))


def required_errors(flow: CompiledFlow, values: Mapping[str, Any], names: Iterable[str],
                    errors: dict[str, str]) -> None:
    for name in names:
        f = flow.fields[name]
        if f.required and f.is_empty(values.get(name)) and name not in errors:
            errors[name] = Message("required", "this field is required")


def user_errors(flow: CompiledFlow, values: Mapping[str, Any], check_user: UserCheck | None,
                errors: dict[str, str]) -> None:
    """Note user fields holding someone who cannot be put there (inactive, lacking the field's role)."""
    if check_user is None:
        return
    for name, value in values.items():
        f = flow.fields[name]
        if f.type != "user" or value is None:
            continue
        problem = check_user(value, getattr(f, "role", None))
        if problem:
            errors[name] = problem


def expression_context(values: Mapping[str, Any], actor: Actor, now: datetime, flow: CompiledFlow) -> dict[str, Any]:
    ctx = dict(values)
    ctx["user"] = actor.expression_view()
    ctx["now"] = now
    ctx["today"] = now.astimezone(flow.timezone).date()
    return ctx


def compute(flow: CompiledFlow, values: dict[str, Any], actor: Actor, now: datetime) -> dict[str, str]:
    """Fill in the computed fields of `values` (in place), as a write would store them.

    A value that cannot be computed yet (an empty input) stays empty. A value that was computed but
    that its field refuses (too large for the column, out of range) is returned as a field error: it
    must refuse the write, never be stored as empty."""
    errors: dict[str, str] = compute_rows(flow, values, actor, now) if flow.tables else {}
    if not flow.computed_order:
        return errors
    ctx = expression_context(values, actor, now, flow)
    for name in flow.computed_order:
        if flow.tables and reads_missing_table(flow, name, values):
            continue  # rows not loaded: the stored aggregate stands
        f = flow.fields[name]
        value = None
        try:
            raw = flow.compute[name].evaluate(ctx)
            if raw is not None and hasattr(f, "quantize"):
                raw = f.quantize(raw)  # a computed amount is rounded, never refused for its decimals
            value = None if raw is None else f.coerce(raw, tz=flow.timezone)
        except EvaluationError:
            value = None
        except (FieldValueError, ArithmeticError) as exc:
            errors[name] = exc.message if isinstance(exc, FieldValueError) else Message(
                "not_storable", "the computed value cannot be stored")
        values[name] = value
        ctx[name] = value
    return errors


def conditions_context(flow: CompiledFlow, actor: Actor, now: datetime) -> ContextOf:
    """How `show_if` and `required_if` see values (engine/records/conditions.py): computed fields computed."""
    def context(values: Mapping[str, Any]) -> dict[str, Any]:
        seen = dict(values)
        compute(flow, seen, actor, now)
        return expression_context(seen, actor, now, flow)
    return context


def _computed(flow: CompiledFlow, values: dict[str, Any], actor: Actor, now: datetime) -> Refusal | None:
    errors = compute(flow, values, actor, now)
    if errors:
        err = ValidationFailed(errors, invalid_values(flow, errors))
        return Refusal(err.message, err)
    return None


# --- single checks ---------------------------------------------------------------------------------

def comment_refusal(comment: str | None) -> Refusal | None:
    if comment is not None and len(comment) > MAX_COMMENT:
        message = Message("too_long", "must be at most {n} characters long (has {has})", n=MAX_COMMENT, has=len(comment))
        return Refusal(message, ValidationFailed({"comment": message}))
    problem = text_problem(comment, multiline=True) if comment is not None else None
    if problem:
        return Refusal(problem, ValidationFailed({"comment": problem}))
    return None


def create_refusal(flow: CompiledFlow, actor: Actor) -> Refusal | None:
    """The one role check of creating a record: the actor holds none of the creator roles."""
    if actor.roles.isdisjoint(flow.creator_roles):
        err = Forbidden(Message("forbidden", "creating a record of '{flow}' needs one of the roles: {roles}",
                                flow=flow_title(flow), roles=role_titles(flow, sorted(flow.creator_roles))))
        return Refusal(err.message, err)
    return None


def find_transition(flow: CompiledFlow, name: str) -> TransitionSpec | Refusal:
    t = flow.spec.transitions.get(name)
    if t is None:
        err = UnknownTransition(Message("unknown_transition", "flow '{f}' has no transition '{t}'", f=flow.name, t=name))
        return Refusal(err.message, err)
    return t


def version_refusal(version: int, expected: int | None) -> Refusal | None:
    if expected is not None and version != expected:
        err = StaleVersion(version, expected)
        return Refusal(err.message, err)
    return None


def role_refusal(flow: CompiledFlow, t: TransitionSpec, name: str, actor: Actor) -> Refusal | None:
    """The one role check of a transition: the actor holds none of the roles in `by`."""
    if actor.roles.isdisjoint(t.by):
        roles = role_titles(flow, t.by)
        reason = Message("forbidden", "needs one of the roles: {roles}", roles=roles)
        return Refusal(reason, Forbidden(Message("forbidden", "'{t}' needs one of the roles: {roles}",
                                                 t=transition_title(flow, t, name), roles=roles)))
    return None


def state_refusal(flow: CompiledFlow, t: TransitionSpec, name: str, state: str) -> Refusal | None:
    if state in t.from_:
        return None
    title, step = state_title(flow, state), transition_title(flow, t, name)
    if state in flow.final_states:
        err: WorkflowError = RecordClosed(Message("record_closed", "the record is closed ({s}); '{t}' cannot fire", s=title, t=step))
    else:
        err = WrongState(Message("wrong_state", "'{t}' cannot fire from state '{s}'", t=step, s=title))
    return Refusal(err.message, err)


def edit_refusal(flow: CompiledFlow, state: str, actor: Actor) -> Refusal | None:
    """The one check of who may edit: nobody in a final state, the state's editors otherwise."""
    if state in flow.final_states:
        err: WorkflowError = RecordClosed(
            Message("record_closed", "the record is closed ({s}); it cannot be edited", s=state_title(flow, state)))
        return Refusal(err.message, err)
    if not flow.editable_fields(state, actor.roles):
        err = Forbidden(Message("forbidden", "you may not edit records in state '{s}'", s=state_title(flow, state)))
        return Refusal(err.message, err)
    return None


def blockers(flow: CompiledFlow, t: TransitionSpec, name: str, values: Mapping[str, Any], actor: Actor,
             now: datetime, state: str | None = None) -> list[Refusal]:
    """What keeps transition `name` (from `state`) from firing with these values besides the role: required
    fields left empty (with those `required_if` asks for), then a false `when` condition (empty when it can fire)."""
    out: list[Refusal] = []
    missing = missing_for_transition(flow, t.require, values, state, conditions_context(flow, actor, now))
    if missing:
        fields = field_titles(flow, missing)
        reason = Message("missing_required", "fill in first: {fields}", fields=fields)
        out.append(Refusal(reason, MissingRequired(
            Message("missing_required", "'{t}': fill in first: {fields}", t=transition_title(flow, t, name), fields=fields),
            missing)))
    expr = flow.when.get(name)
    if expr is not None:
        try:
            decided = True
            ok = bool(expr.evaluate(expression_context(values, actor, now, flow)))
        except EvaluationError:
            ok = decided = False
        if not ok:  # the words are made only for a refusal: the happy path of every write stays cheap
            reason = condition_refusal(flow, t, expr.names, decided=decided)
            out.append(Refusal(reason, ConditionFailed(Message(
                "condition_failed", "'{t}': {reason}", t=transition_title(flow, t, name), reason=reason))))
    return out


def transition_options(flow: CompiledFlow, state: str, values: Mapping[str, Any], actor: Actor,
                       now: datetime) -> list[TransitionOption]:
    """The transitions leaving `state`, each with the reasons it cannot fire now (the record page's buttons)."""
    result = []
    for name, t in flow.transitions_from.get(state, ()):
        role = role_refusal(flow, t, name, actor)
        refused = blockers(flow, t, name, values, actor, now, state)
        if role is not None:
            refused.insert(0, role)
        result.append(TransitionOption(
            name=name, title=t.title or name, to=t.to, allowed=not refused, has_role=role is None,
            reasons=tuple(r.reason for r in refused), comment=t.comment, confirm=t.confirm,
            require=tuple(t.require)))
    return result


# --- the decisions ---------------------------------------------------------------------------------

def _validated(flow: CompiledFlow, state: str, before: Mapping[str, Any], given: Mapping[str, Any], actor: Actor,
               check_user: UserCheck | None, now: datetime, also: frozenset[str] = frozenset()) -> dict[str, Any] | Refusal:
    """`before` with the submitted values applied, or the refusal of the values. `also`: fields this step may set
    besides those editable in the state (a transition's `require`: filled in the same step)."""
    errors: dict[str, str] = {}
    cleaned = coerce_given(flow, given, flow.editable_fields(state, actor.roles) | also, state, errors)
    if isinstance(cleaned, Refusal):
        return cleaned
    after = {**before, **cleaned}
    conditions = settle(flow, before, after, cleaned, conditions_context(flow, actor, now))  # hidden: not written
    required_errors(flow, after, cleaned, errors)
    required_if_errors(flow, after, cleaned, conditions, errors)
    user_errors(flow, cleaned, check_user, errors)
    if errors:
        err = ValidationFailed(errors, invalid_values(flow, errors))
        return Refusal(err.message, err)
    return after


def decide_create(flow: CompiledFlow, given: Mapping[str, Any], actor: Actor,
                  now: datetime, *, by_engine: bool = False) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]] | Refusal:
    """The field values of a new record: (every value, the coerced submitted ones, field errors so far).
    Whether a user may be put in a user field is left to the caller (it needs the database). `by_engine`: the
    engine creates it (a transition's `create:` effect), and may give any field that is not computed."""
    errors: dict[str, str] = {}
    settable = (frozenset(n for n, f in flow.fields.items() if f.compute is None) if by_engine
                else flow.create_fields)
    cleaned = coerce_given(flow, given, settable, None, errors)
    if isinstance(cleaned, Refusal):
        return cleaned
    data: dict[str, Any] = {}
    for name, f in flow.fields.items():
        if name in cleaned:
            data[name] = cleaned[name]
        elif f.default is not None and f.compute is None:  # as `default_values`, for what is not given
            data[name] = f.coerce(f.default, tz=flow.timezone)
        else:
            data[name] = None
    conditions = settle(flow, default_values(flow), data, cleaned, conditions_context(flow, actor, now))
    required_errors(flow, data, shown(settable, conditions), errors)
    required_if_errors(flow, data, settable, conditions, errors)
    errors.update(compute(flow, data, actor, now))
    return data, cleaned, errors


def field_errors(flow: CompiledFlow, *, transition: str | None, row: Mapping[str, Any], before: Mapping[str, Any],
                 actor: Actor, given: Mapping[str, Any], comment: str | None, now: datetime) -> dict[str, str]:
    """The field errors (`comment` included) an edit, or transition `transition`, with these values would be
    refused with; nothing is looked up. A form shows them beside the errors of its own parsing."""
    out: dict[str, str] = {}
    refused: Change | Refusal | None = comment_refusal(comment)
    if isinstance(refused, Refusal) and isinstance(refused.error, ValidationFailed):
        out.update(refused.error.field_errors)
    if transition is None:
        refused = decide_edit(flow, row=row, before=before, actor=actor, given=given, comment=None,
                              expected_version=None, now=now, check_user=None)
    else:
        t = find_transition(flow, transition)
        refused = t if isinstance(t, Refusal) else decide_transition(
            flow, t, transition, row=row, before=before, actor=actor, given=given, comment=None,
            expected_version=None, now=now, revision=0, check_user=None)
    if isinstance(refused, Refusal) and isinstance(refused.error, ValidationFailed):
        out.update(refused.error.field_errors)
    return out


def decide_transition(flow: CompiledFlow, t: TransitionSpec, name: str, *, row: Mapping[str, Any],
                      before: Mapping[str, Any], actor: Actor, given: Mapping[str, Any] | None,
                      comment: str | None, expected_version: int | None, now: datetime, revision: int,
                      check_user: UserCheck | None, owner_check: OwnerCheck | None = None) -> Change | Refusal:
    """Decide transition `name` of the record whose row (system columns) is `row` and whose field
    values are `before`. `comment`: already stripped (None when empty)."""
    state = row["state"]
    refused = (version_refusal(row["version"], expected_version) or state_refusal(flow, t, name, state)
               or role_refusal(flow, t, name, actor))
    if refused is None and owner_check is not None:
        refused = owner_check(state, row["assignee_id"], actor.roles.intersection(t.by))
    if refused is not None:
        return refused
    if given:
        fillable = frozenset(f for f in t.require if f in flow.fields and flow.fields[f].compute is None)
        after = _validated(flow, state, before, given, actor, check_user, now, fillable)
        if isinstance(after, Refusal):
            return after
        refused = _computed(flow, after, actor, now)
        if refused is not None:
            return refused
    else:
        after = dict(before)
    found = blockers(flow, t, name, after, actor, now, state)
    if found:
        return found[0]
    if t.comment == "required" and not comment:
        err = CommentRequired(Message("comment_required", "'{t}' needs a comment", t=transition_title(flow, t, name)))
        return Refusal(Message("comment_required", "needs a comment"), err)
    if t.set:  # fields the transition sets (engine/records/effects.py), then what is computed from them
        from engine.records.effects import set_fields

        after = dict(after)
        refused = set_fields(flow, t, name, after, actor, now, row["id"]) or _computed(flow, after, actor, now)
        if refused is not None:
            return refused
    changes = diff(flow, before, after)
    system = {"state": t.to, "version": row["version"] + 1, "revision": revision, "updated_by": actor.id,
              "updated_at": now}
    entry = plan_entry(flow, t.to, after, row, now, creator_id=row["created_by"])
    return Change("transition", name, state, t.to, after, changes, to_db(flow, {k: after[k] for k in changes}),
                  system, entry, comment)


def decide_edit(flow: CompiledFlow, *, row: Mapping[str, Any], before: Mapping[str, Any], actor: Actor,
                given: Mapping[str, Any], comment: str | None, expected_version: int | None, now: datetime,
                check_user: UserCheck | None, owner_check: OwnerCheck | None = None,
                by_engine: bool = False) -> Change | Refusal | None:
    """Decide an edit of the record's fields in its state; None when it changes nothing and has no comment.
    `by_engine`: the engine edits (another record's `update:` effect): the field rules hold, nobody's rights are asked."""
    state = row["state"]
    refused = version_refusal(row["version"], expected_version)
    if refused is not None:
        return refused
    refused = None if by_engine else edit_refusal(flow, state, actor)
    if refused is None and owner_check is not None and not by_engine:
        refused = owner_check(state, row["assignee_id"], actor.roles & flow.editors_of(state))
    if refused is not None:
        return refused
    after = _validated(flow, state, before, given, actor, check_user, now,
                       frozenset(n for n in given if n in flow.fields and flow.fields[n].compute is None) if by_engine else frozenset())
    if isinstance(after, Refusal):
        return after
    refused = _computed(flow, after, actor, now)
    if refused is not None:
        return refused
    changes = diff(flow, before, after)
    if not changes and not comment:
        return None
    system = {"version": row["version"] + 1, "updated_by": actor.id, "updated_at": now}
    if changes and flow.clocks.get(state) is not None and flow.clocks[state].date_fields:
        from engine.sla.date_deadlines import recompute_after_edit  # a date the stage's deadline reads changed

        system.update(recompute_after_edit(flow, row, after, now))
    change = Change("edit", None, state, state, after, changes, to_db(flow, {k: after[k] for k in changes}),
                    system, None, comment or None)
    if by_engine:
        return change
    from engine.records.claim_on_act import claim_with_edit  # claim before acting: the edit is the claim

    claim_with_edit(flow, state, row["assignee_id"], actor, change)
    return change
