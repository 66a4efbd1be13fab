"""States: added, removed or renamed, with the records in each and where they go.

A removed state is written in the file as `old: {moved_to: new}`. A removed
state that still holds records (or a paused clock) and has no such line makes
the plan refused: no record is ever left in a state the flow no longer has.
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import and_, func, select

from forms.message_parts import Count
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.evolve.record_steps import MoveRecords
from engine.evolve.table_facts import distinct_states
from engine.storage.tables import build_flow_table


def resolved_moves(moved: dict[str, str]) -> dict[str, str]:
    """Follow chains of removed states (a → b, b → c) to the live state at the end."""
    out = {}
    for name, target in moved.items():
        seen = {name}
        while target in moved and target not in seen:
            seen.add(target)
            target = moved[target]
        out[name] = target
    return out


def plan_states(ctx: PlanContext) -> None:
    new_states = ctx.flow.spec.states
    old_states = list(ctx.old.spec.states) if ctx.old else []
    in_db = distinct_states(ctx.conn, ctx.table_name) if ctx.facts.exists else []
    moves = resolved_moves(ctx.flow.spec.moved_states)
    t = build_flow_table(ctx.flow) if ctx.facts.exists else None
    for name in dict.fromkeys([*old_states, *in_db]):
        if name in new_states:
            continue
        records = paused = 0
        if t is not None:
            records = ctx.conn.execute(select(func.count()).where(t.c.state == name)).scalar() or 0
            paused = ctx.conn.execute(select(func.count()).where(
                and_(t.c.sla_state == name, t.c.state != name))).scalar() or 0
        target = moves.get(name)
        label = ctx.state_label(name, ctx.old)
        if not records and not paused:
            ctx.change("states", "state_removed", name,
                       Message("plan.state_removed", "State {state} is removed; no record is in it", state=label))
            continue
        if target is None:
            held = Count(records, "record")
            ctx.change("states", "state_removed_unmapped", name, Message(
                "plan.state_unmapped_paused", "State {state} is removed but {records} (and {clocks}) are still in it: "
                "say where they go with `{name}: {{moved_to: <state>}}` under states", state=label, records=held,
                clocks=Count(paused, "paused clock"), name=name) if paused else Message(
                "plan.state_unmapped", "State {state} is removed but {records} are still in it: say where they go "
                "with `{name}: {{moved_to: <state>}}` under states", state=label, records=held, name=name),
                "refused", count=records + paused)
            continue
        waiting = Message("plan.paused_resume", "; {records} waiting in a paused state will resume its clock in {state}",
                          records=Count(paused, "record"),
                          state=replace(ctx.state_label(target), plain=f"'{target}'")) if paused else ""
        renamed = ctx.old is not None and target not in old_states
        ctx.step(MoveRecords(name, target, renamed))
        if renamed:
            ctx.renamed_states[target] = name
            ctx.change("states", "state_renamed", name,
                       Message("plan.state_renamed", "State {state} is renamed to {target}: its {records} move with it "
                               "and keep their assignee and clock; their history says why{waiting}", state=label,
                               target=ctx.state_label(target), records=Count(records, "record"), waiting=waiting),
                       "data", count=records)
        else:
            ctx.change("states", "state_removed_moved", name,
                       Message("plan.state_moved", "State {state} is removed: its {records} move to {target}, are "
                               "assigned and get a clock as if they had just entered it; their history says why{waiting}",
                               state=label, records=Count(records, "record"), target=ctx.state_label(target),
                               waiting=waiting), "data", count=records)
    if ctx.old is None:
        return
    renamed_targets = set(ctx.renamed_states)
    for name in new_states:
        if name not in old_states and name not in renamed_targets:
            ctx.change("states", "state_added", name,
                       Message("plan.state_added", "New state {state}", state=ctx.state_label(name)))
