"""A flow compiled for running: expressions compiled, lookups precomputed.

A CompiledFlow is immutable and cheap to share between threads. The spec says
what the business user wrote; this says what the engine does with it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.sla.calendar import BusinessCalendar, CalendarSpec, ElapsedClock
from engine.language.compiled_effects import compile_effects
from engine.language.date_deadline_spec import DateDeadline
from engine.language.conditions import FieldConditions, compile_conditions
from engine.language.durations import Duration, parse_duration
from engine.language.print_templates import PrintTemplate, compile_print_template
from engine.language.expressions import Expression, TextTemplate, compile_expression, compile_template
from engine.language.spec import FlowSpec, StateSpec, TransitionSpec
from engine.language.tables import CompiledTable, compile_tables
from forms import FieldSpecBase

DEFAULT_TZ = "UTC"


if TYPE_CHECKING:
    from engine.language.compiled_effects import TransitionEffects


@dataclass(frozen=True)
class StateClock:
    """The SLA clock of one state, ready to compute due and warn instants."""

    clock: BusinessCalendar | ElapsedClock
    due: Duration | None  # None: the due comes from a date field (due_from)
    warn_fraction: float | None
    warn_after: Duration | None
    due_from: DateDeadline | None = None  # `due: {field: delivery_date, before: 3d}` (engine/sla/date_deadlines.py)
    warn_from: DateDeadline | None = None

    @property
    def date_fields(self) -> frozenset[str]:
        """The date fields this clock reads: when one changes while the stage runs, the clock is recomputed."""
        return frozenset(d.field for d in (self.due_from, self.warn_from) if d is not None)


@dataclass(frozen=True)
class CompiledFlow:
    spec: FlowSpec
    source_text: str
    source: str
    fields: dict[str, FieldSpecBase]
    computed_order: tuple[str, ...]
    compute: dict[str, Expression]
    when: dict[str, Expression]
    title: TextTemplate | None
    clocks: dict[str, StateClock]
    timezone: ZoneInfo
    transitions_from: dict[str, tuple[tuple[str, TransitionSpec], ...]] = field(default_factory=dict)
    conditions: FieldConditions = field(default_factory=FieldConditions)  # show_if / required_if
    tables: dict[str, CompiledTable] = field(default_factory=dict)  # the table fields (line items)
    # Texts of the `print:` templates (file name → text), read when the flow loaded; stored with the revision.
    print_templates: dict[str, str] = field(default_factory=dict)

    @cached_property
    def print_layouts(self) -> dict[str, PrintTemplate]:
        """The compiled print templates by file name (they compiled when the flow loaded)."""
        return {name: compile_print_template(text) for name, text in self.print_templates.items()}

    @cached_property
    def has_row_references(self) -> bool:
        """Whether rows of a table field hold references (checked, and their fetched fields filled, before a
        step: engine/records/row_references.py)."""
        return any(f.type == "reference" for t in self.tables.values() for f in t.spec.fields.values())

    @cached_property
    def stored_fields(self) -> tuple[str, ...]:
        """Fields with a column in the flow's own table (a table field's rows live in a child table)."""
        return tuple(n for n, f in self.fields.items() if f.stored_in_row)

    @property
    def name(self) -> str:
        return self.spec.flow

    @cached_property
    def effects(self) -> dict[str, TransitionEffects]:
        """The transitions' `set` / `create` / `update`, compiled (engine/records/effects.py)."""
        return compile_effects(self.spec)

    @property
    def table_name(self) -> str:
        return f"flow_{self.spec.flow}"

    @cached_property
    def sha256(self) -> str:
        """The flow's text, and its print templates when it has some (a changed template is a new revision)."""
        digest = hashlib.sha256(self.source_text.encode("utf-8"))
        for name in sorted(self.print_templates):
            digest.update(f"\0{name}\0".encode() + self.print_templates[name].encode("utf-8"))
        return digest.hexdigest()

    @property
    def initial(self) -> str:
        return self.spec.initial_state

    def state(self, name: str) -> StateSpec:
        return self.spec.states[name]

    @cached_property
    def creator_roles(self) -> frozenset[str]:
        if self.spec.create_by is not None:
            return frozenset(self.spec.create_by)
        owner = self.spec.states[self.initial].owner
        return frozenset([owner]) if owner else frozenset()

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(n for n, s in self.spec.states.items() if s.final)

    @cached_property
    def open_states(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.spec.states.items() if not s.final)

    @cached_property
    def states_owned_by(self) -> dict[str, frozenset[str]]:
        owned: dict[str, set[str]] = {}
        for name, st in self.spec.states.items():
            if st.owner and not st.final:
                owned.setdefault(st.owner, set()).add(name)
        return {r: frozenset(s) for r, s in owned.items()}

    def editors_of(self, state: str) -> frozenset[str]:
        st = self.spec.states[state]
        if st.edit_by is not None:
            return frozenset(st.edit_by)
        return frozenset([st.owner]) if st.owner else frozenset()

    @cached_property
    def _edit_fields(self) -> dict[str, frozenset[str]]:
        """state → the fields its `edit` list names, computed ones left out (once per flow)."""
        return {n: frozenset(f for f in st.edit if f not in self.compute) for n, st in self.spec.states.items()}

    def editable_fields(self, state: str, roles: frozenset[str]) -> frozenset[str]:
        """Fields this set of roles may edit in `state` (computed fields never)."""
        if not (self.editors_of(state) & roles):
            return frozenset()
        return self._edit_fields[state]

    @cached_property
    def create_fields(self) -> frozenset[str]:
        """Fields a creator may set: those editable in the initial state, and every `required` field (it must be
        filled whenever the record is saved, so the creator must be able to give it); never computed ones."""
        required = {n for n, f in self.fields.items() if f.required and f.compute is None and n in self.stored_fields}
        return self._edit_fields[self.initial] | frozenset(required)

    @cached_property
    def states_by_role(self) -> dict[str, frozenset[str]]:
        """role → the non-final states where that role may act (own, edit or fire a transition)."""
        acting: dict[str, set[str]] = {}
        for name, st in self.spec.states.items():
            if st.final:
                continue
            roles = set(self.editors_of(name))
            if st.owner:
                roles.add(st.owner)
            for _, t in self.transitions_from.get(name, ()):
                roles.update(t.by)
            for role in roles:
                acting.setdefault(role, set()).add(name)
        return {r: frozenset(s) for r, s in acting.items()}

    def hidden_fields(self, state: str) -> frozenset[str]:
        return frozenset(self.spec.states[state].hide)

    @cached_property
    def has_approvals(self) -> bool:
        """Some state has `approval:` (entering and leaving states then opens and closes approval rounds)."""
        return any(st.approval is not None for st in self.spec.states.values())

    @cached_property
    def roles_of_flow(self) -> frozenset[str]:
        return frozenset(self.spec.roles)


