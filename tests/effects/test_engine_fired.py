"""Effects of a transition the engine fires itself: `on: approval_passed` carries its `set`, `create` and
`update` like one a person fires, and a failing effect refuses the deciding approval (nothing written)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from engine.records.approvals import decide
from engine.records.effects import EffectFailed
from tests.effects.conftest import Desk, copy_flows

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai

# The warehouse's release is a joint approval by two people; the `ship` transition fires when it passes.
APPROVED_SHIP = """  shipping:
    title: {zh-CN: 待发货, en: Ready to ship}
    owner: warehouse
    edit: [carrier]
    approval: {approvers: [role:warehouse], mode: all}
"""
SHIP_BY_RULE = """    by: warehouse
    require: [carrier]
"""


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    folder = copy_flows(tmp_path)
    path = folder / "sales_order.yaml"
    text = path.read_text(encoding="utf-8")
    old_state = "  shipping: {title: {zh-CN: 待发货, en: Ready to ship}, owner: warehouse, edit: [carrier]}\n"
    assert old_state in text and SHIP_BY_RULE in text
    text = text.replace(old_state, APPROVED_SHIP).replace(SHIP_BY_RULE, "    on: approval_passed\n")
    path.write_text(text, encoding="utf-8")
    d = Desk(database_url, folder)
    yield d
    d.db.dispose()


def _waiting(desk: Desk, total: str | None):  # type: ignore[no-untyped-def]
    sales = desk.user("sales", "sales")
    first, second = desk.user("wh1", "warehouse"), desk.user("wh2", "warehouse")
    cust = desk.records.create("customer", sales, {"name": "宁波华东机电"}, now=NOW)
    rec = desk.records.create("sales_order", sales, {"order_no": "SO-000007", "total": total, "customer": cust.id,
                                                     "shipped_count": 5}, now=NOW)
    rec = desk.records.transition("sales_order", rec.id, "submit", sales, expected_version=rec.version, now=NOW)
    return rec, first, second, cust


def test_the_passing_decision_runs_the_transitions_effects(desk: Desk) -> None:
    rec, first, second, cust = _waiting(desk, "1800.00")
    assert decide(desk.records, "sales_order", rec.id, first, "approve", None, now=NOW).moved_to is None
    assert desk.count("collection_task") == 0  # one of two: the stage has not moved, nothing created yet

    done = decide(desk.records, "sales_order", rec.id, second, "approve", "ok", now=NOW)
    assert done.moved_to == "shipped"
    shipped = desk.records.get("sales_order", rec.id)
    assert shipped.values["shipped_at"] == NOW  # `set`
    assert desk.count("collection_task") == 1  # `create`
    with desk.db.connect() as conn:
        task_id = int(conn.exec_driver_sql("SELECT id FROM flow_collection_task").scalar() or 0)
    task = desk.records.get("collection_task", task_id)
    assert task.values["order"] == rec.id and task.values["amount_due"] == Decimal("1800.00")
    assert desk.records.get("customer", cust.id).values["orders_shipped"] == 5  # `update`
    actions = [h["action"] for h in desk.history("sales_order", rec.id)]
    assert actions[-3:] == ["transition", "effect_create", "effect_update"]
    moved = [h for h in desk.history("sales_order", rec.id) if h["action"] == "transition"][-1]
    assert "shipped_at" in moved["changes"]  # the set field is on the step's history


def test_a_failing_effect_refuses_the_deciding_approval_and_writes_nothing(desk: Desk) -> None:
    rec, first, second, _ = _waiting(desk, None)  # the collection task needs an amount
    decide(desk.records, "sales_order", rec.id, first, "approve", None, now=NOW)
    history_before = len(desk.history("sales_order", rec.id))
    with pytest.raises(EffectFailed) as info:
        decide(desk.records, "sales_order", rec.id, second, "approve", None, now=NOW)
    assert "应收金额" in str(info.value.message)  # the other flow's field, by its title
    after = desk.records.get("sales_order", rec.id)
    assert after.state == "shipping" and after.values["shipped_at"] is None
    assert desk.count("collection_task") == 0
    assert len(desk.history("sales_order", rec.id)) == history_before  # the decision itself was not kept
    # the deciding approver's task is still open: they may decide again once the order is mended
    with desk.db.connect() as conn:
        pending = conn.exec_driver_sql("SELECT count(*) FROM approval_tasks WHERE status = 'pending'").scalar()
    assert pending == 1
