"""Where a record write runs: its own transaction, an enclosing one, or the shared one of a group commit.

The COMMIT (SQLite: writing the WAL; PostgreSQL: BEGIN and COMMIT round trips)
is a large part of a small write. A server that handles many concurrent
requests can put their writes into one transaction and commit once
(api/group_commit.py). This module is the engine's side of that: a thread may
open a `WriteBatch`; while one of its jobs runs, `write_transaction` hands the
job the batch's connection instead of starting a transaction of its own. The
same goes for writes nested in another `write_transaction` on the same thread
(a record change and its stored idempotent answer commit together).

Any other write transaction started on that thread while a batch is open (a
page that saves a session, a claim) commits the batch first, so a thread
never waits on its own open transaction (see `flush_open_batch`, called by
engine/storage/db.py before every BEGIN on SQLite).
"""
from __future__ import annotations

import threading
from contextvars import ContextVar
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.engine import Connection


class WriteBatch(Protocol):
    db: Engine
    conn: Connection
    in_job: bool

    def flush(self) -> None: ...


# What a write job will touch, so that a PostgreSQL group can read it ahead (engine/storage/write_ahead.py):
# (flow name, record id), the record id None for a record it creates.
Touch = tuple[str, int | None]

_local = threading.local()
# A batch run in a greenlet on the event loop (api/group_commit.py, PostgreSQL): other groups and
# requests share the loop's thread, but each greenlet has a context of its own.
_context_batch: ContextVar[WriteBatch | None] = ContextVar("relayflow_write_batch", default=None)


def open_batch() -> WriteBatch | None:
    return _context_batch.get() or getattr(_local, "batch", None)


def set_open_batch(batch: WriteBatch | None) -> None:
    _local.batch = batch


def set_context_batch(batch: WriteBatch | None) -> None:
    """The batch of the code running in this context only (a greenlet's own context)."""
    _context_batch.set(batch)


class _Shared:
    """A connection whose transaction someone else commits (the batch, or the enclosing write)."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


class _Own:
    """A new transaction, which nested `write_transaction`s on this thread share until it ends."""

    __slots__ = ("tx", "previous")

    def __init__(self, db: Engine) -> None:
        self.tx = db.begin()
        self.previous: Connection | None = None

    def __enter__(self) -> Connection:
        conn = self.tx.__enter__()
        self.previous = getattr(_local, "outer", None)  # another database's write, if any
        _local.outer = conn
        return conn

    def __exit__(self, *exc: Any) -> None:
        _local.outer = self.previous
        self.tx.__exit__(*exc)


def write_transaction(db: Engine) -> AbstractContextManager[Connection]:
    """A connection inside a write transaction: the running batch job's, or the enclosing
    `write_transaction`'s on this thread (so that several writes commit as one), else a new one.

    (Classes rather than a generator: this is on every write's path.)
    """
    batch = open_batch()
    if batch is not None and batch.in_job and batch.db is db:
        return _Shared(batch.conn)  # the batch commits (or rolls back and re-runs) this job's work
    outer: Connection | None = getattr(_local, "outer", None)
    if outer is not None and outer.engine is db:
        return _Shared(outer)
    return _Own(db)


def read_connection(db: Engine) -> AbstractContextManager[Connection]:
    """A connection for a read: inside a write job or an enclosing write on this thread, that write's
    own (it sees the write so far, and a PostgreSQL group on the event loop opens no blocking
    connection beside its own); else a read-only one."""
    batch = open_batch()
    if batch is not None and batch.in_job and batch.db is db:
        return _Shared(batch.conn)
    outer: Connection | None = getattr(_local, "outer", None)
    if outer is not None and outer.engine is db:
        return _Shared(outer)
    return db.connect().execution_options(readonly=True)


def flush_open_batch(dbapi_conn: Any) -> None:
    """Before a new write transaction on this thread: commit the open batch unless it is this one."""
    batch = open_batch()
    if batch is not None and not batch.in_job and _raw(batch.conn) is not dbapi_conn:
        batch.flush()


def _raw(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


def run_job(batch: WriteBatch, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `fn` as one job of `batch` (its writes go into the batch's transaction)."""
    batch.in_job = True
    try:
        return fn(*args, **kwargs)
    finally:
        batch.in_job = False
