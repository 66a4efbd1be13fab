"""The SLA badge of a record: on track / warning / breached / paused, with the time left.

The status is computed from the stored due and warn instants at the moment
the page is drawn (so it is right even before the scheduler's next pass);
the time left is counted on the state's own clock: working time under a
business calendar, wall time under `clock: elapsed`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.sla.calendar import ElapsedClock
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
    if now >= due:
        late = sc.clock.working_seconds(due, now) if sc is not None else (now - due).total_seconds()
        return SlaBadge("breached", _("Breached"), _("overdue by {t}", t=_span(late, _, elapsed)), due_local)
    left = sc.clock.working_seconds(now, due) if sc is not None else (due - now).total_seconds()
    detail = _("{t} left", t=_span(left, _, elapsed))
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
