"""Database engines: SQLite (embedded default) and PostgreSQL (scale-out).

SQLite runs in WAL mode and write transactions start with BEGIN IMMEDIATE, so
two writers queue on the lock instead of failing half-way through a
read-then-write transaction. Read-only work passes `readonly=True` and runs in
autocommit mode: each statement reads a consistent snapshot and never waits
for writers.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.types import DateTime, TypeDecorator

from engine.storage.write_scope import flush_open_batch


UNICODE_LOWER = "rf_lower"


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


BUSY_TIMEOUT_MS = 30_000  # how long a statement waits for a lock (SQLite's busy handler)
BEGIN_POLL_SECONDS = 0.001


def begin_immediate(dbapi_conn: Any) -> None:
    """BEGIN IMMEDIATE, waiting for another writer by trying again every millisecond.

    SQLite's own busy handler backs off to 100 ms between tries, so against a
    writer that holds the lock most of the time (a server's group commit) a
    waiting process would only get in by luck; trying every millisecond catches
    the gaps between its transactions. Gives up after BUSY_TIMEOUT_MS, as the
    busy handler would.
    """
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline: float | None = None
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + BUSY_TIMEOUT_MS / 1000
                elif now >= deadline:
                    raise
                time.sleep(BEGIN_POLL_SECONDS)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _setup_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip per transaction. Connections are recycled
    # instead, and one that died is invalidated by SQLAlchemy on its first error.
    kwargs.setdefault("pool_recycle", 1800)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        from engine.storage.write_ahead import install
        install(engine)  # statements on a group's connection send its held-back writes first
    return engine


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
        cur.close()
        # SQLite's lower() and LIKE fold ASCII letters only; list search folds every script's case with this.
        dbapi_conn.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)

    # BEGIN is issued by the dialect itself rather than by a "begin" event listener:
    # any engine-level listener makes SQLAlchemy dispatch events on every statement.
    dialect = engine.dialect
    set_options = dialect.set_connection_execution_options

    def do_begin(dbapi_conn: Any) -> None:
        # isolation_level None is sqlite3's autocommit mode, which `readonly=True` asks for.
        if dbapi_conn.isolation_level is not None:
            flush_open_batch(dbapi_conn)  # never wait on a group commit this thread holds open
            begin_immediate(dbapi_conn)

    def set_connection_execution_options(connection: Connection, opts: dict[str, Any]) -> None:
        if opts.get("readonly") and "isolation_level" not in opts:
            opts = {**opts, "isolation_level": "AUTOCOMMIT"}
        set_options(connection, opts)

    dialect.do_begin = do_begin  # type: ignore[method-assign,assignment]
    dialect.set_connection_execution_options = set_connection_execution_options  # type: ignore[method-assign,assignment]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
