"""Group commit: the record writes of concurrent requests share one COMMIT.

With SQLite the API runs database work on the event loop (one writer at a
time anyway). Each create, edit or transition still runs at once and alone,
in the order the requests arrive, but inside a transaction that stays open
until the loop has handled the requests that were ready together; then one
COMMIT makes them all durable and only then does any of them get its answer.
A client therefore never sees a result that is not committed, and the
commit's cost (writing the changed pages to the WAL) is shared.

A job is a function of the write executor it must use (engine/storage/executor.py):
the group calls it with a `JoinedExecutor` on its batch's transaction, so the
job's writes go into the batch because it was told so. `GroupCommit` is
itself the executor of the server's other writes (sessions, tokens, claims,
idempotency keys): on the event loop's thread it commits the open batch first,
so that the loop never waits on a transaction it holds open itself. Writes
that do not come through it (a reload, a requeued delivery) get the same
through the hook of engine/storage/db.py's SQLite dialect (`before_write`), which
`GroupCommit` sets on its own engine.

A job that fails without writing anything (a refused transition, a stale
version, invalid values: the usual failures) just gets its error; SQLite
tells by its count of changed rows. A job that fails after writing (or,
where the driver cannot tell, any failing job), or a COMMIT that fails, rolls
the whole batch back and every job of it runs again alone, in its own
transaction, as if there had been no batch.

PostgreSQL (`PostgresGroupCommit`): the requests that arrive together form a
group, up to eight groups run at once, each in one transaction on its own
connection. A group reads its rows ahead and sends its writes together
(engine/storage/write_ahead.py), in greenlets on the serving event loop over asyncpg,
so that no thread waits on a round trip.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from api.metrics import observe_group_size
from engine.storage.db import RelayflowSQLiteDialect
from engine.storage.registry import FlowRegistry
from engine.storage.executor import WriteExecutor, WriteTransaction
from engine.storage.plain import JoinedExecutor, PlainExecutor, PlainTransaction
from engine.storage.write_ahead import ReadAheadTransaction, WriteAhead, WriteAheadFailed

# What a write job will touch, so that a PostgreSQL group can read it ahead (engine/storage/write_ahead.py):
# (flow name, record id), the record id None for a record it creates.
Touch = tuple[str, int | None]
Job = Callable[[WriteExecutor], Any]

MAX_JOBS = 64  # a batch commits at the latest after this many jobs
# PostgreSQL: while groups run, a new one starts once this many writes wait (or a running one ends,
# or GROUP_WAIT seconds passed): its round trips cost about the same for one job as for twenty.
MIN_GROUP = 4
GROUP_WAIT = 0.002
log = logging.getLogger("relayflow.api")


@dataclass
class _Job:
    future: asyncio.Future[Any]
    fn: Job
    touch: Touch | None = None
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Batch:
    db: Engine
    conn: Connection
    tx: RootTransaction
    writes: WriteTransaction  # what the jobs write through: plain statements, or a read-ahead batch's
    jobs: list[_Job] = field(default_factory=list)
    spoiled: bool = False  # a job failed after writing: the batch must not commit
    running: bool = False  # a job runs now
    done: bool = False
    ahead: WriteAhead | None = None  # PostgreSQL: rows read ahead, writes held back (engine/storage/write_ahead.py)
    owns_conn: bool = True

    @classmethod
    def open(cls, db: Engine) -> _Batch:
        conn = db.connect()
        try:
            tx = conn.begin()
        except BaseException:
            conn.close()
            raise
        return cls(db, conn, tx, PlainTransaction(conn))

    def read_ahead(self) -> WriteAhead:
        """From now on the jobs write through a WriteAhead on this batch's connection (PostgreSQL)."""
        self.ahead = WriteAhead(self.conn)
        self.writes = ReadAheadTransaction(self.conn, self.ahead)
        return self.ahead

    def changes(self) -> int | None:
        """Rows this connection changed so far (SQLite), or writes the jobs queued or ran (PostgreSQL
        with a WriteAhead); None where the driver cannot tell."""
        if self.ahead is not None:
            return self.ahead.statements
        return getattr(self.conn.connection.dbapi_connection, "total_changes", None)

    def run(self, job: _Job) -> None:
        """Run one job now, in the batch's transaction; remember its result or error."""
        self.jobs.append(job)
        if self.ahead is not None:
            self.ahead.end_job()  # the INSERTs of this job do not join the last one's statement
        before = self.changes()
        try:
            self.running = True
            job.result = job.fn(JoinedExecutor(self.writes))
        except Exception as exc:  # noqa: BLE001 - answered after the commit
            job.error = exc
            if (before is None or self.changes() != before or isinstance(exc, SQLAlchemyError)
                    or (self.ahead is not None and self.ahead.failed)):
                self.spoiled = True
        finally:
            self.running = False

    def finish(self) -> None:
        """Commit every job, or roll back and run each again alone."""
        if self.done:
            return
        try:
            if not self.settle():
                self.rerun_alone()
        finally:
            if self.owns_conn:
                self.conn.close()

    def settle(self) -> bool:
        """Commit, or roll back a spoiled batch; False when its jobs must run again alone."""
        self.done = True
        observe_group_size(len(self.jobs))
        if not self.spoiled:
            try:
                if self.ahead is not None:
                    self.ahead.flush(commit=True)
                self.tx.commit()  # after a flush that committed, nothing left to send
            except WriteAheadFailed as exc:
                log.info("grouped writes of %d jobs did not apply (%s); running them one by one", len(self.jobs), exc)
                self.spoiled = True
            except SQLAlchemyError:
                log.warning("group commit failed; running its %d jobs one by one", len(self.jobs), exc_info=True)
                self.spoiled = True
        if self.spoiled and self.tx.is_active:
            self.tx.rollback()
        return not self.spoiled

    def rerun_alone(self) -> None:
        """Run every job again, each in its own transaction (after the batch rolled back)."""
        _rerun_alone(self.jobs, PlainExecutor(self.db))

    def flush(self) -> None:
        """Finish, then answer every waiting request (on the event loop's thread)."""
        try:
            self.finish()
        finally:
            _answer(self.jobs)


