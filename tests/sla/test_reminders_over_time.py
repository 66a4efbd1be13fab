"""Time travel over the reference flow: warn at 75%, breach at 4 working hours, repeat every 4 working hours."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.delivery.notifications import list_notifications
from engine.delivery.outbox import list_rows
from engine.delivery.worker import Worker
from engine.sla.scheduler import run_pass
from engine.storage.schema import sla_results
from tests.sla.conftest import MONDAY_10, in_review, utc

WARN = utc(2026, 11, 23, 6, 0)       # Mon 14:00 Shanghai: 3 working hours (10-12, 13-14)
DUE = utc(2026, 11, 23, 7, 0)        # Mon 15:00: 4 working hours
REPEAT_1 = utc(2026, 11, 24, 2, 0)   # Tue 10:00: 4 working hours after 15:00 (15-18, 9-10)
REPEAT_2 = utc(2026, 11, 24, 7, 0)   # Tue 15:00
SECOND = timedelta(seconds=1)


def events(w, rec_id: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return sorted((r["event"], r["recipient"], r["channel"]) for r in list_rows(w.db, record_id=rec_id, limit=500))


def status(w, rec_id: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return w.records.get(w.flow, rec_id).system


def test_untouched_review_warns_breaches_and_repeats_until_someone_acts(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    carol, mia = team["clerk"], team["manager"]
    rec = in_review(w, team)
    assert (rec.system["sla_warn_at"], rec.system["sla_due_at"], rec.assignee_id) == (WARN, DUE, carol.id)

    run_pass(w.db, w.registry, now=WARN - SECOND)
    assert events(w, rec.id) == []
    [result] = run_pass(w.db, w.registry, now=WARN)
    assert (result.warned, result.enqueued) == (1, 2)
    assert events(w, rec.id) == [("warn", f"u{carol.id}", "email"), ("warn", f"u{carol.id}", "inbox")]
    assert status(w, rec.id)["sla_status"] == "warning"

    run_pass(w.db, w.registry, now=DUE - SECOND)
    assert len(events(w, rec.id)) == 2
    [result] = run_pass(w.db, w.registry, now=DUE)
    assert (result.breached, result.enqueued) == (1, 5)
    breach = [e for e in events(w, rec.id) if e[0] == "breach"]
    assert breach == sorted([("breach", "all", "webhook"), ("breach", f"u{carol.id}", "email"),
                             ("breach", f"u{carol.id}", "inbox"), ("breach", f"u{mia.id}", "email"),
                             ("breach", f"u{mia.id}", "inbox")])
    sys = status(w, rec.id)
    assert (sys["sla_status"], sys["sla_escalated"], sys["sla_next_remind_at"]) == ("breached", True, REPEAT_1)

    assert run_pass(w.db, w.registry, now=REPEAT_1 - SECOND)[0].repeated == 0
    assert run_pass(w.db, w.registry, now=REPEAT_1)[0].repeated == 1
    assert status(w, rec.id)["sla_next_remind_at"] == REPEAT_2
    assert run_pass(w.db, w.registry, now=REPEAT_2)[0].repeated == 1
    repeats = {r["dedupe_key"].split(":")[3] for r in list_rows(w.db, record_id=rec.id, limit=500) if r["event"] == "repeat"}
    assert repeats == {f"repeat@{int(REPEAT_1.timestamp())}", f"repeat@{int(REPEAT_2.timestamp())}"}

    # The in-app inbox gets them through the worker (the other channels are not configured here).
    worker = Worker(w.db, w.registry, channels={"inbox": __import__("engine.delivery.channels.inbox", fromlist=["x"]).InboxChannel(w.db)})
    worker.run_once(now=REPEAT_2)
    assert [n.event for n in list_notifications(w.db, carol.id)] == ["repeat", "repeat", "breach", "warn"]
    assert [n.event for n in list_notifications(w.db, mia.id)] == ["repeat", "repeat", "breach"]
    assert "已超时" in list_notifications(w.db, mia.id)[-1].title

    # Someone acts: the stage is recorded as missed, with by how much, and the reminders stop.
    late = utc(2026, 11, 24, 8, 0)  # Tue 16:00
    w.records.transition(w.flow, rec.id, "approve", carol, expected_version=rec.version, now=late)
    with w.db.connect() as conn:
        [result_row] = conn.execute(select(sla_results)).mappings().all()
    # late by Mon 15-18 + Tue 9-12 + 13-16 = 9 working hours
    assert (result_row["state"], result_row["met"], result_row["margin_seconds"]) == ("review", False, -9 * 3600)
    review_rows = len(list_rows(w.db, record_id=rec.id, limit=500))
    for days in (1, 2, 3):
        run_pass(w.db, w.registry, now=late + timedelta(days=days, hours=1))
    rows = list_rows(w.db, record_id=rec.id, limit=500)
    assert [r["state"] for r in rows if r["state"] == "review"] == ["review"] * review_rows
    assert {r["state"] for r in rows} == {"review"}  # production has a clock but no warn was due yet…


def test_met_stage_is_recorded_with_its_margin(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    w.records.transition(w.flow, rec.id, "approve", team["clerk"], expected_version=rec.version,
                         now=MONDAY_10 + timedelta(hours=1))
    with w.db.connect() as conn:
        [row] = conn.execute(select(sla_results)).mappings().all()
    assert (row["met"], row["margin_seconds"]) == (True, 3 * 3600)
    run_pass(w.db, w.registry, now=DUE + timedelta(days=1))
    assert list_rows(w.db, record_id=rec.id) == []


def test_pause_and_resume(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    hold_at = MONDAY_10 + timedelta(hours=1)  # Mon 11:00: 1 working hour used, 3 left
    rec = w.records.transition(w.flow, rec.id, "hold", team["sales"], expected_version=rec.version, now=hold_at,
                               comment="客户要求暂停")
    assert rec.system["sla_status"] == "paused"
    assert run_pass(w.db, w.registry, now=DUE + timedelta(days=2))[0].breached == 0  # paused: nothing fires
    resume_at = utc(2026, 11, 26, 1, 0)  # Thu 09:00
    rec = w.records.transition(w.flow, rec.id, "resume", team["sales"], expected_version=rec.version, now=resume_at)
    # 3 working hours left from Thu 09:00 → 12:00; warn had 2 left → 11:00.
    assert (rec.system["sla_due_at"], rec.system["sla_warn_at"]) == (utc(2026, 11, 26, 4, 0), utc(2026, 11, 26, 3, 0))
    assert run_pass(w.db, w.registry, now=utc(2026, 11, 26, 3, 0))[0].warned == 1
    assert run_pass(w.db, w.registry, now=utc(2026, 11, 26, 4, 0))[0].breached == 1
    assert {r["event"] for r in list_rows(w.db, record_id=rec.id)} == {"warn", "breach"}


def test_breached_stage_paused_and_resumed_stays_breached_and_is_reminded(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    run_pass(w.db, w.registry, now=DUE)
    rec = w.records.get(w.flow, rec.id)
    rec = w.records.transition(w.flow, rec.id, "hold", team["sales"], expected_version=rec.version,
                               now=DUE + timedelta(hours=1), comment="等客户")
    assert run_pass(w.db, w.registry, now=REPEAT_1)[0].repeated == 0  # paused: no repeats
    rec = w.records.transition(w.flow, rec.id, "resume", team["sales"], expected_version=rec.version,
                               now=utc(2026, 11, 25, 2, 0))
    assert (rec.system["sla_status"], rec.system["sla_due_at"]) == ("breached", DUE)
    [result] = run_pass(w.db, w.registry, now=utc(2026, 11, 25, 2, 5))
    assert result.repeated == 1


def test_catch_up_after_downtime_sends_each_missed_event_once(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    back = utc(2026, 11, 27, 3, 0)  # Friday: warn, breach and several repeats were missed
    [result] = run_pass(w.db, w.registry, now=back)
    assert (result.warned, result.breached, result.repeated) == (0, 1, 0)
    # The missed warning is not sent late: it is logged as superseded by the breach (test_superseded_warnings.py).
    assert {(r["event"], r["status"]) for r in list_rows(w.db, record_id=rec.id)} == {
        ("breach", "pending"), ("warn", "superseded")}
    # The next repeat comes 4 working hours after the catch-up, not in a burst.
    assert w.records.get(w.flow, rec.id).system["sla_next_remind_at"] == utc(2026, 11, 27, 8, 0)
    assert run_pass(w.db, w.registry, now=back)[0].enqueued == 0


def test_a_breach_no_pass_saw_before_a_pause_is_still_sent(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    """The review falls due at 15:00, the pass last ran at 14:59, and the record is put on hold at 15:00:10.
    The breach is not hidden by the pause: the next cycle tells the clerk and the manager, once."""
    w = reference_world
    rec = in_review(w, team)
    run_pass(w.db, w.registry, now=DUE - SECOND)
    rec = w.records.get(w.flow, rec.id)
    w.records.transition(w.flow, rec.id, "hold", team["sales"], expected_version=rec.version,
                         now=DUE + timedelta(seconds=10), comment="客户要求暂停")
    run_pass(w.db, w.registry, now=DUE + timedelta(seconds=15))
    breach = [r for r in list_rows(w.db, record_id=rec.id) if r["event"] == "breach"]
    assert {(r["recipient"], r["channel"]) for r in breach} >= {
        (f"u{team['clerk'].id}", "email"), (f"u{team['manager'].id}", "email")}
    run_pass(w.db, w.registry, now=DUE + timedelta(days=1))  # still paused: nothing more
    assert len([r for r in list_rows(w.db, record_id=rec.id) if r["event"] == "breach"]) == len(breach)


def test_a_warning_no_pass_saw_before_a_pause_is_still_sent(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    warn_at = rec.system["sla_warn_at"]
    w.records.transition(w.flow, rec.id, "hold", team["sales"], expected_version=rec.version,
                         now=warn_at + timedelta(seconds=10), comment="客户要求暂停")
    run_pass(w.db, w.registry, now=warn_at + timedelta(seconds=15))
    assert {r["event"] for r in list_rows(w.db, record_id=rec.id)} == {"warn"}
