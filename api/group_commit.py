"""Group commit for SQLite: the record writes of concurrent requests share one COMMIT.

With SQLite the API runs database work on the event loop (one writer at a
time anyway). Each create, edit or transition still runs at once and alone,
in the order the requests arrive, but inside a transaction that stays open
until the loop has handled the requests that were ready together; then one
COMMIT makes them all durable and only then does any of them get its answer.
A client therefore never sees a result that is not committed, and the
commit's cost (writing the changed pages to the WAL) is shared.

A job that fails without writing anything (a refused transition, a stale
version, invalid values: the usual failures) just gets its error; SQLite
tells by its count of changed rows. A job that fails after writing (or,
where the driver cannot tell, any failing job), or a COMMIT that fails, rolls
the whole batch back and every job of it runs again alone, in its own
transaction, as if there had been no batch.
"""
from __future__ import annotations

import asyncio
import logging

import anyio.to_thread
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError

from engine.write_scope import open_batch, run_job, set_open_batch

MAX_JOBS = 64  # a batch commits at the latest after this many jobs
log = logging.getLogger("relayflow.api")


@dataclass
class _Job:
    future: asyncio.Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Batch:
    db: Engine
    conn: Connection
    tx: RootTransaction
    jobs: list[_Job] = field(default_factory=list)
    in_job: bool = False
    spoiled: bool = False  # a job failed after writing: the batch must not commit
    done: bool = False

    @classmethod
    def open(cls, db: Engine) -> _Batch:
        conn = db.connect()
        try:
            tx = conn.begin()
        except BaseException:
            conn.close()
            raise
        return cls(db, conn, tx)

    def changes(self) -> int | None:
        """Rows this connection changed so far (SQLite); None where the driver cannot tell."""
        return getattr(self.conn.connection.dbapi_connection, "total_changes", None)

    def run(self, job: _Job) -> None:
        """Run one job now, in the batch's transaction; remember its result or error."""
        self.jobs.append(job)
        before = self.changes()
        try:
            job.result = run_job(self, job.fn, *job.args, **job.kwargs)
        except Exception as exc:  # noqa: BLE001 - answered after the commit
            job.error = exc
            if before is None or self.changes() != before or isinstance(exc, SQLAlchemyError):
                self.spoiled = True

    def finish(self) -> None:
        """Commit every job, or roll back and run each again alone."""
        if self.done:
            return
        self.done = True
        if open_batch() is self:
            set_open_batch(None)
        try:
            if not self.spoiled:
                try:
                    self.tx.commit()
                except SQLAlchemyError:
                    log.warning("group commit failed; running its %d jobs one by one", len(self.jobs), exc_info=True)
                    self.spoiled = True
            if self.spoiled:
                if self.tx.is_active:
                    self.tx.rollback()
                for job in self.jobs:
                    job.error, job.result = None, None
                    try:
                        job.result = job.fn(*job.args, **job.kwargs)
                    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                        job.error = exc
        finally:
            self.conn.close()

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
    """Runs write jobs on the event loop's thread as they come, committing them in groups (SQLite)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        batch = open_batch()
        if not isinstance(batch, _Batch) or batch.done or batch.db is not self.db:
            batch = _Batch.open(self.db)
            set_open_batch(batch)
            # Runs after the callbacks that are ready now: the requests that arrived together join this batch.
            loop.call_soon(batch.flush)
        job = _Job(loop.create_future(), fn, args, kwargs)
        batch.run(job)
        if len(batch.jobs) >= MAX_JOBS:
            batch.flush()
        return await job.future


class ThreadedGroupCommit:
    """Collects the write jobs that arrive together and runs each group in a worker thread (PostgreSQL).

    The event loop never waits on the database, and up to `in_flight` groups run at
    once on their own connections, so one group's round trips overlap another's work.
    """

    def __init__(self, db: Engine, in_flight: int = 4) -> None:
        self.db = db
        self.max_in_flight = in_flight
        self._in_flight = 0
        self._pending: list[_Job] | None = None

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(loop.create_future(), fn, args, kwargs)
        if self._pending is None:
            self._pending = []
            if self._in_flight < self.max_in_flight:
                loop.call_soon(self._dispatch, loop)
        self._pending.append(job)
        return await job.future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._pending or self._in_flight >= self.max_in_flight:
            return
        jobs = self._pending[:MAX_JOBS]
        self._pending = self._pending[MAX_JOBS:] or None
        self._in_flight += 1
        loop.create_task(self._execute(loop, jobs))

    async def _execute(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        try:
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

    def _run_group(self, jobs: list[_Job]) -> None:
        batch = _Batch.open(self.db)
        set_open_batch(batch)
        try:
            for job in jobs:
                batch.run(job)
        finally:
            batch.finish()