def _answer(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)


class GroupCommit:
    """Runs write jobs on the event loop's thread as they come, committing them in groups (SQLite).

    Also the executor (engine/storage/executor.py) of the server's writes that are no job: each in a
    transaction of its own, after committing the open batch when it runs on the batch's thread."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self._plain = PlainExecutor(db)
        self._open: _Batch | None = None
        self._open_on: int | None = None  # the thread that holds it open (the event loop's)
        if isinstance(db.dialect, RelayflowSQLiteDialect):
            db.dialect.before_write = self._before_other_write  # writes that bypass the executor

    def _before_other_write(self, dbapi_conn: Any) -> None:
        """A write transaction begins on `dbapi_conn`: on the batch's thread, outside its jobs and on
        another connection, commit the open batch first."""
        batch = self._open
        if (batch is not None and not batch.done and not batch.running
                and self._open_on == threading.get_ident()
                and batch.conn.connection.dbapi_connection is not dbapi_conn):
            batch.flush()

    async def run(self, fn: Job, touch: Touch | None = None) -> Any:
        """`fn(executor)` as a job of the open batch (a new one if none is open)."""
        loop = asyncio.get_running_loop()
        batch = self._open
        if batch is None or batch.done:
            batch = self._open = _Batch.open(self.db)
            self._open_on = threading.get_ident()
            # Runs after the callbacks that are ready now: the requests that arrived together join this batch.
            loop.call_soon(batch.flush)
        job = _Job(loop.create_future(), fn)
        batch.run(job)
        if len(batch.jobs) >= MAX_JOBS:
            batch.flush()
        return await job.future

    def transaction(self) -> AbstractContextManager[WriteTransaction]:
        """A write of its own; on the batch's thread the open batch commits first (else that thread would
        wait on its own lock)."""
        batch = self._open
        if batch is not None and not batch.done and self._open_on == threading.get_ident():
            if batch.running:  # committing now would commit half a job
                raise RuntimeError("a group commit job writes through the executor it is given")
            batch.flush()
        return self._plain.transaction()

    def read(self) -> AbstractContextManager[Connection]:
        return self._plain.read()


class PostgresGroupCommit:
    """Collects the write jobs that arrive together and runs each group on a connection of its own
    (PostgreSQL), up to `in_flight` groups at once, so that one group's round trips overlap another's work.

    With the registry, a group reads ahead and holds its writes back (engine/storage/write_ahead.py): a few
    round trips per group instead of three or four per job. Once `start()` has run on the serving
    event loop (the app's lifespan), groups run there, in greenlets (SQLAlchemy's run_sync) over
    asyncpg: no worker thread, no GIL hand-off per round trip, and asyncpg costs a fraction of the
    CPU of an asyncio psycopg connection per statement. Elsewhere (no lifespan, another loop, or
    without the registry) a group runs in a worker thread on psycopg, its writes in one pipeline.
    """

    def __init__(self, db: Engine, registry: FlowRegistry | None = None, in_flight: int = 4) -> None:
        self.db = db
        self.registry = registry
        self.max_in_flight = in_flight
        self._in_flight = 0
        self._pending: list[_Job] | None = None
        self._soon = False  # a dispatch is due at the loop's next round
        self._timer: asyncio.TimerHandle | None = None  # or later: pending jobs wait for more to join
        self._async_db: AsyncEngine | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Run groups on this event loop from now on (called where the server serves)."""
        if self.registry is None or self._async_db is not None:
            return
        self._async_db = create_async_engine(
            self.db.url.set(drivername="postgresql+asyncpg"),
            pool_size=self.max_in_flight, max_overflow=0, pool_recycle=1800)
        self._async_loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        db, self._async_db, self._async_loop = self._async_db, None, None
        if db is not None:
            await db.dispose()

    async def run(self, fn: Job, touch: Touch | None = None) -> Any:
        """`fn(executor)` as a job of the next group; `touch` names what it writes, to read it ahead."""
        loop = asyncio.get_running_loop()
        job = _Job(loop.create_future(), fn, touch)
        pending = self._pending
        if pending is None:
            pending = self._pending = []
        pending.append(job)
        # A group starts at once when none is running; while some are, see MIN_GROUP (GROUP_WAIT: a
        # group stuck on a lock does not hold the writes that come after it).
        if self._in_flight < self.max_in_flight and not self._soon:
            if self._in_flight == 0 or len(pending) >= MIN_GROUP:
                self._soon = True
                loop.call_soon(self._dispatch, loop)
            elif self._timer is None:
                self._timer = loop.call_later(GROUP_WAIT, self._dispatch, loop)
        return await job.future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._soon = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._in_flight >= self.max_in_flight:
            return
        jobs = self._pending[:MAX_JOBS]
        self._pending = self._pending[MAX_JOBS:] or None
        self._in_flight += 1
        task = loop.create_task(self._execute(loop, jobs))
        self._tasks.add(task)  # the loop keeps only a weak reference to a running task
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        try:
            conn = await self._loop_connection(loop)
            if conn is not None:
                try:
                    settled = await conn.run_sync(self._run_group_here, jobs)
                finally:
                    await conn.close()
                if not settled:  # rare: each job again alone, in a thread (the blocking driver)
                    await anyio.to_thread.run_sync(_rerun_alone, jobs, PlainExecutor(self.db))
            else:
                await anyio.to_thread.run_sync(self._run_group, jobs)
        except BaseException as exc:  # noqa: BLE001 - e.g. no connection: every request of the group hears it
            for job in jobs:
                if job.error is None and job.result is None:
                    job.error = exc if isinstance(exc, Exception) else RuntimeError("cancelled")
        finally:
            self._in_flight -= 1
            _answer(jobs)
            if self._pending:
                self._dispatch(loop)

    async def _loop_connection(self, loop: asyncio.AbstractEventLoop) -> AsyncConnection | None:
        """A connection for a group on this loop; None: run it in a thread (also when asyncpg cannot
        connect where psycopg can, e.g. a URL option only psycopg knows)."""
        if self._async_db is None or self._async_loop is not loop:
            return None
        try:
            return await self._async_db.connect().start()
        except Exception:  # noqa: BLE001 - the blocking driver gets its chance, and its own error
            log.warning("asyncpg could not connect; this group runs in a worker thread", exc_info=True)
            return None

    def _run_group(self, jobs: list[_Job]) -> None:
        """In a worker thread, on a connection of the blocking driver."""
        batch = _Batch.open(self.db)
        try:
            self._run_jobs(batch, jobs)
        finally:
            batch.finish()

    def _run_group_here(self, conn: Connection, jobs: list[_Job]) -> bool:
        """In a greenlet on the event loop (SQLAlchemy's run_sync): every round trip is awaited.
        Returns False when the batch rolled back and its jobs must run again alone."""
        batch = _Batch(self.db, conn, conn.begin(), PlainTransaction(conn), owns_conn=False)
        try:
            self._run_jobs(batch, jobs)
        finally:
            settled = batch.settle()
        return settled

    def _run_jobs(self, batch: _Batch, jobs: list[_Job]) -> None:
        if self.registry is not None:
            ahead = batch.read_ahead()
            try:
                self._read_ahead(ahead, jobs)
            except Exception:  # noqa: BLE001 - the jobs still run, each alone
                log.warning("reading ahead for a group failed; running its %d jobs one by one", len(jobs),
                            exc_info=True)
                batch.jobs.extend(jobs)
                batch.spoiled = True
                return
        for job in jobs:
            batch.run(job)

    def _read_ahead(self, ahead: WriteAhead, jobs: list[_Job]) -> None:
        assert self.registry is not None
        loads, creates = [], []
        for job in jobs:
            if job.touch is None:
                continue
            flow, record_id = job.touch
            if flow not in self.registry:
                continue  # the job itself answers 404
            fast = self.registry.get(flow).fast
            if record_id is None:
                creates.append(fast)
            else:
                loads.append((fast, record_id))
        ahead.read_ahead(loads, creates)


def _rerun_alone(jobs: list[_Job], executor: WriteExecutor) -> None:
    for job in jobs:
        job.error, job.result = None, None
        try:
            job.result = job.fn(executor)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            job.error = exc
