"""The second pass over a flow: references, reachability, expressions.

Works on a structurally valid FlowSpec and collects every problem as
(path into the YAML document, message); the loader turns paths into
line:column. Nothing here stops at the first problem.
"""
from __future__ import annotations

from forms.messages import Message

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from engine.language.conditions import condition_problems
from engine.language.approval_checks import approval_problems
from engine.language.event_checks import event_problems
from engine.language.dashboard_checks import dashboard_problems
from engine.language.date_deadline_spec import date_deadline_problems
from engine.language.durations import parse_duration
from engine.language.expression_types import expression_problems
from engine.language.expressions import (
    BUILTIN_NAMES, ExpressionError, compile_expression, compile_template, parse_expression,
)
from engine.language.effect_rules import effect_problems
from engine.language.identifiers import did_you_mean, identifier_problem
from engine.language.reference_rules import reference_problems
from engine.language.print_spec import print_problems
from engine.language.spec import FlowSpec
from engine.language.tables import table_problems

Path = tuple[Any, ...]
Problem = tuple[Path, str]


class Inside(int):
    """Last element of a problem's path: the problem is this many characters into the value's text."""


def check_flow(spec: FlowSpec, calendars: Iterable[str] = ()) -> list[Problem]:
    """Every meaning problem of `spec`; `calendars` are the names of the shared calendars."""
    problems: list[Problem] = []
    for check in (_identifiers, _roles, _fields, _states, _transitions, _reachability, _warn_before_due,
                  _computed, _expressions, _reminders, _moved_states, _renamed_fields, reference_problems):
        problems.extend(check(spec))
    problems.extend(_calendar_refs(spec, set(calendars)))
    problems.extend(((path + (Inside(at),) if at is not None else path), message) for path, message, at in condition_problems(spec))
    problems.extend(_tables(spec))
    problems.extend(approval_problems(spec))
    problems.extend(effect_problems(spec))  # set / create / update (engine/language/effect_rules.py)
    problems.extend(event_problems(spec))
    problems.extend(dashboard_problems(spec))
    problems.extend(date_deadline_problems(spec))
    problems.extend(print_problems(spec.prints, set(spec.roles), set(spec.states), [r.attach for r in spec.reminders],
                                   [list(r.via) for r in spec.reminders]))
    return problems


def _tables(spec: FlowSpec) -> Iterator[Problem]:
    """Line items: row fields, row computations, and aggregates in the record's expressions (engine/language/tables.py)."""
    items: list[tuple[Path, str]] = [(("fields", n, "compute"), f.compute) for n, f in spec.fields.items() if f.compute]
    items += [(("transitions", n, "when"), t.when) for n, t in spec.transitions.items() if t.when]
    yield from table_problems(spec.fields, items)


def _calendar_refs(spec: FlowSpec, known: set[str]) -> Iterator[Problem]:
    def unknown(name: str) -> str:
        if not known:
            return f"unknown calendar '{name}': no shared calendars are defined (calendars.yaml beside the flows)"
        return _ref("calendar", name, sorted(known))

    if isinstance(spec.calendar, str) and spec.calendar not in known:
        yield ("calendar",), unknown(spec.calendar)
    for name, state in spec.states.items():
        if state.sla is not None and state.sla.calendar is not None and state.sla.calendar not in known:
            yield ("states", name, "sla", "calendar"), unknown(state.sla.calendar)


