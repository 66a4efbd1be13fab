"""PostgreSQL group writes in a few round trips: rows read ahead, writes sent together.

A group commit (api/group_commit.py) runs the record writes of concurrent
requests in one transaction. Run statement by statement, every SELECT, UPDATE
and INSERT of every job is a network round trip, with the driver's work and a
wait on each; that, not the SQL, is most of what a write costs on PostgreSQL.

With a `WriteAhead` on the batch, the group instead:

1. reads ahead the rows its transitions and edits will load and the ids its
   creates will get (`nextval` of the table's sequence);
2. runs the jobs: a job's `select_by_id` of a row read ahead costs nothing,
   and its guarded UPDATE and its INSERTs are queued instead of sent
   (engine/fastsql.py asks `ahead_for`);
3. sends the queued writes before any other statement runs on the connection
   (so every read still sees every earlier write of the batch) and before
   COMMIT. A job's INSERTs (history, stage result) ride on its record's UPDATE
   or INSERT as data-modifying CTEs (`_Chain`), so a job is one statement, and
   the jobs of one kind go as one executemany.

With psycopg (a group in a worker thread) steps 1 and 3 are one pipelined
round trip each, the COMMIT riding with step 3; with asyncpg (a group in a
greenlet on the event loop) each statement is a round trip, but a cheap one.

Nothing is trusted that the database does not confirm: an UPDATE guarded by
the version the job saw changes no row if the record moved on since it was
read ahead, and the held-back form of that UPDATE then raises an error in the
database, which fails the transaction before its COMMIT, like any failing
write. Either way the batch is spoiled: it rolls back and every job runs again
alone, where the usual checks give the usual answers (409 with the current
version, 422 for a duplicate value).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from engine.write_scope import open_batch

if TYPE_CHECKING:
    from engine.fastsql import FastStatements


class WriteAheadFailed(SQLAlchemyError):
    """The queued writes of a group failed or missed a row; the group runs again job by job."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    rowcount: int
    description: Any
    rows: list[Any]


def _pipelined(dbapi: Any, driver: Any, statements: list[tuple[str, Any]], many: bool = False,
               commit: bool = False) -> list[_Outcome]:
    """Run `statements` in as few round trips as the driver allows: psycopg in one pipeline; other
    drivers (asyncpg behind SQLAlchemy's adapter, in a greenlet) one by one, an executemany being one
    round trip there too.

    many: each statement's params is a list of parameter sets (executemany; rowcount is their total).
    commit: psycopg only: COMMIT in the same round trip (skipped by the server if a statement failed);
    elsewhere the caller commits."""
    if not isinstance(driver, psycopg.Connection):
        return _one_by_one(dbapi, statements, many)
    cursors = []
    try:
        with driver.pipeline():
            for sql, params in statements:
                cur = driver.cursor()
                cursors.append(cur)
                if many:
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params)
            if commit:
                driver.commit()
        return [_Outcome(c.rowcount, c.description, [] if many or not c.description else c.fetchall())
                for c in cursors]
    finally:
        for cur in cursors:
            cur.close()


def _one_by_one(dbapi: Any, statements: list[tuple[str, Any]], many: bool) -> list[_Outcome]:
    outcomes = []
    for sql, params in statements:
        cur = dbapi.cursor()
        try:
            if many:
                cur.executemany(sql, params)
                outcomes.append(_Outcome(cur.rowcount, None, []))
            else:
                cur.execute(sql, params)
                outcomes.append(_Outcome(cur.rowcount, cur.description, cur.fetchall() if cur.description else []))
        finally:
            cur.close()
    return outcomes


CHECK_ONE_CHANGED = ("SELECT CASE WHEN count(*) = 1 THEN 1 ELSE "
                     "CAST('record changed since it was read: ' || count(*) AS INTEGER) END FROM changed")
