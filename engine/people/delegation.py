"""Out-of-office delegation: from a start until an end, someone else stands in for a user.

A user has at most one setting (`delegations`, keyed by the user): to whom, from when, until when
(the end is exclusive; the pages and the CLI take days and mean "from the start of the first day
to the end of the last", in the server's zone). While it runs, the delegate's inbox shows the
user's tasks, marked; the delegate may see them and act on them with the user's roles, and every
such act is written to history with both people: `actor_id` who acted, `on_behalf_of` who was
responsible (engine/records/ownership.py). It is not passed on: a delegate's own delegate does
not see the first user's tasks.

Refused: a delegation to oneself, to an unknown or inactive user, an end before the start, and a
cycle (the delegate has delegated back to the user, directly or through others, for an
overlapping time): two people away, each relying on the other, would leave the work with nobody.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from forms.messages import Message
from engine.records.errors import ValidationFailed
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.storage.schema import delegations, users


@dataclass(frozen=True)
class Delegation:
    user: str  # who is away
    delegate: str  # who stands in
    delegate_name: str
    starts_at: datetime
    ends_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(timezone.utc)
        return {"user": self.user, "delegate": self.delegate, "delegate_name": self.delegate_name,
                "starts_at": self.starts_at, "ends_at": self.ends_at, "active": self.active(now)}


def day_span(first: date, last: date, tz: tzinfo = timezone.utc) -> tuple[datetime, datetime]:
    """From the start of day `first` to the end of day `last` in `tz`, as UTC instants (end exclusive)."""
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _uid(conn: Connection, username: str, what: str, *, active: bool = False) -> int:
    row = conn.execute(select(users.c.id, users.c.active).where(users.c.username == username)).first()
    if row is None or (active and not row.active):
        raise ValidationFailed({what: Message("unknown_active_user", "no active user '{u}'", u=username)})
    return int(row.id)


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def set_delegation(db: Engine | WriteExecutor, username: str, delegate: str, starts_at: datetime, ends_at: datetime,
                   *, now: datetime | None = None) -> None:
    """Set (or replace) `username`'s out-of-office delegation to `delegate` from `starts_at` until `ends_at`."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("give aware instants")
    if ends_at <= starts_at:
        raise ValidationFailed({"until": Message("delegation_order", "the end must come after the start")})
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        uid = _uid(conn, username, "user")
        to = _uid(conn, delegate, "delegate", active=True)
        if to == uid:
            raise ValidationFailed({"delegate": Message("delegation_self", "you cannot hand your tasks to yourself")})
        span = (starts_at, ends_at)
        # Follow the delegate's own delegation, and theirs, ...: back to the user while the times overlap = a cycle.
        settings = {r.user_id: r for r in conn.execute(select(delegations))}
        node, seen = to, {uid}
        while node in settings:
            nxt = settings[node]
            if not _overlaps(span, (nxt.starts_at, nxt.ends_at)):
                break
            if nxt.delegate_id in seen:
                name = conn.execute(select(users.c.display_name).where(users.c.id == node)).scalar()
                raise ValidationFailed({"delegate": Message(
                    "delegation_cycle", "{name} has handed their own tasks on to you (or through others back to you) "
                    "for the same days: choose someone else", name=name)})
            seen.add(node)
            node = nxt.delegate_id
        conn.execute(delete(delegations).where(delegations.c.user_id == uid))
        conn.execute(insert(delegations).values(user_id=uid, delegate_id=to, starts_at=starts_at, ends_at=ends_at,
                                                created_at=now or datetime.now(timezone.utc)))


def clear_delegation(db: Engine | WriteExecutor, username: str) -> None:
    with executor_for(db).transaction() as tx:
        uid = _uid(tx.conn, username, "user")
        tx.conn.execute(delete(delegations).where(delegations.c.user_id == uid))


def get_delegation(db: Engine | WriteExecutor, username: str) -> Delegation | None:
    """The user's setting (running, future or past), or None."""
    me = users.alias("me")
    q = (select(me.c.username, users.c.username.label("delegate"), users.c.display_name,
                delegations.c.starts_at, delegations.c.ends_at)
         .select_from(delegations.join(me, me.c.id == delegations.c.user_id)
                      .join(users, users.c.id == delegations.c.delegate_id))
         .where(me.c.username == username))
    with executor_for(db).read() as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    return Delegation(row.username, row.delegate, row.display_name, row.starts_at, row.ends_at)


def delegators_clause(delegate: Any, now: Any) -> Select[Any]:
    """SELECT of the users for whom `delegate` (an id or a bind parameter) stands in at `now`."""
    return select(delegations.c.user_id).where(_running(delegate, now))


def _running(delegate: Any, now: Any) -> ColumnElement[bool]:
    return and_(delegations.c.delegate_id == delegate, delegations.c.starts_at <= now, delegations.c.ends_at > now)


def delegators(conn: Connection, delegate: int, now: datetime) -> dict[int, str]:
    """id → display name of the (active) users for whom `delegate` stands in now."""
    q = (select(users.c.id, users.c.display_name).join(delegations, delegations.c.user_id == users.c.id)
         .where(_running(delegate, now), users.c.active.is_(True)))
    return {int(r.id): str(r.display_name) for r in conn.execute(q)}


def stands_in_for(conn: Connection, delegate: int, user: int, now: datetime) -> bool:
    """Does `delegate` stand in for `user` at `now`?"""
    q = select(delegations.c.user_id).where(delegations.c.user_id == user, _running(delegate, now))
    return conn.execute(q).first() is not None
