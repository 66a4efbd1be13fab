"""How far running SLA clocks move when a state's SLA changes (a new calendar, time zone, due or warn).

The plan says it in numbers, so an admin who changes a calendar's time zone sees what it does to
the deadlines people already work to: "3 running clocks move: 2 by +1h, 1 by -30m (record #7:
due 2026-12-01 17:00 → 18:00)". Each running clock is recomputed from its stage's start under
the new rule exactly as the apply step does (engine/evolve/record_steps.py `recomputed_clock`),
for at most MAX_CHECKED clocks (the plan says when it looked at only part of them).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Table, select

from engine.evolve.context import PlanContext
from engine.evolve.record_steps import recomputed_clock
from engine.sla.pauses import pauses_of, stage_pauses
from forms.message_parts import Count, Joined
from forms.messages import Message

MAX_CHECKED = 5000
MAX_GROUPS = 4


def signed(delta: timedelta) -> str:
    """+1h 30m, -45m, +2d 3h, ±0m."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "±0m"
    sign, seconds = ("+" if seconds > 0 else "-"), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or not parts else []
    return sign + " ".join(parts)


Clause = Message | str


def clock_moves(ctx: PlanContext, table: Table, old_state: str, new_state: str) -> tuple[Clause, Clause]:
    """Two clauses on how the running clocks of `old_state` move under `new_state`'s new rule ('' when none
    run): for on_change: recompute "; 3 running clocks move: …", for keep "; under the new rule they would move: …"."""
    clock = ctx.flow.clocks.get(new_state)
    if clock is None:
        return "", ""
    now = datetime.now(timezone.utc)
    rows = [dict(r) for r in ctx.conn.execute(select(table).where(table.c.sla_state == old_state)
                                              .order_by(table.c.id).limit(MAX_CHECKED)).mappings()]
    if not rows:
        return "", ""
    found = stage_pauses(ctx.conn, ctx.flow.name, table, old_state)
    moves: Counter[timedelta] = Counter()
    example: tuple[int, datetime, datetime] | None = None
    for row in rows:
        old_due = row["sla_due_at"]
        if old_due is None or row["sla_started_at"] is None:
            continue
        new = recomputed_clock(clock, row, now, pauses_of(row, found))
        new_due = new.get("sla_due_at") if new else None
        if new_due is None:
            continue
        old_due = old_due if old_due.tzinfo else old_due.replace(tzinfo=timezone.utc)
        new_due = new_due if new_due.tzinfo else new_due.replace(tzinfo=timezone.utc)
        delta = timedelta(minutes=int((new_due - old_due).total_seconds() / 60))  # as the plan says it: whole minutes
        moves[delta] += 1
        if delta and example is None:
            example = (int(row["id"]), old_due, new_due)
    moved = sum(n for d, n in moves.items() if d)
    if not moves:
        return "", ""
    if not moved:
        return Message("plan.clocks_stay", "; their due times stay the same ({clocks} checked)",
                       clocks=Count(sum(moves.values()), "clock")), ""
    groups = sorted(((d, n) for d, n in moves.items() if d), key=lambda g: -g[1])
    parts: list[Any] = [Message("plan.clocks_by", "{n} by {delta}", n=f"{n:,}", delta=signed(d)) for d, n in groups[:MAX_GROUPS]]
    if len(groups) > MAX_GROUPS:
        parts.append("...")
    detail: Message | str = ""
    if example is not None:
        tz = clock.clock.tz
        rid, before, after = example
        detail = Message("plan.clocks_example", " (record #{record}: due {before} → {after} {zone})", record=rid,
                         before=f"{before.astimezone(tz):%Y-%m-%d %H:%M}", after=f"{after.astimezone(tz):%Y-%m-%d %H:%M}",
                         zone=str(tz))
    limit: Message | str = ""
    if len(rows) == MAX_CHECKED:
        limit = Message("plan.clocks_limit", " — the first {n} clocks checked", n=f"{MAX_CHECKED:,}")
    shown = Joined.from_parts(parts)
    return (Message("plan.clocks_move", "; {clocks} move: {shown}{detail}{limit}",
                    clocks=Count(moved, "running clock"), shown=shown, detail=detail, limit=limit),
            Message("plan.clocks_would_move", "; under the new rule they would move: {shown}{detail}{limit}",
                    shown=shown, detail=detail, limit=limit))