def _ref(kind: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    return f"unknown {kind} '{name}'{did_you_mean(name, known)}"


def _identifiers(spec: FlowSpec) -> Iterator[Problem]:
    msg = identifier_problem(spec.flow, what="flow")
    if msg:
        yield ("flow",), msg
    for section, what in (("roles", "role"), ("fields", "field"), ("states", "state"), ("transitions", "transition")):
        for name in getattr(spec, section):
            msg = identifier_problem(name, what=what, is_field=(section == "fields"))
            if msg:
                yield (section, name, "__key__"), msg


def _role_refs(spec: FlowSpec, roles: list[str], path: Path) -> Iterator[Problem]:
    for i, role in enumerate(roles):
        if role not in spec.roles:
            yield path + (i,), _ref("role", role, spec.roles)


def _field_refs(spec: FlowSpec, names: list[str], path: Path) -> Iterator[Problem]:
    for i, name in enumerate(names):
        if name not in spec.fields and name not in spec.lookups:  # lookups: engine/language/reference_rules.py
            yield path + (i,), _ref("field", name, spec.fields)


def _state_ref(spec: FlowSpec, name: str, path: Path) -> Iterator[Problem]:
    if name not in spec.states:
        yield path, _ref("state", name, spec.states)


def _roles(spec: FlowSpec) -> Iterator[Problem]:
    if spec.create_by is not None:
        yield from _role_refs(spec, spec.create_by, ("create_by",))
    if not spec.states:
        yield ("states",), "a flow needs at least one state"
    if spec.initial is not None:
        yield from _state_ref(spec, spec.initial, ("initial",))


def _fields(spec: FlowSpec) -> Iterator[Problem]:
    if not spec.fields:
        yield ("fields",), "a flow needs at least one field"
    for name, field in spec.fields.items():
        role = getattr(field, "role", None)
        if role is not None and role not in spec.roles:
            yield ("fields", name, "role"), _ref("role", role, spec.roles)
        if field.compute is not None and field.default is not None:
            yield ("fields", name, "default"), Message("computed_default", "field '{name}' is computed and cannot have a default",
                                                       name=name)
        if field.compute is not None and field.required:
            yield ("fields", name, "required"), Message("computed_required", "field '{name}' is computed; it cannot be required", name=name)


def _manager_of_problems(spec: FlowSpec, state: str, whose: str, owner: str | None) -> Iterator[Problem]:
    """`assign: {manager_of: creator | a user field}`; nobody found leaves the record in the owner's queue."""
    at: Path = ("states", state, "assign", "manager_of")
    if whose != "creator":
        if whose not in spec.fields:
            yield at, f"manager_of takes 'creator' or a user field; {_ref('field', whose, spec.fields)}"
        elif spec.fields[whose].type != "user":
            yield at, Message("manager_of_not_user", "manager_of field '{field}' must be a user field, not {type}",
                              field=whose, type=spec.fields[whose].type)
    if owner is None:
        yield ("states", state, "assign"), Message("manager_of_owner", "manager_of needs an owner role for state '{state}': a record whose "
                                                    "person has no manager waits in that role's queue", state=state)


def _states(spec: FlowSpec) -> Iterator[Problem]:
    for name, state in spec.states.items():
        base: Path = ("states", name)
        if state.owner is not None and state.owner not in spec.roles:
            yield base + ("owner",), _ref("role", state.owner, spec.roles)
        if state.edit_by is not None:
            yield from _role_refs(spec, state.edit_by, base + ("edit_by",))
        yield from _field_refs(spec, state.edit, base + ("edit",))
        yield from _field_refs(spec, state.hide, base + ("hide",))
        for i, f in enumerate(state.edit):
            if f in spec.fields and spec.fields[f].compute is not None:
                yield base + ("edit", i), Message("computed_edited", "field '{name}' is computed and cannot be edited", name=f)
            if f in state.hide:
                yield base + ("edit", i), Message("edit_and_hide", "field '{field}' is both editable and hidden in state '{state}'",
                                                  field=f, state=name)
        if state.assign is not None:
            if state.assign.strategy == "field":
                f = state.assign.field or ""
                if f not in spec.fields:
                    yield base + ("assign", "field"), _ref("field", f, spec.fields)
                elif spec.fields[f].type != "user":
                    yield base + ("assign", "field"), Message("assign_not_user", "assign field '{field}' must be a user field, not {type}",
                                                              field=f, type=spec.fields[f].type)
            elif state.assign.field is not None:
                yield base + ("assign",), Message("assign_field_only", "only the field strategy takes a field")
            if state.assign.strategy == "manager_of":
                yield from _manager_of_problems(spec, name, state.assign.manager_of or "", state.owner)
            elif state.assign.manager_of is not None:
                yield base + ("assign",), Message("manager_of_only", "only the manager_of strategy takes manager_of")
            if state.assign.strategy in ("round_robin", "least_loaded") and state.owner is None:
                yield base + ("assign",), Message("assign_needs_owner",
                                                  "{strategy} picks among the owner role's members: give state '{state}' an owner",
                                                  strategy=state.assign.strategy, state=name)
        if state.final:
            for key in ("sla", "assign", "pause_sla"):
                if getattr(state, key):
                    yield base + (key,), Message("final_cannot_have", "final state '{state}' cannot have {key}", state=name, key=key)
            if state.edit:
                yield base + ("edit",), Message("final_no_edit", "final state '{state}' is closed; nothing can be edited in it", state=name)
        if state.pause_sla and state.sla is not None:
            yield base + ("sla",), Message("pause_and_sla", "state '{state}' pauses the clock; it cannot have a clock of its own",
                                           state=name)
        if state.moved_to is not None:
            yield base + ("moved_to",), (
                f"moved_to marks a removed state and stands alone: write `{name}: {{moved_to: {state.moved_to}}}` "
                "to remove this state, or drop moved_to to keep it"
            )
        if state.sla is not None and state.sla.clock == "business" and spec.calendar is None and state.sla.calendar is None:
            yield base + ("sla",), Message("business_without_calendar",
                                           "state '{state}' counts business time but the flow has no calendar; "
                    "add a top-level calendar or use clock: elapsed", state=name)


def _transitions(spec: FlowSpec) -> Iterator[Problem]:
    for name, t in spec.transitions.items():
        base: Path = ("transitions", name)
        for i, s in enumerate(t.from_):
            yield from _state_ref(spec, s, base + ("from", i))
            if s in spec.states and spec.states[s].final:
                yield base + ("from", i), Message("leaves_final",
                                                  "transition '{transition}' leaves final state '{state}'; a final state is closed",
                                                  transition=name, state=s)
        yield from _state_ref(spec, t.to, base + ("to",))
        yield from _role_refs(spec, t.by, base + ("by",))
        if not t.by and t.on is None:
            yield base + ("by",), f"transition '{name}' names no role that may fire it"
        yield from _field_refs(spec, t.require, base + ("require",))


def _reachability(spec: FlowSpec) -> Iterator[Problem]:
    if not spec.states:
        return
    start = spec.initial_state
    if start not in spec.states:
        return
    # An unknown state in a transition is reported on its own; guessing reachability around it only adds noise.
    for t in spec.transitions.values():
        if t.to not in spec.states or any(s not in spec.states for s in t.from_):
            return
    edges: dict[str, set[str]] = {s: set() for s in spec.states}
    for t in spec.transitions.values():
        for s in t.from_:
            if s in edges and t.to in spec.states:
                edges[s].add(t.to)
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    for name, state in spec.states.items():
        if name not in seen:
            yield ("states", name, "__key__"), f"state '{name}' cannot be reached from '{start}': no transition leads to it"
        if not state.final and not edges[name]:
            yield ("states", name, "__key__"), Message("no_way_out", "state '{state}' is not final but no transition leaves it; "
                                                "mark it final: true or add a way out", state=name)
    yield from _dead_ends(spec, edges, seen)


def _dead_ends(spec: FlowSpec, edges: dict[str, set[str]], reachable: set[str]) -> Iterator[Problem]:
    """Reachable states from which no path leads to a final state (a loop with no way out): their
    records could never be closed. Reported once, at the first such state of the file."""
    finals = {name for name, state in spec.states.items() if state.final}
    if not finals:
        return
    closes = set(finals)
    changed = True
    while changed:
        changed = False
        for name, targets in edges.items():
            if name not in closes and targets & closes:
                closes.add(name)
                changed = True
    stuck = [name for name in spec.states if name in reachable and name not in closes and edges[name]]
    if stuck:
        listed = ", ".join(f"'{n}'" for n in stuck)
        yield ("states", stuck[0], "__key__"), (f"no path leads from {listed} to a final state: records there could "
                                                "never be closed; add a transition toward a final state")


def _warn_before_due(spec: FlowSpec) -> Iterator[Problem]:
    """A warning given as a duration must come before the due (else it would silently never be sent)."""
    for name, state in spec.states.items():
        sla = state.sla
        if sla is None or not isinstance(sla.warn, str) or not isinstance(sla.due, str) or sla.warn.endswith("%"):
            continue
        try:
            warn, due = parse_duration(sla.warn), parse_duration(sla.due)
        except ValueError:
            continue  # reported by the structure pass
        if sla.clock == "elapsed":
            late = warn.days * 86400 + warn.seconds >= due.days * 86400 + due.seconds
        else:  # working days and working hours only compare part by part
            late = warn.days > due.days or (warn.days == due.days and warn.seconds >= due.seconds)
        if late:
            yield ("states", name, "sla", "warn"), Message("warn_after_due", "the warning ({warn}) is not before the due time ({due}): "
                                                    "it would never be sent; warn earlier, e.g. 75%", warn=sla.warn, due=sla.due)


def _computed(spec: FlowSpec) -> Iterator[Problem]:
    deps: dict[str, set[str]] = {}
    for name, field in spec.fields.items():
        if field.compute is None:
            continue
        try:
            expr = compile_expression(field.compute)
        except ExpressionError:
            continue  # reported by _expressions
        for ref in sorted(expr.names - BUILTIN_NAMES):
            if ref not in spec.fields:
                yield ("fields", name, "compute"), f"computed field '{name}' uses {_ref('field', ref, spec.fields)}"
        deps[name] = {r for r in expr.names if r in spec.fields and spec.fields[r].compute is not None}
    # Cycle detection among computed fields (depth-first, three colours).
    colour: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        colour[node] = 1
        for nxt in sorted(deps.get(node, ())):
            if colour.get(nxt) == 1:
                return trail + [node, nxt]
            if colour.get(nxt) is None:
                found = visit(nxt, trail + [node])
                if found:
                    return found
        colour[node] = 2
        return None

    reported: set[str] = set()
    for name in deps:
        if colour.get(name) is None:
            cycle = visit(name, [])
            if cycle:
                start = cycle.index(cycle[-1])
                loop = cycle[start:]
                first = loop[0]
                if first not in reported:
                    reported.update(loop)
                    yield ("fields", first, "compute"), "computed fields depend on each other in a cycle: " + " → ".join(loop)


def _expressions(spec: FlowSpec) -> Iterator[Problem]:
    allowed = set(spec.fields) | BUILTIN_NAMES
    items: list[tuple[Path, str]] = [(("fields", n, "compute"), f.compute) for n, f in spec.fields.items() if f.compute]
    items += [(("transitions", n, "when"), t.when) for n, t in spec.transitions.items() if t.when]
    field_kinds = {n: f.expression_kind for n, f in spec.fields.items()}
    titles = {n: f.title for n, f in spec.fields.items() if isinstance(f.title, str)}
    for path, source in items:
        try:
            expr = compile_expression(source)
        except ExpressionError as exc:
            yield (path + (Inside(exc.offset),) if exc.offset else path), str(exc)
            continue
        if path[0] == "transitions":
            for ref in sorted(expr.names - allowed):
                yield path, f"condition uses {_ref('field', ref, allowed)}"
        for message in expression_problems(parse_expression(source), field_kinds, titles):
            yield path, message
    if spec.record_title:
        try:
            tpl = compile_template(spec.record_title)
        except ExpressionError as exc:
            yield ("record_title",), str(exc)
        else:
            for ref in sorted(tpl.names - set(spec.fields)):
                yield ("record_title",), f"record_title uses {_ref('field', ref, spec.fields)}"


def _reminders(spec: FlowSpec) -> Iterator[Problem]:
    for i, r in enumerate(spec.reminders):
        base: Path = ("reminders", i)
        for j, target in enumerate(r.notify):
            kind, _, name = target.partition(":")
            if target in ("assignee", "owner", "creator"):
                continue
            if kind == "role" and name:
                if name not in spec.roles:
                    yield base + ("notify", j), _ref("role", name, spec.roles)
            elif kind == "field" and name:
                if name not in spec.fields:
                    yield base + ("notify", j), _ref("field", name, spec.fields)
                elif spec.fields[name].type not in ("user", "email"):
                    yield base + ("notify", j), Message("notify_field_type",
                                                        "field '{name}' is a {type} field; notify needs a user or email field",
                                                        name=name, type=spec.fields[name].type)
            else:
                yield base + ("notify", j), Message("unknown_recipient",
                                                    "unknown recipient '{target}': use assignee, owner, creator, role:<role> or "
                            "field:<user field>", target=target)
        for j, s in enumerate(r.states or []):
            yield from _state_ref(spec, s, base + ("states", j))
        if r.repeat is not None and r.on != "breach":
            yield base + ("repeat",), Message("repeat_breach_only", "repeat only applies to breach reminders")
        if r.escalate and r.on != "breach":
            yield base + ("escalate",), Message("escalate_breach_only", "escalate only applies to breach reminders")


def _moved_states(spec: FlowSpec) -> Iterator[Problem]:
    """`old: {moved_to: new}` must lead, possibly through other removed states, to a live state."""
    moved = spec.moved_states
    for name, target in moved.items():
        path: Path = ("states", name, "moved_to")
        seen = [name]
        while target in moved and target not in seen:
            seen.append(target)
            target = moved[target]
        if target in seen:
            yield path, "removed states move to each other in a circle: " + " → ".join(seen + [target])
        elif target not in spec.states:
            yield path, f"state '{name}' is removed and moves its records to {_ref('state', target, spec.states)}"


def _renamed_fields(spec: FlowSpec) -> Iterator[Problem]:
    sources: dict[str, str] = {}
    for name, field in spec.fields.items():
        old = field.renamed_from
        if old is None:
            continue
        path: Path = ("fields", name, "renamed_from")
        if old == name:
            yield path, Message("renamed_from_itself", "field '{name}' cannot be renamed from itself", name=name)
        elif old in spec.fields:
            yield path, Message("renamed_from_live", "field '{name}' is renamed from '{old}', but '{old}' is still a field of this flow",
                                name=name, old=old)
        elif old in sources:
            yield path, Message("renamed_twice", "fields '{first}' and '{second}' are both renamed from '{old}'",
                                first=sources[old], second=name, old=old)
        else:
            sources[old] = name