COUNT_CHANGED = "SELECT count(*) FROM changed"
_NAMED = re.compile(r"%\((\w+)\)s")
_NUMBERED = re.compile(r"\$(\d+)")


class _Chain:
    """One job's writes as one statement: the change of its record (an UPDATE or INSERT), then the
    INSERTs that go with it (history, stage results) as data-modifying CTEs, run only with that change.

    `final` reads the change: CHECK_ONE_CHANGED makes a guarded UPDATE that missed its row (the
    record moved on since it was read) fail in the database, failing the group's transaction before
    its COMMIT; the message depends on count(*), so the planner never folds the error in advance."""

    __slots__ = ("parts", "params", "final")

    def __init__(self, sql: str, params: Any, final: str) -> None:
        self.parts = [f"WITH changed AS ({sql} RETURNING 1)"]
        self.params: Any = dict(params) if isinstance(params, dict) else list(params)
        self.final = final

    def add(self, insert_sql: str, params: Any) -> None:
        """An `INSERT ... VALUES (...)` of the same job, made to insert only along with the change."""
        head, found, values = insert_sql.partition(") VALUES (")
        if not found or not values.endswith(")"):
            raise ValueError(f"not a single-row INSERT: {insert_sql[:60]}")
        sql = f"{head}) SELECT {values[:-1]} FROM changed"
        n = len(self.parts)
        if isinstance(self.params, dict):  # named parameters (psycopg): prefixed, to stay apart
            sql = _NAMED.sub(lambda m: f"%(w{n}_{m.group(1)})s", sql)
            self.params.update({f"w{n}_{k}": v for k, v in params.items()})
        else:  # numbered ones (asyncpg): shifted past those before
            offset = len(self.params)
            sql = _NUMBERED.sub(lambda m: f"${int(m.group(1)) + offset}", sql)
            self.params.extend(params)
        self.parts.append(f"w{n} AS ({sql})")

    def render(self) -> tuple[str, Any]:
        params = self.params if isinstance(self.params, dict) else tuple(self.params)
        return ", ".join(self.parts) + " " + self.final, params


class WriteAhead:
    """Rows read ahead and writes held back for one batch's connection (PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dbapi: Any = conn.connection.dbapi_connection
        self.driver: Any = conn.connection.driver_connection
        self.rows: dict[tuple[FastStatements, int], dict[str, Any]] = {}
        self.ids: dict[FastStatements, list[int]] = {}
        self.pending: list[tuple[str, Any] | _Chain] = []
        self.chain: _Chain | None = None  # the running job's, while more of its INSERTs may join it
        # Writes queued or run for jobs so far: a failing job that leaves it unchanged wrote nothing,
        # so the group need not roll back for it (reads do not count).
        self.statements = 0
        self.failed = False

    # --- 1. reading ahead ------------------------------------------------------------------------

    def read_ahead(self, loads: Iterable[tuple[FastStatements, int]], creates: Iterable[FastStatements]) -> None:
        """Fetch the rows and reserve the ids the group's jobs will want: one statement per flow table."""
        wanted: dict[FastStatements, list[int]] = {}
        for fast, record_id in loads:
            wanted.setdefault(fast, []).append(record_id)
        counts: dict[FastStatements, int] = {}
        for fast in creates:
            counts[fast] = counts.get(fast, 0) + 1
        if not wanted and not counts:
            return
        dialect = self.conn.dialect
        tables = list({**dict.fromkeys(wanted), **dict.fromkeys(counts)})
        statements = [fast.read_ahead_statement(dialect, sorted(set(wanted.get(fast, ()))), counts.get(fast, 0))
                      for fast in tables]
        for fast, found in zip(tables, _pipelined(self.dbapi, self.driver, statements)):
            rows, new_ids = fast.read_ahead_rows(dialect, found.description, found.rows)
            for row in rows:
                self.rows[(fast, row["id"])] = row
            self.ids[fast] = new_ids

    def take_row(self, fast: FastStatements, record_id: int) -> dict[str, Any] | None:
        """The row as read ahead, once: a second load of it in the batch must see the first job's write."""
        return self.rows.pop((fast, record_id), None)

    def take_id(self, fast: FastStatements) -> int | None:
        ids = self.ids.get(fast)
        return ids.pop() if ids else None

    # --- 2./3. holding writes back and sending them -------------------------------------------------

    def queue_change(self, sql: str, params: Any, final: str) -> None:
        """A job's UPDATE or INSERT of its record (see _Chain for `final`)."""
        self.chain = _Chain(sql, params, final)
        self.pending.append(self.chain)
        self.statements += 1

    def queue_insert(self, sql: str, params: Any) -> None:
        """An INSERT that goes with the running job's change, else on its own."""
        if self.chain is not None:
            self.chain.add(sql, params)
        else:
            self.pending.append((sql, params))
        self.statements += 1

    def end_job(self) -> None:
        self.chain = None

    def flush(self, *, commit: bool = False) -> None:
        """Send the queued writes in one pipeline (and COMMIT with them); WriteAheadFailed if any failed,
        a guarded UPDATE that missed its row included."""
        self.chain = None
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        # One executemany per statement text, in the order the texts first came: the jobs of a group
        # write different records, and each job's writes do not depend on one another. (Where two
        # jobs update the same record, the second UPDATE may now miss: the group then runs again
        # job by job, in order.)
        same: dict[str, list[Any]] = {}
        for entry in pending:
            sql, params = entry.render() if isinstance(entry, _Chain) else entry
            same.setdefault(sql, []).append(params)
        try:
            _pipelined(self.dbapi, self.driver, list(same.items()), many=True, commit=commit)
        except Exception as exc:
            self.failed = True
            raise WriteAheadFailed(f"grouped writes did not apply: {exc}") from exc


