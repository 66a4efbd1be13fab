"""SLA timeline of a path through a flow, computed by the code the running system uses (engine/records/state_entry.py).

A record is created at ``start`` and takes the transitions of ``path`` one
after the other. A step fires at the instant given with it
(``approve@2026-10-09T11:00+08:00``); without one it fires when the current
stage falls due (that instant already counts as breached, as in the running
system), or at once in a state without a clock. Conditions (``when``) and roles are not checked: the simulation is
about time. Each stage reports when it was entered, when it warns and falls
due, when it was left, the first repeat of its breach reminders, and the effects (`set`, `create`,
`update`) of the transition that led into it: they do not run, but the author sees where they would.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forms.local_text import Words
from engine.language.effects_spec import effect_summary
from engine.language.flow import CompiledFlow
from engine.sla.scheduler import reminder_plan
from engine.records.state_entry import plan_entry


class SimulationError(ValueError):
    """A path step that the flow does not allow."""


@dataclass(frozen=True)
class Step:
    transition: str | None
    at: datetime | None = None


@dataclass(frozen=True)
class StageTimeline:
    state: str
    title: Words
    entered: datetime
    left: datetime | None
    warn_at: datetime | None
    due_at: datetime | None
    status: str | None  # on_track, warning, breached (left at or after due), paused; None while still there
    paused: bool
    first_repeat_at: datetime | None
    via: str | None  # the transition that led here
    effects: tuple[str, ...] = ()  # what that transition sets, creates and updates (engine/language/effect_spec.py)

    def as_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {"state": self.state, "title": self.title, "via": self.via, "entered": iso(self.entered),
                "warn_at": iso(self.warn_at), "due_at": iso(self.due_at), "left": iso(self.left),
                "status": self.status, "paused": self.paused, "first_repeat_at": iso(self.first_repeat_at),
                "effects": list(self.effects)}


def parse_path(text: str) -> list[Step]:
    """``submit,approve@2026-10-09T11:00+08:00,...`` → steps."""
    steps = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        name, _, when = item.partition("@")
        at = datetime.fromisoformat(when) if when else None
        if at is not None and at.tzinfo is None:
            raise SimulationError(f"'{item}': give the instant with its offset, e.g. 2026-10-09T11:00+08:00")
        steps.append(Step(name, at))
    return steps


def parse_values(flow: CompiledFlow, items: Sequence[str]) -> dict[str, Any]:
    """``delivery_date=2026-10-20`` → the record's value of a date field, for deadlines from a date field."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        f = flow.fields.get(name)
        if not sep or f is None or f.type not in ("date", "datetime"):
            raise SimulationError(f"'{item}': give a date field of the flow and its value, e.g. delivery_date=2026-10-20")
        try:
            out[name] = (datetime.fromisoformat(text.strip()) if f.type == "datetime"
                         else datetime.fromisoformat(text.strip()).date())
        except ValueError:
            raise SimulationError(f"'{item}': the value is not a date such as 2026-10-20") from None
    return out


def simulate(flow: CompiledFlow, start: datetime, path: Sequence[str | Step],
             values: Mapping[str, Any] | None = None) -> list[StageTimeline]:
    """The timeline of `path` from `start`; `values`: the record's date fields that deadlines read."""
    if start.tzinfo is None:
        raise SimulationError("the start instant needs an offset, e.g. 2026-09-30T17:30+08:00")
    steps = [p if isinstance(p, Step) else Step(p) for p in path]
    plan = reminder_plan(flow)
    state = flow.initial
    now = start
    row: dict[str, Any] = dict(values or {})
    row.update(_entered(flow, state, row, now))
    entered, via = now, None
    out: list[StageTimeline] = []

    def close(left: datetime | None) -> None:
        out.append(_stage(flow, plan.repeat_interval(state), state, entered, left, row, via))

    for step in steps:
        t = flow.spec.transitions.get(step.transition or "")
        if t is None:
            raise SimulationError(f"flow '{flow.name}' has no transition '{step.transition}'")
        if state not in t.from_:
            raise SimulationError(f"'{step.transition}' cannot fire from state '{state}' (it leaves {', '.join(t.from_)})")
        at = step.at or _default_leave(flow, state, row, now)
        if at < now:
            raise SimulationError(f"'{step.transition}' at {at.isoformat()} is before the stage began ({now.isoformat()})")
        close(at)
        now, state, via = at, t.to, step.transition
        row = {**row, **_entered(flow, state, row, now)}
        entered = now
    close(None)
    return out


def _entered(flow: CompiledFlow, state: str, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The columns a record gets by entering `state`, as the running system decides them (no one is picked)."""
    return plan_entry(flow, state, {}, row, now, creator_id=None).columns


def _default_leave(flow: CompiledFlow, state: str, row: dict[str, Any], now: datetime) -> datetime:
    if row.get("sla_state") == state and row.get("sla_paused_at") is None and row.get("sla_due_at"):
        due: datetime = row["sla_due_at"]
        return max(now, due)
    return now


def _stage(flow: CompiledFlow, repeat: str | None, state: str, entered: datetime, left: datetime | None,
           row: dict[str, Any], via: str | None) -> StageTimeline:
    own = row.get("sla_state") == state
    paused = flow.state(state).pause_sla
    due = row.get("sla_due_at") if own else None
    warn = row.get("sla_warn_at") if own else None
    status = None
    if own and due is not None and left is not None:
        status = "breached" if left >= due else ("warning" if warn is not None and left >= warn else "on_track")
    elif paused and row.get("sla_state"):
        status = "paused"
    first_repeat = flow.clocks[state].clock.add(due, repeat) if (own and due and repeat) else None
    t = flow.spec.transitions.get(via or "")
    effects = tuple(effect_summary(t.set, t.create, t.update)) if t is not None else ()
    return StageTimeline(state=state, title=flow.state(state).title or state, entered=entered, left=left,
                         warn_at=warn, due_at=due, status=status, paused=paused, first_repeat_at=first_repeat,
                         via=via, effects=effects)


def format_timeline(flow: CompiledFlow, stages: Sequence[StageTimeline]) -> str:
    """A table in the flow's timezone, one line per stage."""
    tz = flow.timezone

    def fmt(v: datetime | None) -> str:
        return v.astimezone(tz).strftime("%Y-%m-%d %a %H:%M") if v else "-"

    head = f"{'stage':<14} {'entered':<21} {'warn':<21} {'due':<21} {'left':<21} {'status':<9} first repeat"
    lines = [f"{flow.name} — times in {tz.key}", head]
    for s in stages:
        status = s.status or ("paused" if s.paused else "")
        lines.append(f"{s.state:<14} {fmt(s.entered):<21} {fmt(s.warn_at):<21} {fmt(s.due_at):<21} "
                     f"{fmt(s.left):<21} {status:<9} {fmt(s.first_repeat_at) if s.first_repeat_at else ''}".rstrip())
        if s.effects:  # the effects of the transition that led into this stage
            lines.append(f"  ↳ {s.via}: {'; '.join(s.effects)}")
    return "\n".join(lines)
