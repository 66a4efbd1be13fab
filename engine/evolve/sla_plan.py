"""SLA rules: which states' clocks change, and what happens to the clocks already running.

The file decides per state with `sla: {..., on_change: keep | recompute}`:
`keep` leaves running clocks with their due time (records entering the state
from now on get the new rule); `recompute` computes them again from the
stage's start under the new rule. A state that gains a clock starts one for
its records only under `recompute`; a state that loses its clock stops them.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from engine.sla.calendar import BusinessCalendar
from engine.evolve.clock_shifts import clock_moves
from engine.language.date_deadline_spec import DateDeadline
from forms.message_parts import Count, Label
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.evolve.record_steps import ClockChange
from engine.language.flow import CompiledFlow
from engine.storage.tables import build_flow_table


def clock_signature(flow: CompiledFlow, state: str) -> tuple[Any, ...] | None:
    """Everything that decides a state's due and warn instants (None: the state has no clock)."""
    clock = flow.clocks.get(state)
    if clock is None:
        return None
    if isinstance(clock.clock, BusinessCalendar):
        where: Any = clock.clock.spec.model_dump(mode="json", exclude={"title"})
    else:
        where = ("elapsed", str(clock.clock.tz))
    return (str(clock.due), clock.warn_fraction, str(clock.warn_after) if clock.warn_after else None, where,
            str(clock.due_from) if clock.due_from else None, str(clock.warn_from) if clock.warn_from else None)


def _when(flow: CompiledFlow, value: str | DateDeadline) -> str:
    """A due or warn as the plan says it: the duration, or "3d before 'Delivery date'"."""
    if isinstance(value, str):
        return value
    f = flow.spec.fields.get(value.field)
    return Message("plan.sla_before_date", "{days} before {field}", days=value.before,
                   field=Label(value.field, f.title if f is not None else None, flow.spec.language))


def _describe(flow: CompiledFlow, state: str) -> str:
    sla = flow.spec.states[state].sla
    if sla is None:
        return Message("plan.no_clock", "no clock")
    clock = (Message("plan.wall_time", "wall time") if sla.clock == "elapsed"
             else Message("plan.working_time", "working time"))
    if sla.warn:
        return Message("plan.sla_due_warn", "due {due}, warn {warn} ({clock})", due=_when(flow, sla.due),
                       warn=_when(flow, sla.warn), clock=clock)
    return Message("plan.sla_due", "due {due} ({clock})", due=_when(flow, sla.due), clock=clock)


def _count(ctx: PlanContext, where: Any) -> int:
    return ctx.conn.execute(select(func.count()).where(where)).scalar() or 0


def _recompute_or_keep(ctx: PlanContext, name: str, count: int, recompute: bool, clock: ClockChange,
                       recomputed: tuple[str, Message], kept: tuple[str, Message]) -> None:
    """`recomputed` (kind, text) with its step when the file says recompute and records are concerned, else `kept`."""
    if recompute and count:
        ctx.step(clock)
        ctx.change("sla", recomputed[0], name, recomputed[1], "data", count=count)
    else:
        ctx.change("sla", kept[0], name, kept[1], count=count)


def plan_sla(ctx: PlanContext) -> None:
    if ctx.old is None:
        return
    t = build_flow_table(ctx.flow) if ctx.facts.exists else None
    for name, st in ctx.flow.spec.states.items():
        before = ctx.renamed_states.get(name, name)
        if before not in ctx.old.spec.states:
            continue
        old_sig, new_sig = clock_signature(ctx.old, before), clock_signature(ctx.flow, name)
        if old_sig == new_sig:
            continue
        running = _count(ctx, t.c.sla_state == before) if t is not None else 0
        what = {"state": ctx.state_label(name), "old": _describe(ctx.old, before), "new": _describe(ctx.flow, name)}
        if new_sig is None:
            ctx.change("sla", "sla_removed", name,
                       Message("plan.sla_removed", "The SLA of state {state} changes from {old} to {new}: {clocks} stop",
                               **what, clocks=Count(running, "running clock")),
                       "data" if running else "safe", count=running)
            if running:
                ctx.step(ClockChange(name, "stop"))
            continue
        recompute = st.sla is not None and st.sla.on_change == "recompute"
        if old_sig is None:
            waiting = _count(ctx, and_(t.c.state == before, t.c.sla_state.is_(None))) if t is not None else 0
            _recompute_or_keep(
                ctx, name, waiting, recompute, ClockChange(name, "start"),
                ("sla_added", Message("plan.sla_added_recompute", "The SLA of state {state} changes from {old} to "
                                      "{new}: the {records} already in it get a clock starting now (on_change: recompute)",
                                      **what, records=Count(waiting, "record"))),
                ("sla_added", Message("plan.sla_added_keep", "The SLA of state {state} changes from {old} to {new}: "
                                      "records entering it from now on get a clock; the {records} already in it keep "
                                      "running without one (on_change: keep)", **what, records=Count(waiting, "record"))))
            continue
        moves, would_move = clock_moves(ctx, t, before, name) if t is not None and running else ("", "")
        _recompute_or_keep(
            ctx, name, running, recompute, ClockChange(name, "recompute"),
            ("sla_recomputed", Message("plan.sla_recomputed", "The SLA of state {state} changes from {old} to {new}: "
                                       "{clocks} are recomputed from their stage's start (on_change: recompute){moves}",
                                       **what, clocks=Count(running, "running clock"), moves=moves)),
            ("sla_kept", Message("plan.sla_kept", "The SLA of state {state} changes from {old} to {new}: {clocks} keep "
                                 "their due time; records entering the state from now on get the new rule (on_change: keep)"
                                 "{moves}", **what, clocks=Count(running, "running clock"), moves=would_move)))
