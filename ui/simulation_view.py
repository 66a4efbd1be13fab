"""The SLA simulation of the flow admin page: a start instant and a path → the timeline of each stage.

The timeline is engine/sla/simulate.py's, the code the running system uses; this
module only reads the form (a start in the flow's timezone, transition ids
separated by commas) and formats the instants in the flow's timezone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from engine.language.flow import CompiledFlow
from engine.sla.simulate import SimulationError, StageTimeline, parse_path, simulate
from ui.i18n.flow_text import flow_text
from ui.i18n import N_, translate_message
from ui.values import Gettext

MAX_PATH = 2000
MAX_STEPS = 200
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
STATUS = {"on_track": N_("On track"), "warning": N_("Warning"), "breached": N_("Breached"), "paused": N_("Paused")}


def local_text(instant: datetime | None, flow: CompiledFlow, _: Gettext) -> str:
    """`2026-10-09 11:00 Fri` in the flow's timezone ('' for none)."""
    if instant is None:
        return ""
    here = instant.astimezone(flow.timezone)
    return f"{here:%Y-%m-%d %H:%M} {_(WEEKDAYS[here.weekday()])}"


@dataclass(frozen=True)
class StageRow:
    state: str
    title: str
    via: str
    entered: str
    warn: str
    due: str
    left: str
    status: str
    status_class: str
    first_repeat: str


@dataclass(frozen=True)
class Simulation:
    start: str
    path: str
    timezone: str
    transitions: tuple[tuple[str, str], ...]  # (id, title) to choose from
    stages: tuple[StageRow, ...] | None = None
    error: str | None = None
    error_field: str | None = None  # "start" or "path"


def _row(flow: CompiledFlow, s: StageTimeline, _: Gettext) -> StageRow:
    via = ""
    if s.via:
        t = flow.spec.transitions[s.via]
        via = flow_text(t.title, getattr(_, "locale", None), flow) or s.via
    status = s.status or ("paused" if s.paused else "")
    title = flow_text(s.title, getattr(_, "locale", None), flow) or s.state
    return StageRow(s.state, title, via, local_text(s.entered, flow, _), local_text(s.warn_at, flow, _),
                    local_text(s.due_at, flow, _), local_text(s.left, flow, _), _(STATUS[status]) if status else "",
                    f"sla-{status}" if status else "", local_text(s.first_repeat_at, flow, _))


def _start(text: str, flow: CompiledFlow) -> datetime | None:
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return start.replace(tzinfo=flow.timezone) if start.tzinfo is None else start


def simulation(flow: CompiledFlow, _: Gettext, *, start: str | None = None, path: str = "",
               now: datetime | None = None) -> Simulation:
    """The form with its defaults; with `start` given, also the timeline (or why it cannot be computed)."""
    here = (now or datetime.now(timezone.utc)).astimezone(flow.timezone)
    choices = tuple((name, flow_text(t.title, getattr(_, "locale", None), flow) or name)
                    for name, t in flow.spec.transitions.items())
    form = Simulation(start if start is not None else f"{here:%Y-%m-%dT%H:%M}", path, flow.timezone.key, choices)
    if start is None:
        return form
    begin = _start(start, flow) if len(start) < 64 else None
    if begin is None:
        return _failed(form, "start", _("Give the start as a date and time, e.g. 2026-09-30T17:30."))
    if len(path) > MAX_PATH:
        return _failed(form, "path", _("The path is too long (at most {n} characters).", n=MAX_PATH))
    try:
        steps = parse_path(path)[:MAX_STEPS]
        stages = simulate(flow, begin, steps)
    except SimulationError as exc:
        return _failed(form, "path", translate_message(_, str(exc)))
    except OverflowError:
        return _failed(form, "start", _("Give the start as a date and time, e.g. 2026-09-30T17:30."))
    except ValueError:
        return _failed(form, "path", _("Write each step as a transition id, optionally with @ and an instant with "
                                       "its offset, e.g. approve@2026-10-09T11:00+08:00."))
    return Simulation(form.start, form.path, form.timezone, form.transitions,
                      stages=tuple(_row(flow, s, _) for s in stages))


def _failed(form: Simulation, field: str, message: str) -> Simulation:
    return Simulation(form.start, form.path, form.timezone, form.transitions, error=message, error_field=field)
