"""The in-app inbox of notifications (what the `inbox` channel delivers): list, count, mark read."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, func, select, update

from engine.storage.schema import notifications


@dataclass(frozen=True)
class Notification:
    id: int
    flow: str
    record_id: int
    state: str
    event: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def list_notifications(db: Engine, user_id: int, *, unread_only: bool = False, limit: int = 50,
                       before_id: int | None = None) -> list[Notification]:
    """A user's notifications, newest first (page on with `before_id`)."""
    n = notifications
    q = select(n).where(n.c.user_id == user_id).order_by(n.c.id.desc()).limit(limit)
    if unread_only:
        q = q.where(n.c.read_at.is_(None))
    if before_id is not None:
        q = q.where(n.c.id < before_id)
    with db.connect().execution_options(readonly=True) as conn:
        return [Notification(id=r.id, flow=r.flow, record_id=r.record_id, state=r.state, event=r.event,
                             title=r.title, body=r.body, created_at=r.created_at, read_at=r.read_at)
                for r in conn.execute(q)]


def unread_count(db: Engine, user_id: int) -> int:
    n = notifications
    with db.connect().execution_options(readonly=True) as conn:
        return int(conn.execute(select(func.count()).select_from(n).where(
            n.c.user_id == user_id, n.c.read_at.is_(None))).scalar_one())


def mark_read(db: Engine, user_id: int, ids: Sequence[int] | None = None, *, now: datetime | None = None) -> int:
    """Mark some (or, with ids=None, all) of a user's unread notifications read; returns how many changed."""
    n = notifications
    q = update(n).where(n.c.user_id == user_id, n.c.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        q = q.where(n.c.id.in_(list(ids)))
    with db.begin() as conn:
        return int(conn.execute(q.values(read_at=now or datetime.now(timezone.utc))).rowcount)
