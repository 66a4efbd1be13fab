"""Due and warn instants of a stage, including deadlines from a date field.

`sla: {due: {field: delivery_date, before: 3d}, warn: {field: delivery_date, before: 5d}}` (the model is
engine/language/date_deadline_spec.py). The rules, chosen so that a team can read them off a wall calendar:

* **End of the working day.** The deadline is the end of the last working interval of the working day
  that lies `before` working days before the date in the field (the date itself does not count; dates
  without working time — weekends, holidays — are skipped, make-up workdays count). `before: 0d` is the
  end of the date itself, or of the last working day before it when the date has no working time. Under
  `clock: elapsed` days are calendar days and the day ends at midnight.
* **Read when the stage starts, and again when the date changes** while the record is in the stage
  (an edit; `recompute_after_edit`). The clock's start stays the stage's start.
* **An empty date: no deadline.** The stage has a clock (`sla_state`, `sla_started_at`) but no due and
  no warn instant; the page says "no deadline"; a date filled in later starts the deadline.
* **A date already too close: due at once.** A deadline that would lie before the instant the clock
  is computed is set to that instant, so the stage is breached at once (the scheduler's next pass
  reminds): nobody is told about a deadline that passed before the stage began. A warning already
  past is likewise due at once (and dropped when it is not before the due).

A duration-based due (`due: 4h`) may be combined with a date warning, and a date due with a `75%` or
`3h` warning (the fraction of the working time from the stage's start to the due).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from engine.language.date_deadline_spec import DateDeadline
from engine.language.flow import CompiledFlow, StateClock
from engine.sla.calendar import BusinessCalendar, ElapsedClock
from engine.storage.schema import approval_tasks

_SEARCH_DAYS = 3700  # how far back a working day is looked for before giving up (a calendar with no working day)


def date_value(value: Any, clock: BusinessCalendar | ElapsedClock) -> date | None:
    """The date in a field's value: a date, a datetime (its local date under the clock's zone) or ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value.astimezone(clock.tz) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date_value(datetime.fromisoformat(value), clock) if "T" in value else date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def deadline_at(clock: BusinessCalendar | ElapsedClock, anchor: DateDeadline, day: date) -> datetime:
    """The end of the working day `anchor.days` working days before `day` (UTC)."""
    if isinstance(clock, ElapsedClock):
        end = datetime.combine(day - timedelta(days=anchor.days) + timedelta(days=1), time(0))
        return end.replace(tzinfo=clock.tz).astimezone(UTC)
    target = day
    if anchor.days == 0:
        target = _working_day_on_or_before(clock, day)
    else:
        counted = 0
        for _ in range(_SEARCH_DAYS):
            target -= timedelta(days=1)
            if clock.has_working_time(target):
                counted += 1
                if counted == anchor.days:
                    break
        else:
            raise ValueError(f"no working day in the {_SEARCH_DAYS} days before {day.isoformat()}")
    return clock.intervals_on(target)[-1][1]


def _working_day_on_or_before(clock: BusinessCalendar, day: date) -> date:
    for _ in range(_SEARCH_DAYS):
        if clock.has_working_time(day):
            return day
        day -= timedelta(days=1)
    raise ValueError(f"no working day in the {_SEARCH_DAYS} days up to {day.isoformat()}")


def _from_date(sc: StateClock, anchor: DateDeadline, values: Mapping[str, Any]) -> datetime | None:
    day = date_value(values.get(anchor.field), sc.clock)
    return None if day is None else deadline_at(sc.clock, anchor, day)


def stage_instants(sc: StateClock, start: datetime, values: Mapping[str, Any],
                   now: datetime) -> tuple[datetime | None, datetime | None]:
    """(due, warn) of a stage that started at `start`, computed at `now` with the record's `values`.

    Only for clocks that read a date field (`sc.date_fields`); the others keep engine/sla/clock.py's rules."""
    if sc.due_from is not None:
        due = _from_date(sc, sc.due_from, values)
        if due is None:
            return None, None
        due = max(due, now)
    else:
        assert sc.due is not None
        due = sc.clock.add(start, sc.due)
    warn: datetime | None = None
    if sc.warn_from is not None:
        warn = _from_date(sc, sc.warn_from, values)
    elif sc.warn_fraction is not None:
        warn = sc.clock.warn_instant(start, due, sc.warn_fraction)
    elif sc.warn_after is not None:
        warn = sc.clock.add(start, sc.warn_after)
    if warn is not None:
        warn = max(warn, now) if sc.warn_from is not None else warn
        if warn >= due:
            warn = None
    return due, warn


def _status(old: str | None, due: datetime | None, warn: datetime | None, now: datetime) -> str | None:
    """The status a recomputed clock keeps: an event already sent stays sent while it still holds; from
    anything else the clock goes back to on_track and the scheduler warns or breaches (and reminds) again."""
    if due is None:
        return None
    if old == "breached" and due <= now:
        return "breached"
    if old == "warning" and warn is not None and warn <= now < due:
        return "warning"
    return "on_track"


def recompute_after_edit(flow: CompiledFlow, row: Mapping[str, Any], after: Mapping[str, Any],
                         now: datetime) -> dict[str, Any]:
    """Clock columns to write when an edit changes a date the running stage's deadline reads ({} otherwise).

    `row` is the record's row before the edit, `after` its values after. A paused stage is left alone:
    its deadline is read again when it resumes (the resume keeps the working time that was left)."""
    state = row.get("state")
    if not state or row.get("sla_state") != state or row.get("sla_paused_at") is not None:
        return {}
    sc = flow.clocks.get(state)
    if sc is None or not sc.date_fields:
        return {}
    if all(date_value(row.get(f), sc.clock) == date_value(after.get(f), sc.clock) for f in sc.date_fields):
        return {}
    start = row.get("sla_started_at") or now
    due, warn = stage_instants(sc, start, after, now)
    return recomputed_status(row, due, warn, now)


def recomputed_status(row: Mapping[str, Any], due: datetime | None, warn: datetime | None,
                      now: datetime) -> dict[str, Any]:
    """The clock columns of a running stage given its new instants (a paused stage stays paused)."""
    status = "paused" if row.get("sla_paused_at") is not None else _status(row.get("sla_status"), due, warn, now)
    out: dict[str, Any] = {"sla_due_at": due, "sla_warn_at": warn, "sla_status": status}
    if status != row.get("sla_status"):
        out["sla_next_remind_at"] = None
    return out


def move_open_approval_tasks(conn: Connection, flow: CompiledFlow, row: Mapping[str, Any],
                             system: Mapping[str, Any]) -> int:
    """After an edit moved a date-field deadline (`system` holds the new clock columns): the undecided
    approval tasks of the running round take the new due and warn instants (each approver's clock
    reads the same date)."""
    if "sla_due_at" not in system or flow.state(row["state"]).approval is None:
        return 0
    a = approval_tasks
    return int(conn.execute(update(a).where(
        a.c.flow == flow.name, a.c.record_id == row["id"], a.c.state == row["state"], a.c.status.in_(("pending", "waiting")))
        .values(due_at=system["sla_due_at"], warn_at=system.get("sla_warn_at"))).rowcount or 0)
