"""Stage results: was each stage done before its due instant, and by how much (for reports).

A stage ends when the record's clock is replaced: the record moves to a state
with another clock or none, or re-enters the same state (a fresh clock). A
move into a ``pause_sla`` state does not end it; leaving the pause for another
state does, measured at the moment the clock stopped. The margin is counted
in working time of the stage's clock: positive = that much early, negative =
that much late. A stage is met when it ends strictly before its due instant
(at the due instant the scheduler already counts it as breached).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Integer, case, func, select
from sqlalchemy.engine import Connection

from forms.local_text import Words
from engine.storage.fastsql import FastInsert
from engine.sla.calendar import ElapsedClock
from engine.language.flow import CompiledFlow
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import sla_results
from engine.sla.urge_report import urges_by_stage


def stage_result(flow: CompiledFlow, before: Mapping[str, Any], after: Mapping[str, Any],
                 now: datetime) -> dict[str, Any] | None:
    """The result row of the stage that `before` was in, if the move to `after` ended it."""
    state, started, due = before.get("sla_state"), before.get("sla_started_at"), before.get("sla_due_at")
    if not state or started is None or due is None:
        return None
    if after.get("sla_state") == state and after.get("sla_started_at") == started:
        return None  # paused or resumed: the same stage goes on
    ended = before.get("sla_paused_at") or now
    clock = flow.clocks[state].clock if state in flow.clocks else ElapsedClock(flow.timezone)
    met = ended < due
    margin = clock.working_seconds(ended, due) if met else -clock.working_seconds(due, ended)
    return {"state": state, "started_at": started, "due_at": due, "ended_at": ended, "met": met,
            "margin_seconds": int(round(margin)), "paused_seconds": int(before.get("sla_paused_seconds") or 0)}


_insert_result = FastInsert(sla_results)


def record_stage_result(conn: Connection, flow: CompiledFlow, record_id: int, before: Mapping[str, Any],
                        after: Mapping[str, Any], now: datetime, *, transition: str | None,
                        actor_id: int | None) -> bool:
    result = stage_result(flow, before, after, now)
    if result is None:
        return False
    _insert_result(conn, {"flow": flow.name, "record_id": record_id, "transition": transition,
                                  "actor_id": actor_id, **result})
    return True


@dataclass(frozen=True)
class StageSummary:
    """Met/missed of one stage over a period, plus what is open in it now."""

    flow: str
    state: str
    state_title: Words
    finished: int
    met: int
    missed: int
    avg_margin_seconds: float | None
    worst_late_seconds: int | None
    open_on_track: int = 0
    open_warning: int = 0
    open_breached: int = 0
    open_escalated: int = 0
    urges: int = 0  # 催办 over the period (engine/sla/urge_report.py)

    @property
    def met_rate(self) -> float | None:
        return self.met / self.finished if self.finished else None


def stage_report(db: Engine, registry: FlowRegistry, *, flow: str | None = None, since: datetime | None = None,
                 until: datetime | None = None,
                 visible: Callable[[LiveFlow], ColumnElement[bool] | None] | None = None) -> list[StageSummary]:
    """Per flow and clocked state: stages finished in [since, until) met/missed, and the open ones by status.

    `visible` gives a condition on a flow's table: only those records count (a reader's dashboard)."""
    lives = [registry.get(flow)] if flow else registry.all()
    r = sla_results
    out: list[StageSummary] = []
    with db.connect().execution_options(readonly=True) as conn:
        for live in lives:
            q = (select(r.c.state, func.count(), func.sum(case((r.c.met, 1), else_=0)), func.avg(r.c.margin_seconds),
                        func.min(r.c.margin_seconds))
                 .where(r.c.flow == live.flow.name).group_by(r.c.state))
            if since is not None:
                q = q.where(r.c.ended_at >= since)
            if until is not None:
                q = q.where(r.c.ended_at < until)
            t = live.table
            seen = visible(live) if visible is not None else None
            if seen is not None:
                q = q.where(r.c.record_id.in_(select(t.c.id).where(seen)))
            done = {row[0]: row for row in conn.execute(q)}
            urged = urges_by_stage(conn, live.flow.name, since, until)
            open_q = (select(t.c.sla_state, t.c.sla_status, func.count(), func.sum(t.c.sla_escalated.cast(Integer)))
                      .where(t.c.sla_state.is_not(None)).group_by(t.c.sla_state, t.c.sla_status))
            if seen is not None:
                open_q = open_q.where(seen)
            open_counts: dict[str, dict[str, int]] = {}
            for state, status, n, escalated in conn.execute(open_q):
                bucket = open_counts.setdefault(state, {})
                bucket[status or ""] = int(n)
                bucket["escalated"] = bucket.get("escalated", 0) + int(escalated or 0)
            for state in live.flow.clocks:
                d = done.get(state)
                oc = open_counts.get(state, {})
                finished = int(d[1]) if d else 0
                met = int(d[2] or 0) if d else 0
                worst = int(d[4]) if d and d[4] is not None and d[4] < 0 else None
                out.append(StageSummary(
                    flow=live.flow.name, state=state, state_title=live.flow.state(state).title or state,
                    finished=finished, met=met, missed=finished - met,
                    avg_margin_seconds=float(d[3]) if d and d[3] is not None else None,
                    worst_late_seconds=-worst if worst is not None else None,
                    open_on_track=oc.get("on_track", 0), open_warning=oc.get("warning", 0),
                    open_breached=oc.get("breached", 0), open_escalated=oc.get("escalated", 0),
                    urges=urged.get(state, 0)))
    return out
