"""Steps that change records: moving them out of removed states, and their SLA clocks.

Every moved record gets a history row that says why it moved. A renamed state
keeps its records' assignee and clock; records moved into a state that already
existed enter it as a transition would bring them (engine/records/state_entry.py: assignment,
clock, stage result, pause bookkeeping, `enter` reminders).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, and_, bindparam, insert, literal, select, update
from sqlalchemy.engine import Connection

from forms.local_text import pick
from engine.sla.calendar import Span
from engine.language.durations import Duration
from engine.evolve.model import ApplyContext, Step
from engine.language.flow import CompiledFlow, StateClock
from engine.storage.schema import history
from engine.sla.clock import clock_on_entry
from engine.sla.pauses import pauses_of, prune_pauses, stage_pauses
from engine.records.state_entry import enter_state, plan_entry
from engine.storage.tables import build_flow_table

CHUNK = 2000
MIGRATE_ACTION = "migrate"
_CLEARED = {"sla_state": None, "sla_started_at": None, "sla_due_at": None, "sla_warn_at": None, "sla_status": None,
            "sla_paused_at": None, "sla_paused_seconds": 0, "sla_escalated": False, "sla_next_remind_at": None}


def _label(flow: CompiledFlow | None, state: str) -> str:
    if flow is not None and state in flow.spec.states and flow.spec.states[state].title:
        return f"'{pick(flow.spec.states[state].title, None, flow.spec.language)}' ({state})"
    return f"'{state}'"


def _rows(conn: Connection, t: Table, condition: Any) -> list[dict[str, Any]]:
    """All rows matching `condition`, read in id-ordered chunks."""
    out: list[dict[str, Any]] = []
    last = None
    while True:
        q = select(t).where(condition).order_by(t.c.id).limit(CHUNK)
        if last is not None:
            q = q.where(t.c.id > last)
        rows = [dict(r) for r in conn.execute(q).mappings().all()]
        if not rows:
            return out
        out.extend(rows)
        last = rows[-1]["id"]


@dataclass(frozen=True)
class MoveRecords(Step):
    """Records in a removed state go where the file's `moved_to:` says."""

    source: str
    target: str
    renamed: bool

    def key(self) -> tuple[str, ...]:
        return ("move_records", self.source, self.target, "rename" if self.renamed else "enter")

    def reason(self, ctx: ApplyContext) -> str:
        if self.renamed:
            return (f"State {_label(ctx.old_flow, self.source)} was renamed to {_label(ctx.flow, self.target)} "
                    f"in revision {ctx.revision} of the flow.")
        return (f"State {_label(ctx.old_flow, self.source)} was removed in revision {ctx.revision} of the flow; "
                f"its records moved to {_label(ctx.flow, self.target)} (moved_to in the flow file).")

    def run(self, ctx: ApplyContext) -> None:
        t = build_flow_table(ctx.flow)
        comment = self.reason(ctx)
        if self.renamed:
            self._rename(ctx, t, comment)
        else:
            self._enter(ctx, t, comment)
        # Records paused in a waiting state resume the clock of the state that replaced this one.
        ctx.conn.execute(update(t).where(t.c.sla_state == self.source).values(sla_state=self.target))
        prune_pauses(ctx.conn, ctx.flow.name, t)  # of the stages that ended here

    def _history_rows(self, ctx: ApplyContext, t: Table, comment: str) -> None:
        cols = ["flow", "record_id", "at", "actor_id", "action", "from_state", "to_state", "comment", "revision"]
        src = select(literal(ctx.flow.name), t.c.id, literal(ctx.now, history.c.at.type),
                     literal(ctx.applied_by, history.c.actor_id.type), literal(MIGRATE_ACTION),
                     literal(self.source), literal(self.target), literal(comment), literal(ctx.revision)
                     ).where(t.c.state == self.source)
        ctx.conn.execute(insert(history).from_select(cols, src))

    def _rename(self, ctx: ApplyContext, t: Table, comment: str) -> None:
        self._history_rows(ctx, t, comment)
        owner = ctx.flow.state(self.target).owner
        ctx.conn.execute(update(t).where(t.c.state == self.source).values(
            state=self.target, version=t.c.version + 1, revision=ctx.revision, assignee_role=owner,
            updated_by=ctx.applied_by, updated_at=ctx.now))

    def _enter(self, ctx: ApplyContext, t: Table, comment: str) -> None:
        """Each record enters the target state as a transition would bring it there (engine/records/state_entry.py):
        assignee, clock, the result of the stage it leaves, pause bookkeeping, `enter` reminders."""
        flow, conn, now = ctx.flow, ctx.conn, ctx.now
        for row in _rows(conn, t, t.c.state == self.source):
            values = {n: (None if row[n] is None else f.from_db(row[n])) for n, f in flow.fields.items()
                      if f.stored_in_row}
            entry = plan_entry(flow, self.target, values, row, now, creator_id=row["created_by"])
            system = {"state": self.target, "version": row["version"] + 1, "revision": ctx.revision,
                      "updated_by": ctx.applied_by, "updated_at": now}

            def write(entry_columns: dict[str, Any], row: dict[str, Any] = row,
                      system: dict[str, Any] = system) -> dict[str, Any]:
                new = {**system, **entry_columns}
                conn.execute(update(t).where(t.c.id == row["id"]).values(new))
                conn.execute(insert(history).values(
                    flow=flow.name, record_id=row["id"], at=now, actor_id=ctx.applied_by, action=MIGRATE_ACTION,
                    from_state=self.source, to_state=self.target, comment=comment, revision=ctx.revision))
                return {**row, **new}

            enter_state(conn, flow, entry, row, now, write=write, transition=None, actor_id=ctx.applied_by)


