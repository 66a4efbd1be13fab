"""Entering a state: everything a record gets when it arrives in a state, in one place.

A record enters a state when it is created, when a transition fires, and when a
reload moves it out of a removed state (engine/evolve/record_steps.py). All
three go through here, so they cannot drift apart:

1. `plan_entry` (pure) decides the columns: the assignee (engine/records/assignment.py)
   and the SLA clock (engine/sla/clock.py `clock_on_entry`). A pooled assignee
   (round robin, least loaded) is only named here; it is picked when written.
2. `enter_state` writes it: picks the pooled assignee, lets the caller write the
   record row (and its history row) with the entry's columns, then runs the work
   that follows the row (engine/sla/scheduler.py `on_state_entry`): the result of the
   stage that ended, pause bookkeeping, and the state's `enter` reminders.

The SLA simulation (engine/sla/simulate.py) uses `plan_entry` alone: it is about time,
with no database.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from engine.records.approval_rounds import on_state_entry as approval_rounds_on_entry
from engine.records.assignment import assignment_on_entry, pick_assignee
from engine.language.flow import CompiledFlow
from engine.sla.scheduler import on_state_entry
from engine.sla.clock import clock_on_entry


@dataclass(frozen=True, slots=True)
class StateEntry:
    """The columns a record gets by entering `state`, as far as they are known without the database."""

    state: str
    columns: dict[str, Any]  # assignee_id, assignee_role and the SLA clock columns
    pooled: str | None = None  # round_robin / least_loaded: assignee_id is picked when written


def plan_entry(flow: CompiledFlow, state: str, values: Mapping[str, Any], current: Mapping[str, Any],
               now: datetime, *, creator_id: int | None) -> StateEntry:
    """What entering `state` at `now` sets; `current` is the record's row before (empty for a new record)."""
    columns, pooled = assignment_on_entry(flow, state, values, creator_id=creator_id)
    columns.update(clock_on_entry(flow, state, current, now, values=values or current))
    return StateEntry(state, columns, pooled)


def entry_columns(conn: Connection, flow: CompiledFlow, entry: StateEntry) -> dict[str, Any]:
    """The entry's columns with a pooled assignee picked (which may move the round-robin cursor)."""
    if entry.pooled is None:
        return entry.columns
    return {**entry.columns,
            "assignee_id": pick_assignee(conn, flow, entry.state, entry.pooled, entry.columns.get("assignee_id"))}


RowWriter = Callable[[dict[str, Any]], dict[str, Any]]
"""Writes the record row with the given entry columns (and its history row); returns the row as written."""


def enter_state(conn: Connection, flow: CompiledFlow, entry: StateEntry, before: Mapping[str, Any],
                now: datetime, *, write: RowWriter, transition: str | None, actor_id: int | None) -> dict[str, Any]:
    """Perform the entry planned in `entry`: pick a pooled assignee, write the row through `write`,
    then record the stage result, the pause change and the `enter` reminders. Returns the row after."""
    after = write(entry_columns(conn, flow, entry))
    on_state_entry(conn, flow, after["id"], before, after, now, transition=transition, actor_id=actor_id)
    if flow.has_approvals:  # the tasks of an approval stage entered or left (engine/records/approval_rounds.py)
        approval_rounds_on_entry(conn, flow, before, after, now)
    return after
