"""A reload that recomputes running clocks counts each pause exactly: only the working time it took
before the stage was due under the new rule pushes the due instant back."""
from __future__ import annotations

from engine.evolve import apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.sla.scheduler import run_pass
from tests.sla.conftest import in_review, utc

REVIEW_SLA = "    sla: {due: 4h, warn: 75%}\n"
TWO_HOURS = "    sla: {due: 2h, warn: 75%, on_change: recompute}\n"


def test_recompute_counts_a_pause_before_the_new_due_and_ignores_one_after_it(reference_world, team,
                                                                             reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    sales = team["sales"]

    def pause(rec, held, resumed):  # type: ignore[no-untyped-def]
        rec = w.records.transition(w.flow, rec.id, "hold", sales, expected_version=rec.version, now=held,
                                   comment="客户要求暂停")
        return w.records.transition(w.flow, rec.id, "resume", sales, expected_version=rec.version, now=resumed)

    # Both enter review on Monday 10:00 Shanghai (working hours 9-12, 13-18).
    early = pause(in_review(w, team), utc(2026, 11, 23, 3, 0), utc(2026, 11, 26, 1, 0))  # held Mon 11:00 → Thu 09:00
    late = pause(in_review(w, team), utc(2026, 11, 23, 6, 0), utc(2026, 11, 24, 2, 0))   # held Mon 14:00 → Tue 10:00
    assert late.system["sla_paused_seconds"] == 5 * 3600

    assert REVIEW_SLA in reference_flow_text
    shorter = load_flow_text(reference_flow_text.replace(REVIEW_SLA, TWO_HOURS))
    apply_flow(w.db, shorter, expected=plan_flow(w.db, shorter))
    w.registry.refresh(w.db)

    # 2 working hours: Mon 10-11, then Thu 9-10 after the pause; warn at 1.5 h: Thu 09:30.
    got = w.records.get(w.flow, early.id).system
    assert (got["sla_due_at"], got["sla_warn_at"]) == (utc(2026, 11, 26, 2, 0), utc(2026, 11, 26, 1, 30))
    # Mon 10-12: due at noon, before the pause, which therefore moves nothing (adding the 5 paused
    # hours on top would say Monday 18:00); warn at 11:30.
    got = w.records.get(w.flow, late.id).system
    assert (got["sla_due_at"], got["sla_warn_at"]) == (utc(2026, 11, 23, 4, 0), utc(2026, 11, 23, 3, 30))

    [result] = run_pass(w.db, w.registry, now=utc(2026, 11, 24, 4, 0))  # Tuesday noon
    assert result.breached == 1
    assert w.records.get(w.flow, late.id).system["sla_status"] == "breached"
    assert w.records.get(w.flow, early.id).system["sla_status"] != "breached"


def test_the_pauses_of_a_stage_are_dropped_when_the_stage_ends(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from engine.storage.schema import sla_pauses

    w = reference_world
    sales = team["sales"]

    def pauses(record_id: int) -> int:
        with w.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(sla_pauses)
                                    .where(sla_pauses.c.record_id == record_id)).scalar_one())

    rec = in_review(w, team)
    rec = w.records.transition(w.flow, rec.id, "hold", sales, expected_version=rec.version, now=utc(2026, 11, 23, 3, 0),
                               comment="等客户")
    rec = w.records.transition(w.flow, rec.id, "resume", sales, expected_version=rec.version, now=utc(2026, 11, 23, 5, 0))
    assert pauses(rec.id) == 1  # the running stage's pause, for a recompute
    w.records.transition(w.flow, rec.id, "approve", team["clerk"], expected_version=rec.version,
                         now=utc(2026, 11, 23, 6, 0))
    assert pauses(rec.id) == 0
