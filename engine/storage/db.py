"""Database engines: SQLite (embedded default) and PostgreSQL (scale-out).

SQLite runs in WAL mode and write transactions start with BEGIN IMMEDIATE, so
two writers queue on the lock instead of failing half-way through a
read-then-write transaction. Read-only work passes `readonly=True` and runs in
autocommit mode: each statement reads a consistent snapshot and never waits
for writers. Both are behaviours of `RelayflowSQLiteDialect`, a subclass of
SQLAlchemy's pysqlite dialect registered under the name `sqlite+relayflow`
through SQLAlchemy's dialect registry; `make_engine` uses it for every SQLite URL.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.types import DateTime, TypeDecorator


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


class RelayflowSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite whose write transactions start with BEGIN IMMEDIATE (see `begin_immediate`) and whose
    `readonly=True` connections run in autocommit mode.

    A dialect of its own rather than a "begin" event listener: any engine-level listener makes
    SQLAlchemy dispatch events on every statement."""

    supports_statement_cache = True
    # Called with the DBAPI connection before a write transaction begins on it. A server's group commit
    # (api/group_commit.py) sets one where it is assembled: a write on the event loop's thread that does
    # not come through its executor (a reload, a requeued delivery) commits the open batch first
    # instead of waiting on the lock that very thread holds.
    before_write: Callable[[Any], None] | None = None

    def do_begin(self, dbapi_connection: Any) -> None:
        # SQLAlchemy hands over the pool's proxy, which looks every attribute up again on each use: the
        # statements of BEGIN go to the sqlite3 connection itself.
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        # isolation_level None is sqlite3's autocommit mode, which `readonly=True` asks for.
        if raw.isolation_level is not None:
            if self.before_write is not None:
                self.before_write(dbapi_connection)
            begin_immediate(raw)

    def do_commit(self, dbapi_connection: Any) -> None:
        getattr(dbapi_connection, "dbapi_connection", dbapi_connection).commit()  # past the proxy, as do_begin

    def set_connection_execution_options(self, connection: Connection, opts: Mapping[str, Any]) -> None:
        if opts.get("readonly") and "isolation_level" not in opts:
            opts = {**opts, "isolation_level": "AUTOCOMMIT"}
        super().set_connection_execution_options(connection, opts)


registry.register("sqlite.relayflow", __name__, "RelayflowSQLiteDialect")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        sqlite_url = make_url(url)
        if sqlite_url.drivername in ("sqlite", "sqlite+pysqlite"):
            sqlite_url = sqlite_url.set(drivername="sqlite+relayflow")
        engine = create_engine(sqlite_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _setup_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip per transaction. Connections are recycled
    # instead, and one that died is invalidated by SQLAlchemy on its first error.
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
        cur.execute("PRAGMA wal_autocheckpoint=4000")  # pages (4 KiB): fewer checkpoints, each with its fsync, on the write path
        cur.close()
        # SQLite's lower() and LIKE fold ASCII letters only; list search folds every script's case with this.
        dbapi_conn.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)


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
