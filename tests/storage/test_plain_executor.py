"""The plain executor's own transactions: on SQLite it keeps a couple of connections between writes (taking
one from the pool per write costs about as much as a small write). A failed write still leaves nothing behind,
writes from several threads all land, and the kept connections go back to the pool when it is closed."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from engine.storage.db import make_engine
from engine.storage.plain import KEEP, PlainExecutor

md = MetaData()
notes = Table("executor_probe", md, Column("id", Integer, primary_key=True), Column("text", String(40)))


def _count(executor: PlainExecutor) -> int:
    with executor.read() as conn:
        return int(conn.execute(select(func.count()).select_from(notes)).scalar_one())


def test_a_failed_write_leaves_nothing_and_the_next_write_lands(database_url: str) -> None:
    db = make_engine(database_url)
    md.create_all(db)
    executor = PlainExecutor(db)
    try:
        with executor.transaction() as tx:
            tx.execute(insert(notes).values(text="first"))
        with pytest.raises(RuntimeError), executor.transaction() as tx:
            tx.execute(insert(notes).values(text="lost"))
            raise RuntimeError("the write fails after its first statement")
        with executor.transaction() as tx:
            tx.execute(insert(notes).values(text="second"))
        with executor.read() as conn:
            assert sorted(conn.execute(select(notes.c.text)).scalars()) == ["first", "second"]
    finally:
        executor.close()
        md.drop_all(db)
        db.dispose()


def test_writes_from_several_threads_all_land_and_close_gives_the_connections_back(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    md.create_all(db)
    executor = PlainExecutor(db)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with executor.transaction() as tx:
                    tx.execute(insert(notes).values(text=f"{n}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(executor) == 100
    assert 1 <= db.pool.checkedout() <= KEEP  # kept between writes, never more than KEEP
    executor.close()
    assert db.pool.checkedout() == 0
    db.dispose()
