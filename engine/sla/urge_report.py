"""Urges (催办) in the SLA report: how often each stage was urged, and whom (engine/records/task_actions.py
`urge` writes one `urges` row per urge, with the people it reached)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.storage.schema import urges, users


@dataclass(frozen=True)
class UrgedPerson:
    """One person urged in one stage: how many times over the period."""

    state: str
    user_id: int
    name: str
    count: int


def _period(q, since: datetime | None, until: datetime | None):  # type: ignore[no-untyped-def]
    if since is not None:
        q = q.where(urges.c.at >= since)
    if until is not None:
        q = q.where(urges.c.at < until)
    return q


def urges_by_stage(conn: Connection, flow: str, since: datetime | None = None,
                   until: datetime | None = None) -> dict[str, int]:
    """state → how many urges over [since, until)."""
    q = _period(select(urges.c.state, func.count()).where(urges.c.flow == flow), since, until)
    return {str(s): int(n) for s, n in conn.execute(q.group_by(urges.c.state))}


def urged_people(conn: Connection, flow: str, since: datetime | None = None,
                 until: datetime | None = None) -> list[UrgedPerson]:
    """Per stage and person urged: how many times, most urged first (an urge reaching three people counts once
    for each of them)."""
    q = _period(select(urges.c.state, urges.c.recipients).where(urges.c.flow == flow), since, until)
    counts: Counter[tuple[str, int]] = Counter()
    for state, recipients in conn.execute(q):
        for uid in recipients or ():
            counts[(str(state), int(uid))] += 1
    if not counts:
        return []
    ids = sorted({uid for _, uid in counts})
    names = {int(i): str(n or u) for i, u, n in conn.execute(
        select(users.c.id, users.c.username, users.c.display_name).where(users.c.id.in_(ids)))}
    rows = [UrgedPerson(state, uid, names.get(uid, f"#{uid}"), n) for (state, uid), n in counts.items()]
    return sorted(rows, key=lambda r: (-r.count, r.state, r.name))
