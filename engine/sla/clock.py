"""The SLA clock columns of a record when it enters a state.

Entering a state with `sla` starts its clock; entering a `pause_sla` state
stops the clock of the stage it interrupted; coming back to that stage
resumes it with the remaining working time. Due and warn instants are
computed by the business calendar (engine/sla/calendar.py) and stored in UTC.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.language.flow import CompiledFlow

_CLEARED = {"sla_state": None, "sla_started_at": None, "sla_due_at": None, "sla_warn_at": None,
            "sla_status": None, "sla_paused_at": None, "sla_paused_seconds": 0, "sla_escalated": False,
            "sla_next_remind_at": None}


def clock_on_entry(flow: CompiledFlow, state: str, current: Mapping[str, Any], now: datetime,
                   values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Columns to write when a record enters `state` (current: the record's row before; values: the
    record's field values on entry, which a deadline from a date field reads — default: `current`)."""
    st = flow.state(state)
    if st.pause_sla:
        if current.get("sla_state") and current.get("sla_paused_at") is None:
            return {"sla_paused_at": now, "sla_status": "paused", "sla_next_remind_at": None}
        return {} if current.get("sla_state") else dict(_CLEARED)
    clock = flow.clocks.get(state)
    if clock is None:
        return dict(_CLEARED)
    paused_at = current.get("sla_paused_at")
    if current.get("sla_state") == state and paused_at is not None and current.get("sla_due_at") is not None:
        if current["sla_due_at"] <= paused_at:
            # Already overdue when paused: the breach stands, the due instant does not move.
            return {"sla_paused_at": None, "sla_status": "breached", "sla_next_remind_at": None,
                    "sla_paused_seconds": int(current.get("sla_paused_seconds") or 0)
                    + int(clock.clock.working_seconds(paused_at, now))}
        # Resume: the working time that was left at the pause runs on from now.
        # Exactly what was left (to the microsecond): rounding to whole seconds drifts over several pauses.
        remaining = clock.clock.working_seconds(paused_at, current["sla_due_at"])
        due = clock.clock.add_working(now, timedelta(seconds=remaining)) if remaining > 0 else now
        paused = clock.clock.working_seconds(paused_at, now)
        warn = current.get("sla_warn_at")
        if warn is not None and warn > paused_at:
            left = clock.clock.working_seconds(paused_at, warn)
            warn = clock.clock.add_working(now, timedelta(seconds=left))
        return {"sla_due_at": due, "sla_warn_at": warn, "sla_paused_at": None,
                "sla_paused_seconds": int(current.get("sla_paused_seconds") or 0) + int(paused),
                "sla_status": "on_track" if warn is None or warn > now else "warning", "sla_next_remind_at": None}
    start = now
    if clock.date_fields:  # a deadline or warning from a date field (engine/sla/date_deadlines.py)
        from engine.sla.date_deadlines import stage_instants

        d_due, d_warn = stage_instants(clock, start, current if values is None else values, now)
        return {"sla_state": state, "sla_started_at": start, "sla_due_at": d_due, "sla_warn_at": d_warn,
                "sla_status": "on_track" if d_due is not None else None, "sla_paused_at": None, "sla_paused_seconds": 0,
                "sla_escalated": False, "sla_next_remind_at": None}
    assert clock.due is not None
    due = clock.clock.add(start, clock.due)
    warn = None
    if clock.warn_fraction is not None:
        warn = clock.clock.warn_instant(start, due, clock.warn_fraction)
    elif clock.warn_after is not None:
        warn = clock.clock.add(start, clock.warn_after)
        if warn >= due:
            warn = None
    return {"sla_state": state, "sla_started_at": start, "sla_due_at": due, "sla_warn_at": warn,
            "sla_status": "on_track", "sla_paused_at": None, "sla_paused_seconds": 0, "sla_escalated": False,
            "sla_next_remind_at": None}
