"""Capped per-state counts for list tabs (engine/records/tab_counts.py)."""
from __future__ import annotations

from engine.records.actor import Actor
from engine.records.listing import Filter, ListQuery
from engine.records.tab_counts import capped_counts
from tests.conftest import World

ORDER = {"customer": "ACME", "product_model": "M", "quantity": 2, "unit_price": "10.00",
         "delivery_date": "2026-12-01"}


def test_counts_follow_visibility_and_filters_and_stop_at_the_cap(reference_world: World) -> None:
    w = reference_world
    sales, clerk = w.user("s", "sales"), w.user("c", "clerk")
    admin = Actor(id=w.user("a").id, username="a", is_admin=True)
    for i in range(4):
        rec = w.records.create(w.flow, sales, {**ORDER, "customer": "ACME" if i else "Other"})
        if i < 3:
            w.records.transition(w.flow, rec.id, "submit", sales, expected_version=rec.version)
    counts = capped_counts(w.db, w.live, admin)
    assert counts["review"] == 3 and counts["draft"] == 1 and counts["done"] == 0
    assert capped_counts(w.db, w.live, admin, cap=2)["review"] == 3  # cap + 1 means "more than the cap"
    assert capped_counts(w.db, w.live, clerk)["draft"] == 0  # drafts are not the clerk's to see
    only_acme = ListQuery(filters=(Filter("customer", "eq", "ACME"),))
    assert capped_counts(w.db, w.live, admin, only_acme)["review"] == 2
