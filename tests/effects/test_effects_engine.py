"""Transition effects on both databases: set, create in another flow, update a referenced record; a failing
effect refuses the transition and writes nothing anywhere."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from engine.records.effects import EffectFailed
from tests.effects.conftest import Desk

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def _shippable(desk: Desk, *, total: str | None = "2400.00", customer: bool = True, order_no: str = "SO-000001",
               shipped_count: int | None = 3):  # type: ignore[no-untyped-def]
    sales, wh = desk.user("sales", "sales"), desk.user("wh", "warehouse")
    cust = desk.records.create("customer", sales, {"name": "宁波华东机电"}, now=NOW) if customer else None
    values = {"order_no": order_no, "total": total, "shipped_count": shipped_count}
    if cust is not None:
        values["customer"] = cust.id
    rec = desk.records.create("sales_order", sales, values, now=NOW)
    rec = desk.records.transition("sales_order", rec.id, "submit", sales, expected_version=rec.version, now=NOW)
    rec = desk.records.edit("sales_order", rec.id, wh, {"carrier": "顺丰"}, expected_version=rec.version, now=NOW)
    return rec, wh, cust


def test_shipping_creates_one_collection_task_sets_the_time_and_updates_the_customer(desk: Desk) -> None:
    rec, wh, cust = _shippable(desk)
    shipped = desk.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=NOW)
    assert shipped.state == "shipped" and shipped.values["shipped_at"] == NOW

    assert desk.count("collection_task") == 1
    with desk.db.connect() as conn:
        task_id = conn.exec_driver_sql("SELECT id FROM flow_collection_task").scalar()
    task = desk.records.get("collection_task", int(task_id))
    assert task.values["order"] == rec.id  # the reference back
    assert task.values["amount_due"] == Decimal("2400.00")
    assert task.values["due_on"] == date(2026, 12, 30)  # today (Shanghai) + 30 days
    assert task.state == "open" and task.system["sla_due_at"] is not None  # entered its first state, with its clock

    customer = desk.records.get("customer", cust.id)
    assert customer.values["last_order_no"] == "SO-000001" and customer.values["orders_shipped"] == 3

    # history on both sides of each effect
    mine = [h for h in desk.history("sales_order", rec.id) if h["action"].startswith("effect_")]
    assert [(h["action"], h["changes"]["_effect"]["flow"]) for h in mine] == [
        ("effect_create", "collection_task"), ("effect_update", "customer")]
    theirs = [h["action"] for h in desk.history("collection_task", task.id)]
    assert theirs == ["create", "created_by"]
    by = desk.history("collection_task", task.id)[1]["changes"]["_effect"]
    assert by == {"flow": "sales_order", "id": rec.id, "title": "SO-000001", "transition": "ship"}
    assert [h["action"] for h in desk.history("customer", cust.id)] == ["create", "edit", "updated_by"]


def test_an_effect_that_breaks_the_other_flows_rules_refuses_and_writes_nothing(desk: Desk) -> None:
    rec, wh, cust = _shippable(desk, total=None)  # the collection task requires an amount
    history_before = len(desk.history("sales_order", rec.id))
    with pytest.raises(EffectFailed) as info:
        desk.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=NOW)
    text = str(info.value)
    assert "回款任务" in text and "应收金额" in text  # the other flow and its field, by title
    assert "amount_due" not in text and "total" not in text  # no ids for people
    assert info.value.code == "effect_failed"
    after = desk.records.get("sales_order", rec.id)
    assert (after.state, after.version, after.values["shipped_at"]) == ("shipping", rec.version, None)
    assert desk.count("collection_task") == 0
    assert len(desk.history("sales_order", rec.id)) == history_before
    assert desk.records.get("customer", cust.id).values["last_order_no"] is None


def test_an_update_that_breaks_the_referenced_flows_rules_refuses_too(desk: Desk) -> None:
    rec, wh, cust = _shippable(desk, shipped_count=-1)  # customer.orders_shipped has min: 0
    with pytest.raises(EffectFailed) as info:
        desk.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=NOW)
    assert "客户" in str(info.value) and "已发货订单数" in str(info.value)
    assert desk.count("collection_task") == 0  # the create before it is rolled back with it
    assert desk.records.get("sales_order", rec.id).state == "shipping"
    assert desk.records.get("customer", cust.id).values["orders_shipped"] is None


def test_an_empty_reference_updates_nothing_and_the_create_still_happens(desk: Desk) -> None:
    rec, wh, _ = _shippable(desk, customer=False)
    desk.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=NOW)
    assert desk.count("collection_task") == 1


def test_set_refuses_a_value_its_field_cannot_hold(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.effects.conftest import copy_flows

    folder = copy_flows(tmp_path)
    path = folder / "sales_order.yaml"
    text = path.read_text(encoding="utf-8").replace('set: {shipped_at: "now"}',
                                                    'set: {shipped_at: "now", shipped_count: "shipped_count * 1000"}')
    path.write_text(text.replace("shipped_count: {type: integer,", "shipped_count: {type: integer, max: 100,"), encoding="utf-8")
    d = Desk(database_url, folder)
    try:
        rec, wh, _ = _shippable(d)
        with pytest.raises(EffectFailed) as info:
            d.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=NOW)
        assert "客户发货数" in str(info.value)
        assert d.records.get("sales_order", rec.id).state == "shipping" and d.count("collection_task") == 0
    finally:
        d.db.dispose()


def test_the_time_advances_with_the_clock(desk: Desk) -> None:
    rec, wh, _ = _shippable(desk)
    later = NOW + timedelta(days=3)
    desk.records.transition("sales_order", rec.id, "ship", wh, expected_version=rec.version, now=later)
    with desk.db.connect() as conn:
        due = conn.exec_driver_sql("SELECT due_on FROM flow_collection_task").scalar()
    assert str(due)[:10] == "2027-01-02"
