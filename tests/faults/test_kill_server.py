"""SIGKILL a real server process (127.0.0.1) in the middle of edits and transitions, 30 times per database.

After each kill, every record is whole: its version equals its history rows, its state is the one the
last transition entered, its values are what the history's diffs replay to, every entry into `review`
left its reminder in the outbox, and every change a client was told succeeded is there. A transition
the kill interrupted is wholly absent; the next server starts on the same database and goes on.
The servers are forked from a launcher that imported the app once (bench/fork_server.py), so 30
restarts take seconds, not minutes.
"""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from bench.soak import Launcher, Tally, check, client_loop, create_records, kill, prepare, server
from engine.language.loader import load_flow_text
from engine.storage.tables import build_flow_table

RUNS = 30  # kills per database, split over a few tests so that parallel workers share them
SPLIT = 2
CLIENTS = 4
RECORDS = 20


def _acked(tally: Tally) -> int:
    with tally.lock:
        return sum(n for s, n in tally.statuses.items() if 200 <= s < 300)


@pytest.mark.parametrize("part", range(SPLIT))
def test_killed_server_leaves_whole_transitions(database_url: str, tmp_path: Path, part: int) -> None:
    setup = prepare(database_url, tmp_path / "flows")
    launcher = Launcher(setup, tmp_path / "server.log")
    rng = random.Random(part)
    tally = Tally()
    ids: list[int] = []
    try:
        for run in range(RUNS // SPLIT):
            pid, base = launcher.start()
            if not ids:
                ids = create_records(base, setup.token, RECORDS, tally)
            stop = threading.Event()
            threads = [threading.Thread(target=client_loop, args=(base, setup.token, ids, tally, stop, 100 * run + c))
                       for c in range(CLIENTS)]
            before = _acked(tally)
            for th in threads:
                th.start()
            deadline = time.monotonic() + 30
            while _acked(tally) < before + 3 and time.monotonic() < deadline:  # traffic is flowing
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            kill(pid)  # SIGKILL, mid-traffic
            stop.set()
            for th in threads:
                th.join(30)
            problems = check(setup.db, tally)
            assert not problems, f"after kill {run + 1}: {problems[:10]}"
        assert tally.server_errors == 0, tally.errors
    finally:
        launcher.close()
        setup.db.dispose()


def test_the_check_finds_a_broken_record(sqlite_url: str, tmp_path: Path) -> None:
    """The checker the fault tests rely on does fail: a version without its history row, a value the
    history never wrote."""
    setup = prepare(sqlite_url, tmp_path / "flows")
    try:
        with server(setup) as (_, base):
            a, b = create_records(base, setup.token, 2)
        assert check(setup.db) == []
        t = build_flow_table(load_flow_text(Path(tmp_path / "flows" / "orders.yaml").read_text()))
        with setup.db.begin() as conn:
            conn.execute(update(t).where(t.c.id == a).values(version=2))
            conn.execute(update(t).where(t.c.id == b).values(qty=999))
        problems = check(setup.db)
        assert any(f"record #{a}: version 2 but 1 history rows" in p for p in problems)
        assert any(f"record #{b}: qty is 999" in p for p in problems)
    finally:
        setup.db.dispose()
