"""A warning that a breach overtook (the server was down, or both fell between two passes) is not sent late:
the delivery log shows it as superseded, once per recipient and channel, with the reason. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from engine.delivery.outbox import SUPERSEDED, SUPERSEDED_WHY, counts, list_rows
from engine.delivery.worker import Worker
from engine.sla.scheduler import run_pass
from tests.sla.conftest import in_review, utc

WARN = utc(2026, 11, 23, 6, 0)       # Mon 14:00 Shanghai
DUE = utc(2026, 11, 23, 7, 0)        # Mon 15:00


def _rows(w, rec_id: int) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return list_rows(w.db, record_id=rec_id, limit=500)


def test_a_missed_warning_is_logged_as_superseded_and_never_sent(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    carol = team["clerk"]
    rec = in_review(w, team)
    run_pass(w.db, w.registry, now=WARN - timedelta(minutes=1))  # the last pass before the downtime
    [result] = run_pass(w.db, w.registry, now=DUE + timedelta(hours=2))  # back after the deadline
    assert (result.warned, result.breached) == (0, 1)
    warn = [r for r in _rows(w, rec.id) if r["event"] == "warn"]
    assert {(r["recipient"], r["channel"], r["status"]) for r in warn} == {
        (f"u{carol.id}", "email", SUPERSEDED), (f"u{carol.id}", "inbox", SUPERSEDED)}
    assert all(r["last_error"] == SUPERSEDED_WHY and r["event_at"] == WARN and r["attempts"] == 0 for r in warn)
    assert counts(w.db)[SUPERSEDED] == 2
    # The worker delivers the breach and leaves the superseded warnings alone.
    sent_before = {r["id"] for r in _rows(w, rec.id) if r["status"] == "sent"}
    Worker(w.db, w.registry, channels={}).deliver_batch(now=DUE + timedelta(hours=2))
    after = {r["id"]: r["status"] for r in _rows(w, rec.id)}
    assert all(after[r["id"]] == SUPERSEDED for r in warn)
    assert sent_before <= {i for i, s in after.items() if s == "sent"}
    # Passes after that add nothing, and a warning never comes late.
    run_pass(w.db, w.registry, now=DUE + timedelta(hours=3))
    assert len([r for r in _rows(w, rec.id) if r["event"] == "warn"]) == 2


def test_a_warning_that_was_sent_is_not_superseded(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    run_pass(w.db, w.registry, now=WARN)
    run_pass(w.db, w.registry, now=DUE + timedelta(hours=2))
    assert {r["status"] for r in _rows(w, rec.id) if r["event"] == "warn"} == {"pending"}
    assert SUPERSEDED not in counts(w.db)
