"""The held-back writes of a PostgreSQL group, sent as one statement per table: on both drivers the
columns a job leaves alone keep what the database has, and a record that moved on fails the group."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from engine.storage.write_ahead import WriteAhead, WriteAheadFailed
from tests.conftest import World

ORDER = {"customer": "ACME", "product_model": "X-100", "quantity": 10, "unit_price": "12.50",
         "delivery_date": "2026-12-20"}


def _two_records(world: World) -> tuple[int, int]:
    sally = world.user("sally", "sales")
    a = world.records.create(world.flow, sally, ORDER)
    b = world.records.create(world.flow, sally, {**ORDER, "customer": "Other"})
    t = world.live.table
    with world.db.begin() as conn:  # b's priority set outside any job
        conn.execute(update(t).where(t.c.id == b.id).values(priority="urgent"))
    return a.id, b.id


def _flush_two_jobs(conn: Connection, fast: Any, a: int, b: int, b_version: int) -> None:
    """Job 1 sets a's priority; job 2 changes b's customer only: one UPDATE text for both."""
    ahead = WriteAhead(conn)
    ahead.queue_update(fast, a, 1, {"priority": "normal", "version": 2})
    ahead.end_job()
    ahead.queue_update(fast, b, b_version, {"customer": "Renamed", "version": b_version + 1})
    ahead.flush()


def _in_transaction(conn: Connection, fn: Callable[[Connection], Any]) -> None:
    with conn.begin():  # as a group does: the transaction is SQLAlchemy's, the writes go beside it
        fn(conn)


def _run_on(driver: str, world: World, fn: Callable[[Connection], Any]) -> None:
    if driver == "psycopg":
        with world.db.connect() as conn:
            _in_transaction(conn, fn)
        return

    async def go() -> None:
        adb = create_async_engine(world.db.url.set(drivername="postgresql+asyncpg"))
        try:
            async with adb.connect() as conn:
                await conn.run_sync(_in_transaction, fn)
        finally:
            await adb.dispose()

    asyncio.run(go())


@pytest.fixture
def world(postgres_url: str, reference_flow_text: str) -> Iterator[World]:
    w = World(postgres_url, reference_flow_text)
    yield w
    w.db.dispose()


def _states(world: World) -> dict[int, tuple[str, str, int]]:
    t = world.live.table
    with world.db.connect() as conn:
        return {r.id: (r.priority, r.customer, r.version)
                for r in conn.execute(select(t.c.id, t.c.priority, t.c.customer, t.c.version))}


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_columns_a_job_leaves_alone_keep_their_value(driver: str, world: World) -> None:
    a, b = _two_records(world)
    _run_on(driver, world, lambda conn: _flush_two_jobs(conn, world.live.fast, a, b, 1))
    assert _states(world) == {a: ("normal", "ACME", 2), b: ("urgent", "Renamed", 2)}


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_a_record_that_moved_on_fails_the_whole_flush(driver: str, world: World) -> None:
    a, b = _two_records(world)
    with pytest.raises(WriteAheadFailed, match="record changed since it was read"):
        _run_on(driver, world, lambda conn: _flush_two_jobs(conn, world.live.fast, a, b, 7))
    assert _states(world) == {a: ("normal", "ACME", 1), b: ("urgent", "Other", 1)}  # nothing of either job


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_two_rows_of_one_kind_for_one_job_are_both_written(driver: str, world: World) -> None:
    from datetime import datetime, timezone

    from engine.records.records import _history_row
    from engine.storage.fastsql import _Compiled
    from engine.storage.schema import history

    a, _ = _two_records(world)

    def job(conn: Connection) -> None:
        rows = [_history_row(flow=world.flow, record_id=a, at=datetime.now(timezone.utc), action="note",
                             comment=text, revision=1) for text in ("first", "second")]
        compiled = _Compiled(history.insert().inline(), conn.dialect, tuple(rows[0]))
        ahead = WriteAhead(conn)
        ahead.queue_update(world.live.fast, a, 1, {"priority": "urgent", "version": 2})
        for row in rows:
            ahead.queue_insert(compiled.sql, compiled.names, compiled.params(row))
        ahead.flush()

    _run_on(driver, world, job)
    with world.db.connect() as conn:
        notes = conn.execute(select(history.c.comment).where(history.c.record_id == a, history.c.action == "note")
                             .order_by(history.c.id)).scalars().all()
    assert notes == ["first", "second"]
    assert _states(world)[a] == ("urgent", "ACME", 2)


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_the_group_refuses_a_guarded_update_of_a_version_it_knows_is_gone(driver: str, world: World) -> None:
    """A read-ahead batch knows the row it read and what its queued UPDATE made of it: a second UPDATE
    guarded by the old version is refused at once with the current version, nothing queued; a second load
    gives the row as the first UPDATE left it, without asking the database."""
    from sqlalchemy.engine import Connection as _Conn

    from engine.records.errors import StaleVersion
    from engine.storage.write_ahead import ReadAheadTransaction

    a, _ = _two_records(world)
    fast = world.live.fast
    seen: dict[str, Any] = {}

    def job(conn: _Conn) -> None:
        ahead = WriteAhead(conn)
        ahead.read_ahead([(fast, a)], [])
        tx = ReadAheadTransaction(conn, ahead)
        assert tx.load(fast, a)["version"] == 1  # type: ignore[index]
        assert tx.guarded_update(fast, a, 1, {"priority": "urgent", "version": 2}) == 1
        ahead.end_job()
        with pytest.raises(StaleVersion) as refused:
            tx.guarded_update(fast, a, 1, {"customer": "Lost update", "version": 2})
        seen["current"] = refused.value.current_version
        seen["pending"] = len(ahead.pending)
        seen["reloaded"] = dict(tx.load(fast, a) or {})
        seen["pending_after_load"] = len(ahead.pending)
        ahead.flush(commit=True)

    _run_on(driver, world, job)
    assert seen["current"] == 2
    assert seen["pending"] == seen["pending_after_load"] == 1  # only the first job's UPDATE, still held back
    assert (seen["reloaded"]["version"], seen["reloaded"]["priority"]) == (2, "urgent")
    assert _states(world)[a] == ("urgent", "ACME", 2)
