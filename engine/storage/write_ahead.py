"""PostgreSQL group writes in a few round trips: rows read ahead, writes sent together.

A group commit (api/group_commit.py) runs the record writes of concurrent
requests in one transaction. Run statement by statement, every SELECT, UPDATE
and INSERT of every job is a network round trip, with the driver's work and a
wait on each; that, not the SQL, is most of what a write costs on PostgreSQL.

Its jobs write through a `ReadAheadTransaction` (the write interface of
engine/storage/executor.py) over a `WriteAhead`, and the group:

1. reads ahead the rows its transitions and edits will load and the ids its
   creates will get (`nextval` of the table's sequence);
2. runs the jobs: a job's load of a row the group knows costs nothing, and its
   guarded UPDATE and its INSERTs are queued instead of sent. The group knows
   every row it read ahead and what every UPDATE it queued made of it, so a
   second job on the same record loads the row as the first one left it, and
   a guarded UPDATE of a version the group knows to be gone is refused at once
   (StaleVersion with the current version, nothing queued);
3. sends the queued writes before any other statement runs on the connection
   (`ReadAheadTransaction.execute` does so itself; statements that helpers run
   on the transaction's connection do so through a listener the group puts on
   that connection alone) and before COMMIT. A job's INSERTs (history, stage
   result) ride on its record's UPDATE or INSERT as data-modifying CTEs, so a
   job is one statement, and the jobs that change one table go as one
   executemany (`_JobWrites`).

With psycopg (a group in a worker thread) steps 1 and 3 are one pipelined
round trip each, the COMMIT riding with step 3; with asyncpg (a group in a
greenlet on the event loop) each statement is a round trip, but a cheap one
(engine/storage/drivers/pipeline.py).

A writer outside the group is caught by the database: an UPDATE guarded by the
version the group saw changes no row if the record moved on since it was read
ahead, and the held-back form of that UPDATE then raises an error in the
database, which fails the transaction before its COMMIT, like any failing
write. The batch is then spoiled: it rolls back and every job runs again
alone, where the usual checks give the usual answers (409 with the current
version, 422 for a duplicate value).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, event
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.exc import SQLAlchemyError

from engine.storage.db import UtcDateTime
from engine.records.errors import StaleVersion
from engine.storage.drivers.pipeline import run_statements
from engine.storage.executor import HELD_WRITES

if TYPE_CHECKING:
    from engine.storage.fastsql import FastInsert, FastStatements


class WriteAheadFailed(SQLAlchemyError):
    """The queued writes of a group failed or missed a row; the group runs again job by job."""


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


def _renamer(prefix: str) -> Callable[[re.Match[str]], str]:
    """%(name)s -> %(<prefix>name)s"""
    return lambda m: f"%({prefix}{m.group(1)})s"


def _shifter(offset: int) -> Callable[[re.Match[str]], str]:
    """$n -> $(n + offset)"""
    return lambda m: f"${int(m.group(1)) + offset}"


def _render_group(dialect: Dialect, jobs: list[_JobWrites]) -> tuple[str, list[Any]]:
    """One statement text for `jobs` (same group()), and each job's parameters for it."""
    first = jobs[0]
    tails: dict[str, list[str]] = {}  # every INSERT text that any of them has, in order, with its names
    for job in jobs:
        for each in job.tails:
            tails.setdefault(each.sql, each.names)
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
            text = _NAMED.sub(_renamer(f"w{n}_"), sql)
            flag = f"w{n}__on"
            text += f" WHERE %({flag})s"
        else:
            text = _NUMBERED.sub(_shifter(offset), sql)
            offset += len(names) + 1
            flag = ""
            text += f" WHERE ${offset}::BOOLEAN"
        parts.append(f"w{n} AS ({text})")
        renamed.append((sql, names, flag))
    statement = ", ".join(parts) + " " + final
    all_params: list[Any] = []
    for job, params in zip(jobs, head_params):
        mine = {each.sql: each for each in job.tails}
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
        # Every row the group knows: as read ahead or loaded, then as the group's queued UPDATEs left it.
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
        for fast, found in zip(tables, run_statements(self.dbapi, self.driver, statements)):
            rows, new_ids = fast.read_ahead_rows(dialect, found.description, found.rows)
            for row in rows:
                self.rows[(fast, row["id"])] = row
            self.ids[fast] = new_ids

    def forget_rows(self, table: Any = None) -> None:
        """Drop what the group knows of the rows of `table` (None: of every table): a statement it did not
        queue may have changed them."""
        if table is None:
            self.rows.clear()
        else:
            for key in [k for k in self.rows if k[0].table is table]:
                del self.rows[key]

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
        # One executemany per statement text, in the order the texts first came: each job's writes do
        # not depend on one another's, and the UPDATEs of one table (two jobs on the same record
        # included) share one text, so they run in the order the jobs ran.
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
            run_statements(self.dbapi, self.driver, statements, many=True, commit=commit)
        except Exception as exc:
            self.failed = True
            raise WriteAheadFailed(f"grouped writes did not apply: {exc}") from exc


