"""The outbox: notifications waiting to be delivered, claimed with a lease, retried with backoff.

Rows are written in the same transaction as the event that caused them (a
transition, or a scheduler pass), each with a stable ``dedupe_key``
(``flow:record:state@stage-start:event[@instant]:recipient:channel``) that is
unique in the table and travels with every delivery so receivers can drop
repeats.

Claiming: a worker takes up to N pending rows whose ``next_attempt_at`` has
come, and pushes ``next_attempt_at`` to the end of its lease (PostgreSQL:
``FOR UPDATE SKIP LOCKED``, so workers never wait on each other; SQLite: one
atomic ``UPDATE ... RETURNING``, its single writer does the rest). A worker
that dies mid-batch leaves its rows pending with an expired lease: they are
claimed again. Retries use the same column: a failure sets
``next_attempt_at`` to now + backoff (exponential, capped), so the schedule
survives restarts; after ``max_attempts`` claims the row is dead-lettered.
Every attempt is written to ``deliveries``, the log an admin reads.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.engine import Connection

from engine.settings import Settings
from engine.storage.fastsql import FastInsert
from engine.storage.schema import deliveries, outbox

PENDING, SENT, DEAD = "pending", "sent", "dead"
# Not sent because it no longer applies: the SLA stage it warns about ended before it could go out.
DROPPED = "dropped"
# Not sent because the breach came first (after a downtime, or between two passes): a warning that its
# deadline has passed is not delivered late; the row is kept so the delivery log shows it.
SUPERSEDED = "superseded"
# Not sent yet because where it goes is not configured (an `events:` entry whose url_setting is not set): kept,
# and given back to the queue by a worker that starts with the setting (`release_held`).
HELD = "held"
SUPERSEDED_WHY = "not sent: the deadline passed before the warning could go out; the breach reminder replaces it"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How many times to try, how long to wait between tries, how long a claim lasts."""

    max_attempts: int = 8
    base_backoff: float = 30.0  # seconds before the 2nd attempt; doubles each time
    max_backoff: float = 6 * 3600.0
    lease: float = 120.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryPolicy:
        """From this process's environment, or from `env` (tests)."""
        return cls.from_settings(Settings.from_env() if env is None else Settings.from_mapping(env))

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(max_attempts=settings.outbox_max_attempts, base_backoff=settings.outbox_backoff,
                   max_backoff=settings.outbox_max_backoff, lease=settings.outbox_lease)

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed try: base, 2·base, 4·base … capped."""
        return timedelta(seconds=min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts - 1)))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch(instant: datetime) -> int:
    """Unix microseconds, exactly (a stage's start in a dedupe key; see reminder_plan.epoch_micros)."""
    return (instant - _EPOCH) // timedelta(microseconds=1)


def dedupe_key(flow: str, record_id: int, state: str, stage_start: int, event: str, recipient: str,
               channel: str) -> str:
    """``sales_order:42:review@1795400000000000:breach:u7:email``: the stage's start in microseconds; the event
    may carry ``@instant`` (repeats)."""
    return f"{flow}:{record_id}:{state}@{stage_start}:{event}:{recipient}:{channel}"


def add_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outbox rows given as dicts (missing bookkeeping columns filled in); repeats of a key are skipped."""
    if not rows:
        return 0
    existing = set(conn.execute(select(outbox.c.dedupe_key).where(
        outbox.c.dedupe_key.in_([r["dedupe_key"] for r in rows]))).scalars())
    fresh: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["dedupe_key"] not in existing and r["dedupe_key"] not in fresh:
            fresh[r["dedupe_key"]] = {"status": PENDING, "attempts": 0, "next_attempt_at": r["created_at"],
                                      "user_id": None, "address": None, "due_at": None, **r}
    if fresh:
        conn.execute(insert(outbox), list(fresh.values()))
    return len(fresh)


_insert_outbox = FastInsert(outbox)


def add_new_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outbox rows whose keys are new by construction (each names a fresh event id), as `add_rows`
    does but without looking for repeats first: a record's create, edit or transition writes them."""
    for r in rows:
        _insert_outbox.run(conn, {"status": PENDING, "attempts": 0, "next_attempt_at": r["created_at"],
                                  "user_id": None, "address": None, "due_at": None, **r})
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """One claimed outbox row; ``attempt`` identifies the claim (it only ever grows)."""

    row: Mapping[str, Any]

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def attempt(self) -> int:
        return int(self.row["attempts"])


def claim(db: Engine, worker: str, *, limit: int = 50, now: datetime | None = None,
          policy: DeliveryPolicy | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due rows for ``worker`` until now + lease."""
    policy = policy or DeliveryPolicy()
    now = now or datetime.now(timezone.utc)
    due = (select(outbox.c.id)
           .where(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now)
           .order_by(outbox.c.next_attempt_at, outbox.c.id)
           .limit(limit))
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (update(outbox)
                .where(outbox.c.id.in_(due.scalar_subquery()))
                .values(next_attempt_at=now + timedelta(seconds=policy.lease), claimed_by=worker,
                        attempts=outbox.c.attempts + 1)
                .returning(*outbox.c))
        rows = conn.execute(stmt).mappings().all()
    return sorted((Claimed(dict(r)) for r in rows), key=lambda c: c.id)


def _log(conn: Connection, c: Claimed, worker: str, outcome: str, started: datetime, detail: str | None) -> None:
    ended = datetime.now(timezone.utc)
    conn.execute(insert(deliveries).values(
        outbox_id=c.id, attempt=c.attempt, at=ended, worker=worker, outcome=outcome,
        duration_ms=max(0, int((ended - started).total_seconds() * 1000)), detail=(detail or "")[:2000] or None))


def _mine(c: Claimed, worker: str) -> Any:
    """Only the claim that is still current may settle a row (a re-claim after the lease wins)."""
    return and_(outbox.c.id == c.id, outbox.c.claimed_by == worker, outbox.c.attempts == c.attempt,
                outbox.c.status == PENDING)


def mark_sent(db: Engine, c: Claimed, worker: str, *, started: datetime, detail: str | None = None) -> bool:
    """Record a successful delivery; False if the claim had already expired and was taken over."""
    now = datetime.now(timezone.utc)
    with db.begin() as conn:
        res = conn.execute(update(outbox).where(_mine(c, worker)).values(status=SENT, sent_at=now, last_error=None))
        _log(conn, c, worker, SENT, started, detail if res.rowcount else f"{detail or ''} (claim had expired)")
    return res.rowcount == 1


def mark_dropped(db: Engine, c: Claimed, worker: str, reason: str, *, started: datetime) -> bool:
    """Settle a row that must not be sent any more; the delivery log says why."""
    with db.begin() as conn:
        res = conn.execute(update(outbox).where(_mine(c, worker)).values(status=DROPPED, last_error=None))
        _log(conn, c, worker, DROPPED, started, reason)
    return res.rowcount == 1


def mark_failed(db: Engine, c: Claimed, worker: str, error: str, *, started: datetime, permanent: bool = False,
                policy: DeliveryPolicy | None = None, now: datetime | None = None) -> str:
    """Schedule a retry at now + backoff, or dead-letter the row; returns the outcome ('retry' or 'dead')."""
    policy = policy or DeliveryPolicy()
    now = now or datetime.now(timezone.utc)
    dead = permanent or c.attempt >= policy.max_attempts
    values: dict[str, Any] = {"last_error": error[:2000]}
    if dead:
        values["status"] = DEAD
    else:
        values["next_attempt_at"] = now + policy.backoff(c.attempt)
    outcome = DEAD if dead else "retry"
    with db.begin() as conn:
        conn.execute(update(outbox).where(_mine(c, worker)).values(**values))
        _log(conn, c, worker, outcome, started, error)
    return outcome


def mark_held(db: Engine, c: Claimed, worker: str, reason: str, *, started: datetime) -> bool:
    """Keep a row unsent until its destination is configured; the delivery log says why."""
    with db.begin() as conn:
        res = conn.execute(update(outbox).where(_mine(c, worker)).values(status=HELD, last_error=reason[:2000]))
        _log(conn, c, worker, HELD, started, reason)
    return res.rowcount == 1


def release_held(db: Engine, channel: str, recipients: Sequence[str]) -> int:
    """Give the held rows of `channel` for these recipients (now configured) back to the queue, attempts afresh,
    due at once (their own creation instant), in their order."""
    if not recipients:
        return 0
    with db.begin() as conn:
        res = conn.execute(update(outbox).where(outbox.c.status == HELD, outbox.c.channel == channel,
                                                outbox.c.recipient.in_(list(recipients)))
                           .values(status=PENDING, attempts=0, next_attempt_at=outbox.c.created_at, claimed_by=None))
    return int(res.rowcount)


def requeue(db: Engine, ids: Sequence[int], *, now: datetime | None = None) -> int:
    """Give dead-lettered rows a fresh set of attempts (an admin's "retry")."""
    now = now or datetime.now(timezone.utc)
    with db.begin() as conn:
        res = conn.execute(update(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.status == DEAD)
                           .values(status=PENDING, attempts=0, next_attempt_at=now, claimed_by=None))
    return int(res.rowcount)


def list_rows(db: Engine, *, status: str | None = None, flow: str | None = None, record_id: int | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
    """Outbox rows, newest first (for the admin)."""
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(outbox.c.status == status)
    if flow:
        q = q.where(outbox.c.flow == flow)
    if record_id is not None:
        q = q.where(outbox.c.record_id == record_id)
    with db.connect().execution_options(readonly=True) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def delivery_log(db: Engine, *, outbox_id: int | None = None, outcome: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Delivery attempts with their message's key, channel and recipient, newest first."""
    q = (select(deliveries, outbox.c.dedupe_key, outbox.c.channel, outbox.c.recipient, outbox.c.flow,
                outbox.c.record_id, outbox.c.event, outbox.c.status)
         .join(outbox, outbox.c.id == deliveries.c.outbox_id)
         .order_by(deliveries.c.id.desc()).limit(limit))
    if outbox_id is not None:
        q = q.where(deliveries.c.outbox_id == outbox_id)
    if outcome:
        q = q.where(deliveries.c.outcome == outcome)
    with db.connect().execution_options(readonly=True) as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def counts(db: Engine) -> dict[str, int]:
    """How many rows are pending, sent and dead."""
    with db.connect().execution_options(readonly=True) as conn:
        return {s: int(n) for s, n in conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))}