ClockMode = Literal["recompute", "start", "stop"]


def recomputed_clock(clock: StateClock, row: dict[str, Any], now: datetime,
                     pauses: Sequence[Span] | None = None) -> dict[str, Any]:
    """New due and warn instants of a running clock under a changed SLA, from the stage's start.

    `pauses`: the stage's finished pause intervals (engine/sla/pauses.py); a pause pushes the
    instants back only by the working time it took before they were reached. None when they are
    not known (paused before they were kept): the paused time (sla_paused_seconds) is then added on top.
    """
    start = row["sla_started_at"]
    if start is None:
        return {}
    if clock.date_fields:  # a deadline read off a date field of the record (engine/sla/date_deadlines.py)
        from engine.sla.date_deadlines import recomputed_status, stage_instants

        d_due, d_warn = stage_instants(clock, start, row, now)
        return recomputed_status(row, d_due, d_warn, now)
    assert clock.due is not None
    paused = int(row["sla_paused_seconds"] or 0)
    extra = Duration(seconds=paused) if paused and pauses is None else None
    spans = pauses or ()
    due = clock.clock.add(start, clock.due, spans)
    if extra:
        due = clock.clock.add(due, extra)
    warn = None
    if clock.warn_fraction is not None:
        warn = clock.clock.warn_instant(start, due, clock.warn_fraction, spans)
    elif clock.warn_after is not None:
        warn = clock.clock.add(start, clock.warn_after, spans)
        if extra:
            warn = clock.clock.add(warn, extra)
        if warn >= due:
            warn = None
    status = row["sla_status"]
    if row["sla_paused_at"] is not None:
        new_status = "paused"
    elif status == "breached" and due <= now:
        new_status = "breached"
    elif status == "warning" and warn is not None and warn <= now < due:
        new_status = "warning"
    else:
        new_status = "on_track"  # the scheduler warns or breaches from here, and notifies
    out: dict[str, Any] = {"sla_due_at": due, "sla_warn_at": warn, "sla_status": new_status}
    if new_status != status:
        out["sla_next_remind_at"] = None
    return out


@dataclass(frozen=True)
class ClockChange(Step):
    """Running clocks of a state whose SLA changed: recomputed, started or stopped."""

    state: str
    mode: ClockMode

    def key(self) -> tuple[str, ...]:
        return ("clocks", self.state, self.mode)

    def run(self, ctx: ApplyContext) -> None:
        t = build_flow_table(ctx.flow)
        if self.mode == "stop":
            ctx.conn.execute(update(t).where(t.c.sla_state == self.state).values(_CLEARED))
            prune_pauses(ctx.conn, ctx.flow.name, t)  # the stopped stages' pauses
            return
        prune_pauses(ctx.conn, ctx.flow.name, t)
        if self.mode == "start":
            cond = and_(t.c.state == self.state, t.c.sla_state.is_(None))
            for row in _rows(ctx.conn, t, cond):
                ctx.conn.execute(update(t).where(t.c.id == row["id"]).values(
                    clock_on_entry(ctx.flow, self.state, row, ctx.now)))
            return
        clock = ctx.flow.clocks[self.state]
        write = update(t).where(t.c.id == bindparam("_id"))
        found = stage_pauses(ctx.conn, ctx.flow.name, t, self.state)
        for row in _rows(ctx.conn, t, t.c.sla_state == self.state):
            new = recomputed_clock(clock, row, ctx.now, pauses_of(row, found))
            if new:
                ctx.conn.execute(write.values(new), {"_id": row["id"]})