def ahead_for(conn: Connection) -> WriteAhead | None:
    """The WriteAhead of the batch job running on this thread with `conn`, if any."""
    batch = open_batch()
    if batch is None or not batch.in_job:
        return None
    ahead: WriteAhead | None = getattr(batch, "ahead", None)
    if ahead is None or ahead.conn is not conn:
        return None
    return ahead


def _reads_only(context: Any) -> bool:
    """A compiled SELECT (text and DDL count as writes: they may be)."""
    return bool(context.compiled is not None and not context.is_text and not context.isddl
                and not (context.isinsert or context.isupdate or context.isdelete))


def install(engine: Engine) -> None:
    """Make every other statement on a batch's connection send its queued writes first.

    The dialect's execute methods are wrapped (as engine/db.py does for SQLite's
    BEGIN) rather than an event listener added: a listener makes SQLAlchemy
    dispatch events on every statement of every connection.
    """
    dialect = engine.dialect
    if getattr(dialect, "_relayflow_write_ahead", False):
        return
    dialect._relayflow_write_ahead = True  # type: ignore[attr-defined]

    def before(context: Any) -> None:
        batch = open_batch()
        if batch is None:
            return
        ahead: WriteAhead | None = getattr(batch, "ahead", None)
        if ahead is None or context is None or context.root_connection is not ahead.conn:
            return
        if batch.in_job and not _reads_only(context):
            ahead.statements += 1
        ahead.flush()

    execute, execute_many, execute_no_params = dialect.do_execute, dialect.do_executemany, dialect.do_execute_no_params

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        before(context)
        execute(cursor, statement, parameters, context)

    def do_executemany(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        before(context)
        execute_many(cursor, statement, parameters, context)

    def do_execute_no_params(cursor: Any, statement: str, context: Any = None) -> None:
        before(context)
        execute_no_params(cursor, statement, context)

    dialect.do_execute = do_execute  # type: ignore[method-assign]
    dialect.do_executemany = do_executemany  # type: ignore[method-assign]
    dialect.do_execute_no_params = do_execute_no_params  # type: ignore[method-assign]
