"""The order desk set (tests/acceptance/order_desk: customer, product, the trimmed sales order) end to end.

An order with 3 lines, customer and products from master data and a contract
attached, walks from draft to shipped on SQLite and PostgreSQL: totals exact,
a line changed after a send-back shows in history field by field, references
to a retired customer, a discontinued product or a made-up id are refused with
one answer, a fetched price and credit limit are snapshots (the page can tell
when the source changed), a lookup is live, a conditional field is required
only while its condition holds, and the order's title names its customer.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.files.store import FolderStore
from engine.files.uploads import receive
from engine.language.flow_set import flow_files, load_flow_folder
from engine.people.users import create_user, load_actor
from engine.records.access import Access
from engine.records.errors import ConditionFailed, MissingRequired, ValidationFailed
from engine.records.listing import ListQuery, list_records
from engine.records.records import Records
from engine.records.references import fetch_statuses, lookup_values, shown_targets
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.plain import PlainExecutor
from engine.storage.registry import FlowRegistry, install_folder

FOLDER = Path(__file__).parent / "order_desk"
CONTRACT = FOLDER / "fixtures" / "contract.pdf"
NOW = datetime(2026, 10, 12, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai


@dataclass
class Desk:
    db: Any
    registry: FlowRegistry
    records: Records
    access: Access
    store: FolderStore
    who: dict[str, Any]

    def upload(self, field: str, actor: Any, path: Path = CONTRACT) -> str:
        chunks = iter([path.read_bytes()])
        return receive(PlainExecutor(self.db), self.store, self.registry.get("sales_order").flow, field, actor,
                       path.name, chunks).id

    def move(self, rec: Any, name: str, actor: Any, **kw: Any) -> Any:
        return self.records.transition("sales_order", rec.id, name, actor, expected_version=rec.version, **kw)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    db = make_engine(database_url)
    upgrade_database(db)
    registry = FlowRegistry()
    assert install_folder(db, registry, FOLDER) == []
    records = Records(db, registry)
    who = {}
    for name, roles in [("sales", ["sales"]), ("clerk", ["clerk"]), ("manager", ["manager"]), ("production", ["production"]),
                        ("qc", ["qc"]), ("warehouse", ["warehouse"]), ("finance", ["finance"]), ("pm", ["product_manager"])]:
        create_user(db, name, display_name=name.title(), roles=roles)
        who[name] = load_actor(db, username=name)
    yield Desk(db, registry, records, Access(db, registry, records), FolderStore(tmp_path / "files"), who)
    db.dispose()


def _master_data(d: Desk) -> dict[str, Any]:
    sales, pm, finance = d.who["sales"], d.who["pm"], d.who["finance"]
    acme = d.records.create("customer", sales, {"name": "宁波华东机电", "city": "宁波"}, now=NOW)
    # a transition's `require` fields are filled in the same step (finance sets the limit)
    acme = d.records.transition("customer", acme.id, "set_credit", finance, expected_version=acme.version,
                                values={"credit_limit": "500000"}, now=NOW)
    gone = d.records.create("customer", sales, {"name": "已停用客户", "city": "苏州"}, now=NOW)
    d.records.transition("customer", gone.id, "retire", sales, expected_version=gone.version, comment="closed", now=NOW)
    pump = d.records.create("product", pm, {"code": "HD-2000", "name": "液压泵", "list_price": "1200"}, now=NOW)
    valve = d.records.create("product", pm, {"code": "VL-300", "name": "电磁阀", "list_price": "350.50"}, now=NOW)
    old = d.records.create("product", pm, {"code": "OLD-1", "name": "旧型号", "list_price": "99"}, now=NOW)
    d.records.transition("product", old.id, "discontinue", pm, expected_version=old.version, now=NOW)
    return {"acme": acme, "gone": gone, "pump": pump, "valve": valve, "old": old}


def _order(m: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"order_no": "SO-000001", "customer": m["acme"].id, "delivery_date": "2026-11-20",
            "lines": [{"product": m["pump"].id, "quantity": 2},             # price fetched: 1200
                      {"product": m["valve"].id, "quantity": 10},           # price fetched: 350.50
                      {"product": m["pump"].id, "quantity": 1, "unit_price": "1100"}],  # a price agreed by hand
            **over}


def test_an_order_with_three_lines_walks_from_draft_to_shipped(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales, clerk = d.who["sales"], d.who["clerk"]
    contract = d.upload("contract", sales)
    order = d.records.create("sales_order", sales, _order(m, contract=[contract]), now=NOW)

    prices = [(r["unit_price"], r["amount"]) for r in order.values["lines"]]
    assert prices == [(Decimal("1200.00"), Decimal("2400.00")), (Decimal("350.50"), Decimal("3505.00")),
                      (Decimal("1100.00"), Decimal("1100.00"))]
    assert order.values["total"] == Decimal("7005.00")
    assert order.values["credit_limit"] == Decimal("500000.00")  # fetched from the customer
    seen = d.access.get("sales_order", order.id, sales)
    assert seen.title == "SO-000001 · 宁波华东机电"  # the title names the customer, not its id
    assert seen.values["lines"][1]["quantity"] == 10

    order = d.move(order, "submit", sales, now=NOW)
    assert order.state == "review"
    # the clerk sends it back; sales changes one line and resubmits: history says which field of which row
    order = d.move(order, "send_back", clerk, comment="数量有误", now=NOW)
    lines = [dict(r) for r in d.access.get("sales_order", order.id, sales).values["lines"]]
    lines[1]["quantity"] = 12
    order = d.records.edit("sales_order", order.id, sales, {"lines": lines}, expected_version=order.version, now=NOW)
    assert order.values["total"] == Decimal("7706.00")  # 2400 + 12 × 350.50 + 1100
    edit = [h for h in d.records.history("sales_order", order.id) if h["action"] == "edit"][-1]
    before_rows, after_rows = edit["changes"]["lines"]
    assert before_rows[1]["quantity"] == 10 and after_rows[1]["quantity"] == 12
    assert before_rows[0] == after_rows[0] and before_rows[2] == after_rows[2]
    assert edit["changes"]["total"] == ["7005.00", "7706.00"]

    order = d.move(order, "submit", sales, now=NOW)
    order = d.move(order, "approve", clerk, now=NOW)  # small and within credit
    assert order.state == "production"
    order = d.move(order, "finish_production", d.who["production"], values={"planned_finish": "2026-11-10"}, now=NOW)
    qc = d.who["qc"]
    report = d.upload("qc_report", qc)
    # failing the inspection needs the defect notes (required only while the result is "fail")
    with pytest.raises((ValidationFailed, MissingRequired)):
        d.move(order, "fail_inspection", qc, values={"qc_result": "fail", "qc_report": [report]}, now=NOW)
    with pytest.raises(ConditionFailed):  # a failed result cannot pass, notes or not
        d.move(order, "pass_inspection", qc, values={"qc_result": "fail", "defect_notes": "外壳划伤", "qc_report": [report]},
               now=NOW)
    order = d.move(order, "pass_inspection", qc, values={"qc_result": "pass", "qc_report": [report]}, now=NOW)
    order = d.move(order, "ship", d.who["warehouse"], values={"carrier": "顺丰速运", "tracking_no": "SF1234567890"}, now=NOW)
    assert order.state == "shipped"
    final = d.access.get("sales_order", order.id, sales)
    assert final.values["total"] == Decimal("7706.00") and len(final.values["lines"]) == 3
    assert [h["action"] for h in d.records.history("sales_order", order.id)].count("transition") == 7
    # shipping set the time and opened one collection task for the order's total, due in 30 days (issue 15)
    assert final.values["shipped_at"] == NOW
    with d.db.connect() as conn:
        tasks = conn.exec_driver_sql('SELECT id, "order", amount_due, due_on FROM flow_collection_task').all()
    assert len(tasks) == 1
    task = d.records.get("collection_task", int(tasks[0][0]))
    assert task.values["order"] == order.id and task.values["amount_due"] == Decimal("7706.00")
    assert task.values["due_on"] == NOW.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=30)


def test_references_to_what_may_not_be_picked_get_one_answer(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales = d.who["sales"]
    answers = []
    for bad in ({"customer": m["gone"].id},                   # retired: filtered out
                {"customer": 987654},                         # no such record
                {"lines": [{"product": m["old"].id, "quantity": 1}]},   # discontinued product in a row
                {"lines": [{"product": 987654, "quantity": 1}]}):
        with pytest.raises(ValidationFailed) as info:
            d.records.create("sales_order", sales, _order(m, **bad), now=NOW)
        answers.append(sorted(str(v) for v in info.value.field_errors.values()))
    assert answers[0] == answers[1] == ["there is no such 客户"]
    assert answers[2] == answers[3] == ["there is no such 产品"]
    with d.db.connect() as conn:  # nothing was written
        assert conn.exec_driver_sql("SELECT count(*) FROM flow_sales_order").scalar() == 0


def test_a_fetched_value_is_a_snapshot_and_a_lookup_is_live(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales, finance, pm = d.who["sales"], d.who["finance"], d.who["pm"]
    order = d.records.create("sales_order", sales, _order(m), now=NOW)
    flow = d.registry.get("sales_order").flow
    # the customer's credit limit and city change, the pump's list price too
    acme = d.records.transition("customer", m["acme"].id, "set_credit", finance, expected_version=m["acme"].version,
                                values={"credit_limit": "800000"}, now=NOW)
    d.records.edit("customer", acme.id, sales, {"city": "杭州"}, expected_version=acme.version, now=NOW)
    d.records.edit("product", m["pump"].id, pm, {"list_price": "1500"}, expected_version=m["pump"].version, now=NOW)

    again = d.access.get("sales_order", order.id, sales)
    assert again.values["credit_limit"] == Decimal("500000.00")      # a snapshot
    assert again.values["lines"][0]["unit_price"] == Decimal("1200.00")  # the line kept its price
    targets = shown_targets(d.db, d.registry, flow, again.values, sales)
    assert lookup_values(flow, targets)["customer_city"] == "杭州"     # live
    status = fetch_statuses(d.db, d.registry, flow, order.id, targets)["credit_limit"]
    assert status.changed and status.current == Decimal("800000.00")  # the page marks it, offers the new value
    # a new line picking the pump now gets the new list price
    lines = [dict(r) for r in again.values["lines"]] + [{"product": m["pump"].id, "quantity": 1}]
    edited = d.records.edit("sales_order", order.id, sales, {"lines": lines}, expected_version=again.version, now=NOW)
    assert edited.values["lines"][3]["unit_price"] == Decimal("1500.00")
    assert edited.values["lines"][0]["unit_price"] == Decimal("1200.00")


def test_lists_and_the_inbox_name_the_customer(desk: Desk) -> None:
    from engine.records.inbox import inbox

    d, m = desk, _master_data(desk)
    sales = d.who["sales"]
    order = d.records.create("sales_order", sales, _order(m), now=NOW)
    page = list_records(d.db, d.records, d.registry.get("sales_order"), sales, ListQuery())
    assert [r.title for r in page.records] == ["SO-000001 · 宁波华东机电"]
    titles = [i.title for i in inbox(d.db, d.registry, sales) if i.flow == "sales_order" and i.record_id == order.id]
    assert titles == ["SO-000001 · 宁波华东机电"]


def test_the_folder_reads_as_one_set_without_the_authors_tests() -> None:
    """`sales_order.tests.yaml` (the author's tests, next to the flow) is not read as a flow file."""
    assert (FOLDER / "sales_order.tests.yaml").exists()
    assert [p.name for p in flow_files(FOLDER)] == ["collection_task.yaml", "customer.yaml", "product.yaml", "sales_order.yaml"]
    loaded = load_flow_folder(FOLDER)
    assert not loaded.bad and sorted(f.name for f in loaded.good) == ["collection_task", "customer", "product", "sales_order"]
