"""SLA changes on reload: running clocks keep their due time or are recomputed, as the file says."""
from __future__ import annotations

from datetime import timedelta

from tests.evolve.helpers import BASE, Evolving, change, edit

REVIEW = "  review: {owner: manager, sla: {due: 4h, clock: elapsed}}"


def test_keep_leaves_running_clocks_alone(world: Evolving) -> None:
    rec = world.create({"customer": "ACME"}, "submit")
    shorter = edit(BASE, (REVIEW, "  review: {owner: manager, sla: {due: 2h, clock: elapsed, on_change: keep}}"))
    plan = world.plan(shorter)
    c = change(plan, "sla_kept", "review")
    assert c.count == 1 and c.effect == "safe" and "keep their due time" in c.text
    world.apply(shorter, plan)
    assert world.get(rec.id).system["sla_due_at"] == rec.system["sla_due_at"]
    fresh = world.create({"customer": "Globex"}, "submit")
    assert fresh.system["sla_due_at"] - fresh.system["sla_started_at"] == timedelta(hours=2)


def test_recompute_moves_running_clocks_to_the_new_rule(world: Evolving) -> None:
    rec = world.create({"customer": "ACME"}, "submit")
    world.create({"customer": "Globex"})  # in draft: no clock
    shorter = edit(BASE, (REVIEW, "  review: {owner: manager, sla: {due: 2h, clock: elapsed, on_change: recompute}}"))
    plan = world.plan(shorter)
    c = change(plan, "sla_recomputed", "review")
    assert c.count == 1 and c.effect == "data" and "1 running clock are recomputed" in c.text
    world.apply(shorter, plan)
    after = world.get(rec.id).system
    assert after["sla_due_at"] == rec.system["sla_started_at"] + timedelta(hours=2)
    assert after["sla_status"] == "on_track"


def test_a_removed_clock_stops_and_a_new_one_starts_on_recompute(world: Evolving) -> None:
    rec = world.create({"customer": "ACME"}, "submit")
    no_clock = edit(BASE, (REVIEW, "  review: {owner: manager}"))
    plan = world.plan(no_clock)
    assert "1 running clock stop" in change(plan, "sla_removed", "review").text
    world.apply(no_clock, plan)
    assert world.get(rec.id).system["sla_due_at"] is None
    clock_again = edit(BASE, (REVIEW, "  review: {owner: manager, sla: {due: 1h, clock: elapsed, on_change: recompute}}"))
    plan = world.plan(clock_again)
    assert change(plan, "sla_added", "review").count == 1
    world.apply(clock_again, plan)
    system = world.get(rec.id).system
    assert system["sla_state"] == "review" and system["sla_due_at"] - system["sla_started_at"] == timedelta(hours=1)
