"""Keyset pages sorted by due instant: values in order, records without a clock last, none twice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.records.listing import ListQuery, list_records

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ORDER = {"customer": "C", "product_model": "M", "quantity": 1, "unit_price": "1", "delivery_date": "2026-12-20"}


@pytest.mark.parametrize("sort", ["sla_due_at", "-sla_due_at"])
def test_pages_by_due_put_clockless_records_last(reference_world, sort: str) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    sales, _clerk = w.user("sally", "sales"), w.user("cleo", "clerk")
    admin = w.user("root")
    admin = type(admin)(**{**admin.__dict__, "is_admin": True})
    clocked, clockless = [], []
    for i in range(5):
        rec = w.records.create(w.flow, sales, {**ORDER, "customer": f"c{i}"}, now=MONDAY_10)
        clockless.append(rec.id)  # drafts have no clock
        rec = w.records.transition(w.flow, rec.id, "submit", sales, expected_version=1,
                                   now=MONDAY_10 + timedelta(hours=i % 3))
        clocked.append((rec.system["sla_due_at"], rec.id))
    for i in range(3):
        clockless.append(w.records.create(w.flow, sales, {**ORDER, "customer": f"d{i}"}, now=MONDAY_10).id)
    clockless = clockless[5:]
    seen: list[int] = []
    after = None
    while True:
        page = list_records(w.db, w.records, w.live, admin, ListQuery(sort=sort, limit=2, after=after))
        seen += [r.id for r in page.records]
        after = page.next_cursor
        if after is None:
            break
    desc = sort.startswith("-")
    expected_clocked = [rid for _, rid in sorted(clocked, key=lambda p: (p[0], p[1]), reverse=desc)]
    expected_tail = sorted(clockless, reverse=desc)
    assert seen == expected_clocked + expected_tail
