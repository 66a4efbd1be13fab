"""The acceptance sales order with issue 13's keys (SQLite and PostgreSQL): production's deadline is read off the
promised delivery date, 3 working days before it (China's public holidays and make-up days), and moves when an
order comes back with a new date; a large order's joint review gives finance, production and the creator's
manager a task each and moves on by itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.people.departments import add_department, add_member
from engine.records.approvals import decide
from tests.acceptance.test_order_desk import NOW, Desk, _master_data, _order, desk  # noqa: F401 - the fixture

CST = timezone(timedelta(hours=8))


def test_production_is_due_three_working_days_before_the_promised_date(desk: Desk) -> None:  # noqa: F811
    d, m = desk, _master_data(desk)
    sales, clerk = d.who["sales"], d.who["clerk"]
    order = d.records.create("sales_order", sales, _order(m, contract=[d.upload("contract", sales)]), now=NOW)
    order = d.move(order, "submit", sales, now=NOW)
    order = d.move(order, "approve", clerk, now=NOW)
    assert order.state == "production"
    # Friday 20 November 2026: Thursday 19, Wednesday 18, Tuesday 17 -> Tuesday 17 November at 18:00.
    assert order.system["sla_due_at"] == datetime(2026, 11, 17, 18, 0, tzinfo=CST)
    assert order.system["sla_warn_at"] == datetime(2026, 11, 13, 18, 0, tzinfo=CST)  # 5 working days before
    # Promised for Wednesday 14 October: 3 working days back lie before the stage began (Monday 12th 10:00): due at once.
    late = d.records.create("sales_order", sales, _order(m, order_no="SO-000002", delivery_date="2026-10-14",
                                                         contract=[d.upload("contract", sales)]), now=NOW)
    late = d.move(d.move(late, "submit", sales, now=NOW), "approve", clerk, now=NOW)
    assert late.system["sla_due_at"] == NOW


def test_a_large_order_goes_to_joint_review_and_moves_on_when_all_three_approved(desk: Desk) -> None:  # noqa: F811
    d, m = desk, _master_data(desk)
    sales, clerk = d.who["sales"], d.who["clerk"]
    add_department(d.db, "east", "华东销售部", manager="manager")
    add_member(d.db, "east", "sales")
    big = _order(m, lines=[{"product": m["pump"].id, "quantity": 100}])  # 120,000.00: joint review
    order = d.records.create("sales_order", sales, {**big, "contract": [d.upload("contract", sales)]}, now=NOW)
    order = d.move(d.move(order, "submit", sales, now=NOW), "to_joint_review", clerk, now=NOW)
    assert order.state == "joint_review"
    for who in ("finance", "production"):
        assert decide(d.records, "sales_order", order.id, d.who[who], "approve", None, now=NOW).moved_to is None
    out = decide(d.records, "sales_order", order.id, d.who["manager"], "approve", "同意", now=NOW)
    assert out.moved_to == "production"
