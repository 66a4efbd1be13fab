"""Several workers at once on one PostgreSQL: each reminder is delivered once; a dead worker's claims come back."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.outbox import DeliveryPolicy, claim, list_rows, mark_sent
from engine.delivery.worker import Worker
from engine.sla.scheduler import run_pass
from tests.conftest import World
from tests.sla.conftest import MONDAY_10, ORDER, utc

DUE = utc(2026, 11, 23, 7, 0)


class CountingChannel:
    """A channel that records every dedupe key it is asked to send (and is a little slow)."""

    def __init__(self, name: str, seen: Counter[str], lock: threading.Lock) -> None:
        self.name, self.seen, self.lock = name, seen, lock

    def send(self, message) -> str:  # type: ignore[no-untyped-def]
        time.sleep(0.002)
        with self.lock:
            self.seen[message.dedupe_key] += 1
        return "ok"


def _world_with_due_reminders(url: str, flow_text: str, records: int) -> World:
    from engine.people.users import create_user, load_actor

    w = World(url, flow_text)
    for username, roles in [("sally", ["sales"]), ("carol", ["clerk"]), ("mia", ["manager"])]:
        create_user(w.db, username, display_name=username.title(), roles=roles)
    sales = load_actor(w.db, username="sally")
    for _ in range(records):
        rec = w.records.create(w.flow, sales, ORDER, now=MONDAY_10)
        w.records.transition(w.flow, rec.id, "submit", sales, expected_version=rec.version, now=MONDAY_10)
    return w


def _channels(seen: Counter[str], lock: threading.Lock) -> dict[str, CountingChannel]:
    return {name: CountingChannel(name, seen, lock) for name in ("inbox", "email", "webhook")}


def test_two_workers_on_postgres_deliver_each_reminder_once(postgres_url, reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    w = _world_with_due_reminders(postgres_url, reference_flow_text, 20)
    try:
        seen: Counter[str] = Counter()
        lock = threading.Lock()
        workers = [Worker(w.db, w.registry, channels=_channels(seen, lock), settings=ChannelSettings(), batch=7,
                          name=f"w{i}") for i in range(2)]
        barrier = threading.Barrier(2)
        results = []

        def run(worker: Worker) -> None:
            barrier.wait()
            results.append(worker.run_once(now=DUE))

        threads = [threading.Thread(target=run, args=(wk,)) for wk in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        rows = [r for r in list_rows(w.db, limit=1000) if r["status"] != "superseded"]  # warnings the breach overtook
        assert len(rows) == 20 * 5 and {r["status"] for r in rows} == {"sent"}
        assert set(seen) == {r["dedupe_key"] for r in rows} and set(seen.values()) == {1}
        assert sum(r.enqueued for r in results) == 100  # the two scheduler passes did not both enqueue
        assert {r["claimed_by"] for r in rows} <= {"w0", "w1"}
    finally:
        w.db.dispose()


def test_concurrent_scheduler_passes_enqueue_once(postgres_url, reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    w = _world_with_due_reminders(postgres_url, reference_flow_text, 10)
    try:
        barrier = threading.Barrier(4)
        out = []

        def one() -> None:
            barrier.wait()
            out.extend(run_pass(w.db, w.registry, now=DUE))

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(r.enqueued for r in out) == 50
        assert len([r for r in list_rows(w.db, limit=1000) if r["status"] != "superseded"]) == 50
    finally:
        w.db.dispose()


def test_killed_worker_leaves_its_claims_to_be_taken_after_the_lease(postgres_url, reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    w = _world_with_due_reminders(postgres_url, reference_flow_text, 2)
    try:
        run_pass(w.db, w.registry, now=DUE)
        policy = DeliveryPolicy(lease=60)
        crashed = claim(w.db, "crashed", limit=100, now=DUE, policy=policy)  # claims, then "dies"
        assert len(crashed) == 10
        assert claim(w.db, "other", limit=100, now=DUE + timedelta(seconds=59), policy=policy) == []
        seen: Counter[str] = Counter()
        survivor = Worker(w.db, w.registry, channels=_channels(seen, threading.Lock()), settings=ChannelSettings(),
                          policy=policy, name="survivor")
        survivor.run_once(now=DUE + timedelta(seconds=61))
        assert set(seen) == {c.row["dedupe_key"] for c in crashed} and set(seen.values()) == {1}
        rows = [r for r in list_rows(w.db) if r["status"] != "superseded"]
        assert {(r["status"], r["attempts"], r["claimed_by"]) for r in rows} == {("sent", 2, "survivor")}
        # The crashed worker coming back to life cannot settle a claim it lost.
        assert mark_sent(w.db, crashed[0], "crashed", started=DUE) is False
    finally:
        w.db.dispose()
