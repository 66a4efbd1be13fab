"""BEGIN IMMEDIATE on SQLite waits for another writer by trying often, and still gives up in the end."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.storage import db as db_module
from engine.storage.db import begin_immediate


def _connections(tmp_path: Path) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    path = tmp_path / "locks.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x INTEGER)")
    waiter = sqlite3.connect(path, check_same_thread=False)
    waiter.execute(f"PRAGMA busy_timeout={db_module.BUSY_TIMEOUT_MS}")
    return holder, waiter


def test_a_writer_gets_the_lock_soon_after_another_lets_go(tmp_path: Path) -> None:
    holder, waiter = _connections(tmp_path)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.15, lambda: holder.execute("COMMIT")).start()
    t0 = time.monotonic()
    begin_immediate(waiter)
    waited = time.monotonic() - t0
    assert waiter.in_transaction
    assert 0.14 <= waited < 0.5  # SQLite's own handler may sleep 100 ms past the release; this tries every ms
    waiter.execute("INSERT INTO t VALUES (1)")
    waiter.commit()
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == db_module.BUSY_TIMEOUT_MS  # restored


def test_a_writer_gives_up_after_the_busy_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder, waiter = _connections(tmp_path)
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    holder.execute("BEGIN IMMEDIATE")
    t0 = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter)
    assert 0.19 <= time.monotonic() - t0 < 2
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 200
    holder.execute("COMMIT")


def test_a_waiting_writer_tries_again_every_millisecond(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between tries it sleeps a millisecond, not SQLite's growing back-off (up to 100 ms), so it catches the
    short gaps between the transactions of a busy server. The holder lets go during the third pause."""
    holder, waiter = _connections(tmp_path)
    holder.execute("BEGIN IMMEDIATE")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            holder.execute("COMMIT")

    monkeypatch.setattr(db_module.time, "sleep", pause)
    begin_immediate(waiter)
    assert waiter.in_transaction
    assert pauses == [0.001, 0.001, 0.001]
    waiter.rollback()