def _as_read(fast: FastStatements, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values written by an UPDATE as a load would give them back (UTC instants in UTC)."""
    columns = fast.table.c
    out = dict(values)
    for key, value in values.items():
        if value is not None and isinstance(columns[key].type, UtcDateTime):
            out[key] = value.astimezone(timezone.utc)
    return out


def _reads_only(context: Any) -> bool:
    """A compiled SELECT (text and DDL count as writes: they may be)."""
    return bool(context.compiled is not None and not context.is_text and not context.isddl
                and not (context.isinsert or context.isupdate or context.isdelete))


class ReadAheadTransaction:
    """The write interface (engine/storage/executor.py) of a PostgreSQL group over its `WriteAhead`.

    Statements that helpers run on `conn` (the connection is handed to them for reads and for their own
    writes) send the queued writes first: the group listens for them on its own connection only, with
    SQLAlchemy's connection events. `FastInsert` called with `conn` queues its row here (HELD_WRITES)."""

    def __init__(self, conn: Connection, ahead: WriteAhead) -> None:
        self.ahead = ahead
        self._conn = conn.execution_options(**{HELD_WRITES: self})
        event.listen(conn, "before_cursor_execute", self._before_statement)

    @property
    def conn(self) -> Connection:
        return self._conn

    def _before_statement(self, conn: Connection, cursor: Any, statement: str, parameters: Any,
                          context: Any, executemany: bool) -> None:
        ahead = self.ahead
        if context is not None and not _reads_only(context):
            ahead.statements += 1
            # What the group knows of existing rows still holds after an INSERT; an UPDATE or DELETE
            # may change those of its table; text or DDL those of any.
            if context.is_text or context.isddl or context.compiled is None:
                ahead.forget_rows()
            elif context.isupdate or context.isdelete:
                ahead.forget_rows(context.compiled.statement.table)
        ahead.flush()

    def load(self, fast: FastStatements, record_id: int) -> dict[str, Any] | None:
        key = (fast, record_id)
        row = self.ahead.rows.get(key)
        if row is not None:
            return row
        self.ahead.flush()  # the row as the group's writes so far left it
        row = fast.select_by_id(self._conn, record_id)
        if row is not None:
            self.ahead.rows[key] = row
        return row

    def guarded_update(self, fast: FastStatements, record_id: int, version: int,
                       values: Mapping[str, Any]) -> int:
        """Queued, and 1, when the group knows the row at `version` (or does not know it: then the held-back
        UPDATE checks in the database); StaleVersion at once, nothing queued, when it knows it moved on."""
        key = (fast, record_id)
        known = self.ahead.rows.get(key)
        if known is not None and known["version"] != version:
            raise StaleVersion(int(known["version"]), version)
        self.ahead.queue_update(fast, record_id, version, dict(values))
        if known is not None:
            self.ahead.rows[key] = {**known, **_as_read(fast, values)}
        return 1

    def insert_record(self, fast: FastStatements, row: Mapping[str, Any]) -> int:
        ahead = self.ahead
        new_id = ahead.take_id(fast)
        if new_id is not None:
            sql, params = fast.insert_with_id(self._conn.dialect, {**row, "id": new_id})
            ahead.queue_insert_record(fast, sql, params)
            return new_id
        ahead.statements += 1
        ahead.flush()
        return fast.insert(self._conn, row)

    def insert(self, ins: FastInsert, row: Mapping[str, Any]) -> None:
        compiled = ins.compiled(self._conn.dialect, tuple(row))
        self.ahead.queue_insert(compiled.sql, compiled.names, compiled.params(row))

    def execute(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        self.ahead.flush()  # (the listener counts the statement)
        return self._conn.execute(stmt, params)
