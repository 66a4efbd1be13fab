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
   (engine/storage/fastsql.py asks `ahead_for`);
3. sends the queued writes before any other statement runs on the connection
   (so every read still sees every earlier write of the batch) and before
   COMMIT. A job's INSERTs (history, stage result) ride on its record's UPDATE
   or INSERT as data-modifying CTEs, so a job is one statement, and the jobs
   that change one table go as one executemany (`_JobWrites`).

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
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import SQLAlchemyError

from engine.storage.write_scope import open_batch

if TYPE_CHECKING:
    from engine.storage.fastsql import FastStatements


class WriteAheadFailed(SQLAlchemyError):
    """The queued writes of a group failed or missed a row; the group runs again job by job."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    description: Any
    rows: list[Any]


def _pipelined(dbapi: Any, driver: Any, statements: list[tuple[str, Any]], many: bool = False,
               commit: bool = False) -> list[_Outcome]:
    """Run `statements` in as few round trips as the driver allows: psycopg in one pipeline; other
    drivers (asyncpg behind SQLAlchemy's adapter, in a greenlet) one by one, an executemany being one
    round trip there too.

    many: each statement's params is a list of parameter sets (executemany; nothing is read back).
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
        return [_Outcome(c.description, [] if many or not c.description else c.fetchall())
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
                outcomes.append(_Outcome(None, []))
            else:
                cur.execute(sql, params)
                outcomes.append(_Outcome(cur.description, cur.fetchall() if cur.description else []))
        finally:
            cur.close()
    return outcomes


CHECK_ONE_CHANGED = ("SELECT CASE WHEN count(*) = 1 THEN 1 ELSE "
                     "CAST('record changed since it was read: ' || count(*) AS INTEGER) END FROM changed")
COUNT_CHANGED = "SELECT count(*) FROM changed"
_NAMED = re.compile(r"%\((\w+)\)s")
_NUMBERED = re.compile(r"\$(\d+)")


class _Tail:
    """An INSERT that goes with a job's change (history, stage result): compiled as FastInsert has it."""

    __slots__ = ("raw", "sql", "names", "params")

    def __init__(self, sql: str, names: list[str], params: Any) -> None:
        self.raw = sql
        head, found, values = sql.partition(") VALUES (")
        if not found or not values.endswith(")"):
            raise ValueError(f"not a single-row INSERT: {sql[:60]}")
        self.sql = f"{head}) SELECT {values[:-1]} FROM changed"  # inserts only along with the change
        self.names = names
        self.params = params


class _JobWrites:
    """One job's writes as one statement: the change of its record (a guarded UPDATE, or an INSERT),
    then its other INSERTs as data-modifying CTEs that run only with that change.

    A guarded UPDATE that misses its row (the record moved on since it was read) makes the statement
    fail in the database (CHECK_ONE_CHANGED; its message depends on count(*), so the planner never
    folds the error in advance), which fails the group's transaction before its COMMIT.

    At the flush, jobs that change records of the same table go as one statement text: the UPDATE
    sets the union of their columns, each one that a job leaves alone kept by
    `CASE WHEN <set it> THEN <value> ELSE <column> END`, and every INSERT of any of them is there,
    each behind a flag. One executemany then carries them all."""

    __slots__ = ("fast", "values", "record_id", "version", "insert_sql", "insert_params", "tails")

    def __init__(self, fast: FastStatements, *, values: dict[str, Any] | None = None, record_id: int = 0,
                 version: int = 0, insert_sql: str = "", insert_params: Any = None) -> None:
        self.fast = fast
        self.values = values  # an UPDATE's new values (not yet bound); None for an INSERT
        self.record_id = record_id
        self.version = version
        self.insert_sql = insert_sql
        self.insert_params = insert_params
        self.tails: list[_Tail] = []

    def group(self) -> tuple[Any, ...]:
        return ("update", self.fast) if self.values is not None else ("insert", self.insert_sql)


def _render_group(dialect: Dialect, jobs: list[_JobWrites]) -> tuple[str, list[Any]]:
    """One statement text for `jobs` (same group()), and each job's parameters for it."""
    first = jobs[0]
    tails: dict[str, list[str]] = {}  # every INSERT text that any of them has, in order, with its names
    for job in jobs:
        for tail in job.tails:
            tails.setdefault(tail.sql, tail.names)
    if first.values is not None:
        keys = sorted({k for job in jobs for k in job.values})  # type: ignore[union-attr]
        always = frozenset.intersection(*(frozenset(job.values) for job in jobs))  # type: ignore[arg-type]
        head = first.fast.unified_update(dialect, tuple(keys), always)
        head_sql, final = head.sql, CHECK_ONE_CHANGED
        head_params = []
        for job in jobs:
            bound: dict[str, Any] = {"_rid": job.record_id, "_ver": job.version}
            for k in keys:
                bound[f"_v_{k}"] = job.values.get(k)  # type: ignore[union-attr]
                if k not in always:
                    bound[f"_set_{k}"] = k in job.values  # type: ignore[operator]
            head_params.append(head.params(bound))
    else:
        head_sql, final = first.insert_sql, COUNT_CHANGED
        head_params = [job.insert_params for job in jobs]
    named = isinstance(head_params[0], dict)
    parts = [f"WITH changed AS ({head_sql} RETURNING 1)"]
    offset = len(head_params[0])
    renamed: list[tuple[str, list[str], str]] = []  # (tail sql, its names, its flag's name)
    for n, (sql, names) in enumerate(tails.items(), start=1):
        if named:
            text = _NAMED.sub(lambda m, n=n: f"%(w{n}_{m.group(1)})s", sql)
            flag = f"w{n}__on"
            text += f" WHERE %({flag})s"
        else:
            text = _NUMBERED.sub(lambda m, o=offset: f"${int(m.group(1)) + o}", sql)
            offset += len(names) + 1
            flag = ""
            text += f" WHERE ${offset}::BOOLEAN"
        parts.append(f"w{n} AS ({text})")
        renamed.append((sql, names, flag))
    statement = ", ".join(parts) + " " + final
    all_params = []
    for job, params in zip(jobs, head_params):
        mine = {tail.sql: tail for tail in job.tails}
        if named:
            merged = dict(params)
            for n, (sql, names, flag) in enumerate(renamed, start=1):
                tail = mine.get(sql)
                merged.update({f"w{n}_{k}": (tail.params[k] if tail else None) for k in names})
                merged[flag] = tail is not None
            all_params.append(merged)
        else:
            flat = list(params)
            for sql, names, _ in renamed:
                tail = mine.get(sql)
                flat.extend(tail.params if tail else [None] * len(names))
                flat.append(tail is not None)
            all_params.append(tuple(flat))
    return statement, all_params


class WriteAhead:
    """Rows read ahead and writes held back for one batch's connection (PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dbapi: Any = conn.connection.dbapi_connection
        self.driver: Any = conn.connection.driver_connection
        self.rows: dict[tuple[FastStatements, int], dict[str, Any]] = {}
        self.ids: dict[FastStatements, list[int]] = {}
        self.pending: list[tuple[str, Any] | _JobWrites] = []
        self.job: _JobWrites | None = None  # the running job's writes, while more INSERTs may join them
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

    def queue_update(self, fast: FastStatements, record_id: int, version: int, values: dict[str, Any]) -> None:
        """A job's guarded UPDATE of its record (see _JobWrites)."""
        self.job = _JobWrites(fast, values=values, record_id=record_id, version=version)
        self.pending.append(self.job)
        self.statements += 1

    def queue_insert_record(self, fast: FastStatements, sql: str, params: Any) -> None:
        """A job's INSERT of its new record (its id reserved ahead)."""
        self.job = _JobWrites(fast, insert_sql=sql, insert_params=params)
        self.pending.append(self.job)
        self.statements += 1

    def queue_insert(self, sql: str, names: list[str], params: Any) -> None:
        """An INSERT that goes with the running job's change, else on its own."""
        job = self.job
        if job is not None and all(tail.raw != sql for tail in job.tails):
            job.tails.append(_Tail(sql, names, params))
        else:  # no change to ride on, or a second row of the same kind: a statement of its own
            self.pending.append((sql, params))
        self.statements += 1

    def end_job(self) -> None:
        self.job = None

    def flush(self, *, commit: bool = False) -> None:
        """Send the queued writes in one pipeline (and COMMIT with them); WriteAheadFailed if any failed,
        a guarded UPDATE that missed its row included."""
        self.job = None
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        # One executemany per statement text, in the order the texts first came: the jobs of a group
        # write different records, and each job's writes do not depend on one another. (Where two
        # jobs update the same record, the second UPDATE may now miss: the group then runs again
        # job by job, in order.)
        same: dict[Any, list[Any]] = {}
        for entry in pending:
            if isinstance(entry, _JobWrites):
                same.setdefault(entry.group(), []).append(entry)
            else:
                same.setdefault(entry[0], []).append(entry[1])
        statements = []
        for key, members in same.items():
            if isinstance(key, str):
                statements.append((key, members))
            else:
                statements.append(_render_group(self.conn.dialect, members))
        try:
            _pipelined(self.dbapi, self.driver, statements, many=True, commit=commit)
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

    The dialect's execute methods are wrapped (as engine/storage/db.py does for SQLite's
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
