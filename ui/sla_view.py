"""The SLA badge of a record: on track / warning / breached / paused, with the time left.

The status is computed from the stored due and warn instants at the moment
the page is drawn (so it is right even before the scheduler's next pass);
the time left is counted on the state's own clock: working time under a
business calendar, wall time under `clock: elapsed`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.sla.calendar import BusinessCalendar, ElapsedClock
from engine.language.flow import CompiledFlow
from ui.values import Gettext


@dataclass(frozen=True)
class SlaBadge:
    status: str  # on_track | warning | breached | paused
    label: str
    detail: str  # "2h 15m left" / "overdue by 1h" / ""
    due_local: str


def _span(seconds: float, _: Gettext, with_days: bool) -> str:
    minutes = max(0, int(seconds // 60))
    hours, mins = divmod(minutes, 60)
    if with_days and hours >= 24:
        days, hours = divmod(hours, 24)
        return _("{d}d {h}h", d=days, h=hours)
    if hours:
        return _("{h}h {m}m", h=hours, m=mins)
    return _("{m}m", m=mins)


def working_day_seconds(clock: BusinessCalendar) -> int:
    """The length of a full working day of the calendar (its longest weekday), in seconds."""
    return max((sum(end - begin for begin, end in day) for day in clock.spec.week), default=0) or 86400


def working_span(seconds: float, clock: BusinessCalendar, _: Gettext) -> str:
    """Working time as the calendar counts it: "2 working days 3 h", "5 working hours 20 min", "1 working day"
    (a working day is the calendar's full day, e.g. 8 hours for 09:00-12:00 and 13:00-18:00)."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, working_day_seconds(clock) // 60)
    hours, mins = divmod(rest, 60)
    if days:
        day_words = _("1 working day") if days == 1 else _("{n} working days", n=days)
        return _("{days} {h} h", days=day_words, h=hours) if hours else day_words
    if hours:
        return _("{h} working hours {m} min", h=hours, m=mins) if mins else _("{h} working hours", h=hours)
    return _("{m} working minutes", m=mins)


def sla_badge(flow: CompiledFlow, state: str, status: str | None, due: datetime | None,
              warn: datetime | None, now: datetime, _: Gettext) -> SlaBadge | None:
    """Badge of a record in `state` with the given clock columns; None when no clock runs."""
    if status == "paused":
        return SlaBadge("paused", _("Paused"), "", "")
    sc = flow.clocks.get(state)
    if due is None:  # a deadline from a date field that is empty (engine/sla/date_deadlines.py)
        return SlaBadge("none", _("No deadline"), "", "") if sc is not None and sc.due_from is not None else None
    elapsed = sc is None or isinstance(sc.clock, ElapsedClock)
    due_local = due.astimezone(flow.timezone).strftime("%Y-%m-%d %H:%M")
    def span(seconds: float) -> str:
        if sc is not None and isinstance(sc.clock, BusinessCalendar):
            return working_span(seconds, sc.clock, _)
        return _span(seconds, _, elapsed)

    if now >= due:
        late = sc.clock.working_seconds(due, now) if sc is not None else (now - due).total_seconds()
        return SlaBadge("breached", _("Breached"), _("overdue by {t}", t=span(late)), due_local)
    left = sc.clock.working_seconds(now, due) if sc is not None else (due - now).total_seconds()
    detail = _("{t} left", t=span(left))
    if warn is not None and now >= warn:
        return SlaBadge("warning", _("Warning"), detail, due_local)
    return SlaBadge("on_track", _("On track"), detail, due_local)


def age_text(since: datetime, now: datetime, _: Gettext) -> str:
    """Wall-clock age, short ("3d", "5h", "12m")."""
    seconds = max(0.0, (now - since).total_seconds())
    if seconds >= 86400:
        return _("{n}d", n=int(seconds // 86400))
    if seconds >= 3600:
        return _("{n}h", n=int(seconds // 3600))
    return _("{n}m", n=int(seconds // 60))