def _topological(compute: dict[str, Expression], order: list[str]) -> tuple[str, ...]:
    done: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        for dep in sorted(compute[name].names):
            if dep in compute:
                place(dep)
        done.append(name)

    for name in order:
        if name in compute:
            place(name)
    return tuple(done)


def _clock_for(spec: FlowSpec, st: StateSpec, tz: ZoneInfo, calendars: dict[str, CalendarSpec]) -> StateClock | None:
    if st.sla is None:
        return None
    sla = st.sla
    clock: BusinessCalendar | ElapsedClock
    if sla.clock == "elapsed":
        clock = ElapsedClock(tz)
    else:
        cal = calendars.get(sla.calendar) if sla.calendar else None
        if cal is None:
            cal = spec.calendar if isinstance(spec.calendar, CalendarSpec) else calendars.get(str(spec.calendar))
        if cal is None:
            raise ValueError(f"no calendar for the clock of {st.title or 'a state'}")
        clock = BusinessCalendar.from_spec(cal)
    warn_fraction = warn_after = None
    warn_from = sla.warn if isinstance(sla.warn, DateDeadline) else None
    if isinstance(sla.warn, str):
        if sla.warn.endswith("%"):
            warn_fraction = int(sla.warn[:-1]) / 100
        else:
            warn_after = parse_duration(sla.warn)
    if isinstance(sla.due, DateDeadline):
        return StateClock(clock, None, warn_fraction, warn_after, due_from=sla.due, warn_from=warn_from)
    return StateClock(clock, parse_duration(sla.due), warn_fraction, warn_after, warn_from=warn_from)


def compile_flow(spec: FlowSpec, source_text: str, source: str,
                 calendars: dict[str, CalendarSpec] | None = None, *,
                 print_templates: dict[str, str] | None = None) -> CompiledFlow:
    calendars = calendars or {}
    tzname = DEFAULT_TZ
    if isinstance(spec.calendar, CalendarSpec):
        tzname = spec.calendar.timezone
    elif isinstance(spec.calendar, str) and spec.calendar in calendars:
        tzname = calendars[spec.calendar].timezone
    tz = ZoneInfo(tzname)
    compute = {n: compile_expression(f.compute) for n, f in spec.fields.items() if f.compute}
    when = {n: compile_expression(t.when) for n, t in spec.transitions.items() if t.when}
    by_state: dict[str, list[tuple[str, TransitionSpec]]] = {s: [] for s in spec.states}
    for n, t in spec.transitions.items():
        for s in t.from_:
            by_state[s].append((n, t))
    clocks = {}
    for n, st in spec.states.items():
        c = _clock_for(spec, st, tz, calendars)
        if c is not None:
            clocks[n] = c
    return CompiledFlow(
        spec=spec,
        source_text=source_text,
        source=source,
        fields=dict(spec.fields),
        computed_order=_topological(compute, list(spec.fields)),
        compute=compute,
        when=when,
        title=compile_template(spec.record_title) if spec.record_title else None,
        clocks=clocks,
        timezone=tz,
        transitions_from={s: tuple(v) for s, v in by_state.items()},
        conditions=compile_conditions(spec),
        tables=compile_tables(spec.fields),
        print_templates=dict(print_templates or {}),
    )
