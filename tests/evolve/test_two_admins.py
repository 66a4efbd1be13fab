"""Two admins change the same flow at once: one applies, the other is told the live revision changed."""
from __future__ import annotations

import threading

import pytest

from engine.evolve import LiveRevisionChanged, PlanChanged, apply_flow
from engine.language.loader import load_flow_text
from tests.evolve.helpers import BASE, Evolving, edit

ADD_REGION = edit(BASE, ("  note: {type: longtext}\n", "  note: {type: longtext}\n  region: {type: text}\n"))
ADD_PHONE = edit(BASE, ("  note: {type: longtext}\n", "  note: {type: longtext}\n  phone: {type: phone}\n"))


def test_the_second_apply_is_told_the_live_revision_changed(world: Evolving) -> None:
    first, second = world.plan(ADD_REGION), world.plan(ADD_PHONE)
    assert first.base_revision == second.base_revision == 1
    world.apply(ADD_REGION, first)
    with pytest.raises(LiveRevisionChanged, match=r"live revision changed since the plan \(planned against "
                                                  r"revision 1, live is now revision 2\)"):
        world.apply(ADD_PHONE, second)
    assert world.live_revision() == 2 and "phone" not in world.columns()


def test_two_applies_at_the_same_moment(world: Evolving) -> None:
    plans = {text: world.plan(text) for text in (ADD_REGION, ADD_PHONE)}
    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def admin(text: str) -> None:
        start.wait()
        try:
            apply_flow(world.db, load_flow_text(text), expected=plans[text])
            outcome[text] = "applied"
        except LiveRevisionChanged:
            outcome[text] = "live revision changed"

    threads = [threading.Thread(target=admin, args=(t,)) for t in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcome.values()) == ["applied", "live revision changed"]
    winner = next(t for t, o in outcome.items() if o == "applied")
    assert world.live_revision() == 2 and world.revisions() == [1, 2]
    assert ("region" in world.columns()) == (winner is ADD_REGION)
    assert ("phone" in world.columns()) == (winner is ADD_PHONE)


def test_a_plan_the_records_outran_is_refused(world: Evolving) -> None:
    mapped = edit(BASE, ("  legal: {owner: manager}", "  legal: {moved_to: review}"),
                  ("  to_legal: {from: review, to: legal, by: manager}\n", ""),
                  ("approve: {from: [review, legal]", "approve: {from: [review]"))
    plan = world.plan(mapped)  # nobody is in legal: nothing to move
    world.create({"customer": "ACME"}, "submit", "to_legal")
    with pytest.raises(PlanChanged, match="the database changed since the plan"):
        world.apply(mapped, plan)
    world.apply(mapped, world.plan(mapped))
    assert world.live_revision() == 2
