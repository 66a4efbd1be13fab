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
    """db.begin() as a write transaction (a class, not a generator: this is on every write's path)."""

    __slots__ = ("_begin",)

    def __init__(self, db: Engine) -> None:
        self._begin = db.begin()

    def __enter__(self) -> WriteTransaction:
        return PlainTransaction(self._begin.__enter__())

    def __exit__(self, *exc: Any) -> None:
        self._begin.__exit__(*exc)


class PlainExecutor:
    """Each write in a transaction of its own on `db`."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def transaction(self) -> AbstractContextManager[WriteTransaction]:
        return _OwnTransaction(self.db)

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

