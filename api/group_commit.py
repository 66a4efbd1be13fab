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

    def flush(self) -> None:
        """Commit (or roll back and re-run alone) every job, then answer them all."""
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
            for job in self.jobs:
                if job.future.done():
                    continue
                if job.error is not None:
                    job.future.set_exception(job.error)
                else:
                    job.future.set_result(job.result)


class GroupCommit:
    """Runs write jobs on the event loop's thread, committing them in groups."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        batch = open_batch()
        if not isinstance(batch, _Batch) or batch.done or batch.db is not self.db:
            batch = self._start(loop)
        job = _Job(loop.create_future(), fn, args, kwargs)
        batch.jobs.append(job)
        changes = self._changes(batch)
        try:
            job.result = run_job(batch, fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - answered after the flush
            job.error = exc
            if changes is None or self._changes(batch) != changes or isinstance(exc, SQLAlchemyError):
                batch.spoiled = True
        if len(batch.jobs) >= MAX_JOBS:
            batch.flush()
        return await job.future

    @staticmethod
    def _changes(batch: _Batch) -> int | None:
        """Rows the batch's connection changed so far (SQLite); None where the driver cannot tell."""
        return getattr(batch.conn.connection.dbapi_connection, "total_changes", None)

    def _start(self, loop: asyncio.AbstractEventLoop) -> _Batch:
        conn = self.db.connect()
        try:
            tx = conn.begin()
        except BaseException:
            conn.close()
            raise
        batch = _Batch(self.db, conn, tx)
        set_open_batch(batch)
        # Runs after the callbacks that are ready now: the requests that arrived together join this batch.
        loop.call_soon(batch.flush)
        return batch
