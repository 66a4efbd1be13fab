"""The write interface (engine/storage/executor.py) on its plain implementations, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.records.errors import StaleVersion
from engine.storage.db import RelayflowSQLiteDialect
from engine.storage.plain import JoinedExecutor, PlainExecutor
from tests.conftest import World

ORDER = {"customer": "ACME", "product_model": "X-100", "quantity": 10, "unit_price": "12.50",
         "delivery_date": "2026-12-20"}


def test_a_guarded_update_returns_the_real_count_or_raises_with_the_current_version(
        reference_world: World) -> None:
    w = reference_world
    rec = w.records.create(w.flow, w.user("sally", "sales"), ORDER)
    fast = w.live.fast
    executor = PlainExecutor(w.db)
    with executor.transaction() as tx:
        assert tx.guarded_update(fast, rec.id, 1, {"priority": "urgent", "version": 2}) == 1
    with pytest.raises(StaleVersion) as refused, executor.transaction() as tx:
        tx.guarded_update(fast, rec.id, 1, {"priority": "low", "version": 2})
    assert refused.value.current_version == 2
    with executor.transaction() as tx:
        row = tx.load(fast, rec.id)
    assert row is not None and (row["priority"], row["version"]) == ("urgent", 2)


def test_writes_given_a_joined_executor_commit_or_roll_back_with_its_owner(reference_world: World) -> None:
    """A record write passed the transaction of another write shares it: one rollback undoes both."""
    w = reference_world
    sally = w.user("sally", "sales")
    t = w.live.table
    with pytest.raises(RuntimeError), PlainExecutor(w.db).transaction() as tx:
        created = w.records.using(JoinedExecutor(tx)).create(w.flow, sally, ORDER)
        assert tx.execute(select(t.c.id).where(t.c.id == created.id)).scalar() == created.id  # seen inside
        raise RuntimeError("the owner fails after the write")
    with w.db.connect() as conn:
        assert conn.execute(select(t.c.id)).all() == []
    with PlainExecutor(w.db).transaction() as tx:
        kept = w.records.using(JoinedExecutor(tx)).create(w.flow, sally, ORDER)
    assert w.records.get(w.flow, kept.id).version == 1


def test_sqlite_engines_use_the_registered_dialect(sqlite_url: str, reference_flow_text: str) -> None:
    """BEGIN IMMEDIATE and read-only autocommit come from a dialect subclass, not from patched methods."""
    w = World(sqlite_url, reference_flow_text)
    try:
        assert type(w.db.dialect) is RelayflowSQLiteDialect
        assert "do_begin" not in vars(w.db.dialect)  # nothing set on the instance
        with w.db.connect().execution_options(readonly=True) as conn:
            assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
    finally:
        w.db.dispose()


def test_a_write_on_the_loop_that_bypasses_the_executor_commits_the_open_batch_first(
        sqlite_url: str, reference_flow_text: str) -> None:
    """SQLite group commit: a write transaction begun on the event loop's thread while a batch is open
    (a reload, a requeued delivery: code that takes the Engine) commits the batch first instead of waiting
    on the lock that very thread holds."""
    import asyncio
    import time

    from sqlalchemy import update

    from api.group_commit import GroupCommit
    from engine.storage.schema import users

    w = World(sqlite_url, reference_flow_text)
    try:
        sally = w.user("sally", "sales")
        gc = GroupCommit(w.db)

        async def go() -> tuple[float, bool]:
            task = asyncio.create_task(gc.run(lambda executor: w.records.using(executor).create(w.flow, sally, ORDER)))
            await asyncio.sleep(0)  # the job ran; its batch is open, its COMMIT comes at the loop's next round
            batch = gc._open
            assert batch is not None and not batch.done and batch.jobs
            started = time.monotonic()
            with w.db.begin() as conn:  # on the loop's thread, not through the executor
                conn.execute(update(users).where(users.c.id == sally.id).values(display_name="Sally B."))
            took = time.monotonic() - started
            created = await task
            return took, batch.done and created.id > 0

        took, committed_first = asyncio.run(go())
        assert committed_first and took < 5
        assert w.records.get(w.flow, 1).version == 1
    finally:
        w.db.dispose()
