"""The pause intervals of SLA stages, so that a reload recomputes a running clock exactly.

A transition into a ``pause_sla`` state opens an interval for the stage it
interrupts (``sla_pauses``), the transition that resumes the stage closes it,
and the stage's intervals are dropped when it ends (by a transition, or by a
reload that stops or moves clocks: ``prune_pauses``), so the table holds the
pauses of running stages only. The record only keeps the sum (``sla_paused_seconds``); a
reload with ``on_change: recompute`` needs the intervals themselves, because
a pause only pushes the due instant back if it came before the stage was due
under the new rule (engine/evolve/record_steps.py). Stages paused before these
intervals were kept fall back to adding the sum after the new due instant.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, insert, select, update
from sqlalchemy.engine import Connection

from engine.sla.calendar import Span
from engine.storage.schema import sla_pauses

StagePauses = Mapping[tuple[int, datetime], Sequence[tuple[Span, int]]]


def record_pause_change(conn: Connection, flow: str, record_id: int, before: Mapping[str, Any],
                        after: Mapping[str, Any], now: datetime) -> None:
    """Open an interval when a running stage is paused, close it when the stage resumes, drop the stage's
    intervals when it ends (a query only when the stage had been paused)."""
    paused_before, paused_after = before.get("sla_paused_at"), after.get("sla_paused_at")
    stage = before.get("sla_started_at")
    if stage is not None and after.get("sla_started_at") != stage:
        # The stage ended: its pauses are of no further use (only a running stage is recomputed).
        if paused_before is not None or int(before.get("sla_paused_seconds") or 0):
            conn.execute(delete(sla_pauses).where(sla_pauses.c.flow == flow, sla_pauses.c.record_id == record_id,
                                                  sla_pauses.c.stage_start == stage))
        if paused_after is None:
            return
    if paused_after is not None and paused_before is None and after.get("sla_started_at") is not None:
        conn.execute(insert(sla_pauses).values(
            flow=flow, record_id=record_id, stage_start=after["sla_started_at"], paused_at=paused_after,
            paused_seconds_before=int(after.get("sla_paused_seconds") or 0)))
    elif paused_before is not None and paused_after is None and before.get("sla_started_at") is not None:
        conn.execute(update(sla_pauses).where(
            sla_pauses.c.flow == flow, sla_pauses.c.record_id == record_id,
            sla_pauses.c.stage_start == before["sla_started_at"], sla_pauses.c.resumed_at.is_(None))
            .values(resumed_at=now))


def prune_pauses(conn: Connection, flow: str, table: Table) -> None:
    """Drop the flow's pauses of stages that are no longer running (ended outside a transition: a
    reload that stopped or moved clocks)."""
    p, t = sla_pauses, table
    running = exists().where(t.c.id == p.c.record_id, t.c.sla_started_at == p.c.stage_start)
    conn.execute(delete(p).where(p.c.flow == flow, ~running))


def stage_pauses(conn: Connection, flow: str, table: Table, state: str) -> StagePauses:
    """The finished pauses of the running stages in `state` by (record, stage start), in order, each with
    the paused time before it."""
    p, t = sla_pauses, table
    out: dict[tuple[int, datetime], list[tuple[Span, int]]] = {}
    rows = conn.execute(select(p.c.record_id, p.c.stage_start, p.c.paused_at, p.c.resumed_at,
                               p.c.paused_seconds_before)
                        .join_from(p, t, and_(t.c.id == p.c.record_id, t.c.sla_started_at == p.c.stage_start))
                        .where(p.c.flow == flow, p.c.resumed_at.is_not(None), t.c.sla_state == state)
                        .order_by(p.c.paused_at))
    for r in rows:
        out.setdefault((int(r.record_id), r.stage_start), []).append(((r.paused_at, r.resumed_at),
                                                                      int(r.paused_seconds_before)))
    return out


def pauses_of(row: Mapping[str, Any], found: StagePauses) -> list[Span] | None:
    """The finished pauses of the row's running stage, or None when they are not all known (paused before
    they were kept). A pause still open is not among them: it pushes the due instant when the stage resumes."""
    spans = found.get((int(row["id"]), row["sla_started_at"]), ())
    if not spans:
        return [] if not int(row.get("sla_paused_seconds") or 0) else None
    if spans[0][1] != 0:
        return None
    return [span for span, _ in spans]
