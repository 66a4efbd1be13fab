"""The plain executors: a transaction of its own per write, or one transaction shared explicitly.

`PlainExecutor` is what the CLI, the worker and a server without group commit
use. `JoinedExecutor` hands out a transaction somebody else owns: the job of a
group commit writes into its batch's transaction, and a record write and its
stored idempotent answer share one (api/idempotent.py) by passing it on.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Executable, select
from sqlalchemy.engine import Connection, CursorResult

from engine.records.errors import StaleVersion
from engine.storage.executor import WriteExecutor, WriteTransaction

if TYPE_CHECKING:
    from engine.storage.fastsql import FastInsert, FastStatements


def current_version(conn: Connection, fast: FastStatements, record_id: int) -> int:
    t = fast.table
    return int(conn.execute(select(t.c.version).where(t.c.id == record_id)).scalar() or 0)


class PlainTransaction:
    """Statements run as they come on `conn`, inside a transaction its owner commits."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def conn(self) -> Connection:
        return self._conn

    def load(self, fast: FastStatements, record_id: int) -> dict[str, Any] | None:
        return fast.select_by_id(self._conn, record_id)

    def guarded_update(self, fast: FastStatements, record_id: int, version: int,
                       values: Mapping[str, Any]) -> int:
        updated = fast.update(self._conn, record_id, version, values)
        if updated != 1:
            raise StaleVersion(current_version(self._conn, fast, record_id), version)
        return updated

    def insert_record(self, fast: FastStatements, row: Mapping[str, Any]) -> int:
        return fast.insert(self._conn, row)

    def insert(self, ins: FastInsert, row: Mapping[str, Any]) -> None:
        ins.run(self._conn, row)

    def execute(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        return self._conn.execute(stmt, params)


class _OwnTransaction:
    """A write transaction of its own (a class, not a generator: this is on every write's path).

    On SQLite the connection is kept for the executor's next write instead of going back to the pool: taking
    one from the pool and giving it back (a Connection object, the checkout, the reset) costs about as much as
    the statements of a small write. A file database's connections never go stale, and at most `KEEP` are
    kept; on PostgreSQL every transaction takes its connection from the pool, which recycles old ones."""

    __slots__ = ("_executor", "_conn", "_tx")

    def __init__(self, executor: PlainExecutor) -> None:
        self._executor = executor

    def __enter__(self) -> WriteTransaction:
        idle = self._executor._idle
        try:
            conn = idle.pop()
        except IndexError:
            conn = self._executor.db.connect()
        try:
            self._tx = conn.begin()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return PlainTransaction(conn)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self._conn
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        except BaseException:
            conn.close()
            raise
        executor = self._executor
        if executor.keeps and not conn.invalidated and len(executor._idle) < KEEP:
            executor._idle.append(conn)
        else:
            conn.close()


KEEP = 2  # SQLite connections a PlainExecutor keeps between its writes


class PlainExecutor:
    """Each write in a transaction of its own on `db`."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.keeps = db.dialect.name == "sqlite"
        self._idle: list[Connection] = []  # connections kept between writes (SQLite; see _OwnTransaction)

    def transaction(self) -> AbstractContextManager[WriteTransaction]:
        return _OwnTransaction(self)

    def close(self) -> None:
        """Give the kept connections back to the pool."""
        while self._idle:
            self._idle.pop().close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit the pool may be gone already
            pass

    def read(self) -> AbstractContextManager[Connection]:
        return self.db.connect().execution_options(readonly=True)


class JoinedExecutor:
    """Hands out `tx` itself: writes join it, and its owner commits (or rolls back) them all."""

    def __init__(self, tx: WriteTransaction) -> None:
        self.tx = tx
        self.db: Engine = tx.conn.engine

    def transaction(self) -> AbstractContextManager[WriteTransaction]:
        return nullcontext(self.tx)

    def read(self) -> AbstractContextManager[Connection]:
        return nullcontext(self.tx.conn)


def executor_for(target: Engine | WriteExecutor) -> WriteExecutor:
    """`target` itself, or a PlainExecutor on it when given a bare Engine (the CLI, tests)."""
    if isinstance(target, Engine):
        return PlainExecutor(target)
    return target

