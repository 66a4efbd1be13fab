"""The write path's one interface: a write transaction, and the executor that hands them out.

Everything in the engine that writes (records, claims, users, tokens,
sessions, idempotency keys) writes through a `WriteTransaction` obtained from
a `WriteExecutor` it was given. Which executor that is gets decided once,
where the program is assembled:

* `PlainExecutor` (engine/storage/plain.py): a transaction of its own per
  write. The CLI, the worker, tests and every server without group commit.
* `JoinedExecutor` (same module): hands out one transaction that someone else
  owns and commits: the job of a group commit, or a record write and its
  stored idempotent answer, which must commit together.
* The group commits of the server (api/group_commit.py): SQLite jobs share the
  transaction of their batch; PostgreSQL jobs write through a read-ahead
  batch (engine/storage/write_ahead.py) that loads rows it read ahead and holds writes
  back until the group commits.

A guarded update tells the truth in every implementation: it returns the
number of rows it changed (1) or raises `StaleVersion` with the current
version; nothing is left for a later database error to catch except a writer
outside the transaction.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, Executable
from sqlalchemy.engine import Connection, CursorResult

if TYPE_CHECKING:
    from engine.storage.fastsql import FastInsert, FastStatements


class WriteTransaction(Protocol):
    """One open write transaction. Its owner commits it; a write only adds to it."""

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for reads and for helpers that take a Connection. Statements
        run on it see every earlier write of the transaction (a read-ahead batch sends its held-back
        writes first)."""
        ...

    def load(self, fast: FastStatements, record_id: int) -> dict[str, Any] | None:
        """The record row (as `FastStatements.select_by_id` gives it) for a write, or None."""
        ...

    def guarded_update(self, fast: FastStatements, record_id: int, version: int,
                       values: Mapping[str, Any]) -> int:
        """UPDATE the record if it is still at `version`: the rows changed (1), else StaleVersion with
        the current version. IntegrityError (a unique value) passes through."""
        ...

    def insert_record(self, fast: FastStatements, row: Mapping[str, Any]) -> int:
        """INSERT a record row; its new id."""
        ...

    def insert(self, ins: FastInsert, row: Mapping[str, Any]) -> None:
        """A plain INSERT that goes with the transaction's record change (history, stage result)."""
        ...

    def execute(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """Any other statement."""
        ...


class WriteExecutor(Protocol):
    """Hands out write transactions (and read connections that see them)."""

    db: Engine

    def transaction(self) -> AbstractContextManager[WriteTransaction]:
        """A write transaction, committed when the block ends without an error (unless it is joined:
        then its owner commits)."""
        ...

    def read(self) -> AbstractContextManager[Connection]:
        """A connection for reads: the joined transaction's own where there is one, else read-only."""
        ...


HELD_WRITES = "relayflow_held_writes"
"""Execution option a read-ahead batch sets on its own connection: the object that holds its writes back.
`FastInsert` called with that connection by a helper (stage results) queues its row there."""


class HeldWrites(Protocol):
    def insert(self, ins: FastInsert, row: Mapping[str, Any]) -> None: ...


def held_writes(conn: Connection) -> HeldWrites | None:
    """The batch holding the writes of `conn` back, if `conn` is a read-ahead batch's connection."""
    found: HeldWrites | None = conn.get_execution_options().get(HELD_WRITES)
    return found
