"""Dashboard figures shared by every server and worker of one database (table `dashboard_figures`).

Computing a board at 1,000,000 records takes seconds (bench/dashboard.py). Each server keeps the figures it
has in memory (engine/records/dashboards.py `FigureCache`), but without a shared place every server process
would compute every scope itself, and after a restart the first reader of each scope would wait again. So
the last figures of each (flow, board, scope) are kept in the database too:

* a server that has no fresh figures in memory reads them here (one row by its key) before computing;
* what a server or a worker computes is written here, with the instant it was computed (`computed_at`);
* a worker (engine/delivery/worker.py) computes again, ahead of their expiry, the figures somebody read in
  the last `keep` seconds, so a reader of a busy board never waits for the computation; rows nobody read for
  `keep` seconds are dropped, and so are rows of an older flow revision or of a reader whose roles changed.

Visibility holds exactly as without the table: a row's scope is the one engine/records/dashboards.py `scope`
names (every record, or one reader's own visibility), and the worker computes a row for the very reader who
asked for it (loaded again, with their roles of now: when those differ from the ones in the scope the row is
dropped, never computed for another set of roles).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, or_, select, update
from sqlalchemy.engine import Connection

from engine.storage.schema import dashboard_figures as table

log = logging.getLogger("relayflow.dashboards")

DEFAULT_KEEP = 3600.0  # seconds a scope's figures are kept warm after their last reader (RELAYFLOW_DASHBOARD_KEEP)
LEASE = timedelta(minutes=5)  # how long a worker's claim on a row lasts (a crashed worker's claim runs out)


@dataclass(frozen=True)
class Figures:
    """A board's figures as computed at `as_of` for one scope; `age`: seconds since they were computed, when
    they were handed over (0 for figures just computed; more for figures read from the table)."""

    flow: str
    board: int
    as_of: datetime
    widgets: list[Any]  # one data value per widget, in the board's order
    age: float = 0.0


@dataclass(frozen=True)
class BoardKey:
    """Which figures: a flow's board for one visibility scope, at one revision of the flow."""

    flow: str
    revision: int
    board: int
    scope: str


@dataclass(frozen=True)
class Stale:
    """A row a worker should compute again: its key, and the reader it was computed for."""

    key: BoardKey
    user_id: int | None
    computed_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pk(key: BoardKey) -> list[ColumnElement[bool]]:
    return [table.c.flow == key.flow, table.c.board == key.board, table.c.scope == key.scope]


class FigureStore:
    """Reads and writes the shared figures of one database."""

    def __init__(self, db: Engine, *, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.clock = clock

    def load(self, key: BoardKey, *, mark_read: bool = True) -> Figures | None:
        """The stored figures of `key` (their `age` set from when they were computed), or None; `mark_read`
        notes that somebody reads them (a worker keeps them fresh while somebody does)."""
        now = self.clock()
        q = select(table.c.revision, table.c.as_of, table.c.computed_at, table.c.widgets).where(*_pk(key))
        if mark_read:
            with self.db.begin() as conn:
                conn.execute(update(table).where(*_pk(key), table.c.revision == key.revision).values(read_at=now))
                row = conn.execute(q).first()
        else:
            with self.db.connect() as conn:
                row = conn.execute(q).first()
        if row is None or row.revision != key.revision:
            return None
        age = max(0.0, (now - row.computed_at).total_seconds())
        return Figures(key.flow, key.board, row.as_of, json.loads(row.widgets), age=age)

    def save(self, key: BoardKey, user_id: int | None, figures: Figures) -> None:
        """Keep `figures` as the latest of `key`, computed now for the reader `user_id`."""
        now = self.clock()
        values = {"revision": key.revision, "user_id": user_id, "as_of": figures.as_of, "computed_at": now,
                  "lease_until": None, "widgets": json.dumps(figures.widgets, separators=(",", ":"))}
        with self.db.begin() as conn:
            if conn.execute(update(table).where(*_pk(key)).values(**values)).rowcount == 0:
                self._insert(conn, key, {**values, "read_at": now})

    def _insert(self, conn: Connection, key: BoardKey, values: dict[str, object]) -> None:
        row = {"flow": key.flow, "board": key.board, "scope": key.scope, **values}
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        stmt = upsert(table).values(**row)
        conn.execute(stmt.on_conflict_do_update(index_elements=["flow", "board", "scope"],
                                                set_={k: stmt.excluded[k] for k in values}))

    def stale(self, *, older_than: float, read_within: float, limit: int = 100) -> list[Stale]:
        """Rows computed more than `older_than` seconds ago that somebody read in the last `read_within`
        seconds and no worker is computing now: the oldest first."""
        now = self.clock()
        q = (select(table.c.flow, table.c.revision, table.c.board, table.c.scope, table.c.user_id, table.c.computed_at)
             .where(table.c.computed_at <= now - timedelta(seconds=older_than),
                    table.c.read_at >= now - timedelta(seconds=read_within),
                    or_(table.c.lease_until.is_(None), table.c.lease_until < now))
             .order_by(table.c.computed_at).limit(limit))
        with self.db.connect() as conn:
            return [Stale(BoardKey(r.flow, r.revision, r.board, r.scope), r.user_id, r.computed_at)
                    for r in conn.execute(q)]

    def claim(self, row: Stale) -> bool:
        """Take `row` for computing (False: another worker took it, or it was computed since it was listed)."""
        now = self.clock()
        with self.db.begin() as conn:
            return conn.execute(update(table).where(
                *_pk(row.key), table.c.computed_at == row.computed_at,
                or_(table.c.lease_until.is_(None), table.c.lease_until < now)).values(lease_until=now + LEASE)).rowcount == 1

    def drop(self, key: BoardKey) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(table).where(*_pk(key)))

    def forget_unread(self, keep: float) -> int:
        """Drop the rows nobody read for `keep` seconds; how many."""
        with self.db.begin() as conn:
            return conn.execute(delete(table).where(table.c.read_at < self.clock() - timedelta(seconds=keep))).rowcount

    def clear(self) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(table))


@dataclass
class RefreshResult:
    computed: int = 0
    dropped: int = 0
    left: int = 0  # rows still stale when the time budget ran out


def refresh_ahead(store: FigureStore, compute: Callable[[Stale], Figures | None], *, ttl: float, keep: float,
                  budget: float = 20.0) -> RefreshResult:
    """Compute again the figures that half their `ttl` has passed for and somebody read in the last `keep`
    seconds, oldest first, for at most `budget` seconds; `compute` gives a row's figures, or None when they
    are no longer to be kept (flow or board gone, another revision, the reader's scope changed)."""
    out = RefreshResult(dropped=store.forget_unread(keep))
    began = time.monotonic()
    rows = store.stale(older_than=ttl / 2, read_within=keep)
    for i, row in enumerate(rows):
        if time.monotonic() - began > budget:
            out.left = len(rows) - i
            break
        if not store.claim(row):
            continue
        try:
            figures = compute(row)
        except Exception:  # the old figures stay; the lease runs out and the next pass tries again
            log.exception("dashboard figures %s could not be computed", row.key)
            continue
        if figures is None:
            store.drop(row.key)
            out.dropped += 1
            continue
        store.save(row.key, row.user_id, figures)
        out.computed += 1
    return out
