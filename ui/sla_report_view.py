"""The SLA report of the flow admin page: per clocked stage, finished on time or late, and what is open now.

The numbers are engine/sla/report.py's; margins are working time of the stage's clock.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from engine.storage.registry import FlowRegistry
from engine.sla.report import StageSummary, stage_report
from engine.sla.urge_report import UrgedPerson, urged_people
from forms.local_text import Words
from ui.values import Gettext


def span_text(seconds: float, _: Gettext) -> str:
    """`2d 3h`, `4h 10m` or `25m` of a number of seconds."""
    minutes = int(abs(seconds) // 60)
    hours, mins = divmod(minutes, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return _("{d}d {h}h", d=days, h=hours)
    if hours:
        return _("{h}h {m}m", h=hours, m=mins)
    return _("{m}m", m=mins)


@dataclass(frozen=True)
class ReportRow:
    summary: StageSummary
    met_rate: str
    avg_margin: str
    worst_late: str


def _row(s: StageSummary, _: Gettext) -> ReportRow:
    rate = f"{100 * s.met_rate:.0f}%" if s.met_rate is not None else "—"
    avg = "—"
    if s.avg_margin_seconds is not None:
        text = span_text(s.avg_margin_seconds, _)
        avg = _("{t} early", t=text) if s.avg_margin_seconds >= 0 else _("{t} late", t=text)
    worst = span_text(s.worst_late_seconds, _) if s.worst_late_seconds else "—"
    return ReportRow(s, rate, avg, worst)


def report_rows(db: Engine, registry: FlowRegistry, flow: str, _: Gettext) -> list[ReportRow]:
    return [_row(s, _) for s in stage_report(db, registry, flow=flow)]


def urged_rows(db: Engine, registry: FlowRegistry, flow: str) -> list[tuple[Words, UrgedPerson]]:
    """(stage title, person urged and how often) for the report's "urged" table, most urged first."""
    live = registry.get(flow)
    with db.connect().execution_options(readonly=True) as conn:
        found = urged_people(conn, flow)
    return [(live.flow.state(u.state).title or u.state if u.state in live.flow.spec.states else u.state, u) for u in found]
