"""Demo records for the order desk flows (examples/order_desk): a first inbox that is not empty.

`seed_order_desk(db, registry)` creates customers, products and a few dozen
sales orders spread over every stage, some of them late, through the engine
itself (so every record has its history, its assignee and its SLA clock, as
if people had worked on it over the last weeks). It does nothing when the
order desk flows are not loaded, or when customers exist already: running it
again changes nothing.

The times are in the past relative to `now`: an order "entered review two
working days ago" with a four-hour clock is late today.
"""
from __future__ import annotations

import random
from pathlib import Path
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from engine.files.store import FileStore
from engine.files.uploads import receive
from engine.people.users import load_actor
from engine.records.records import Records
from engine.storage.plain import PlainExecutor
from engine.storage.registry import FlowRegistry

ORDER_DESK_FLOWS = ("customer", "product", "sales_order")
SCAN = Path(__file__).parent / "demo" / "contract.pdf"  # a small real PDF: every contract and QC report of the demo

CUSTOMERS = [
    ("宁波华东机电有限公司", "宁波", "陈建国", "0574-87651234", 800_000),
    ("苏州精工设备有限公司", "苏州", "王丽", "0512-65213344", 500_000),
    ("上海申达自动化有限公司", "上海", "李明", "021-64587788", 1_500_000),
    ("杭州恒信机械有限公司", "杭州", "张伟", "0571-88126655", 300_000),
    ("无锡锡山液压件厂", "无锡", "刘洋", "0510-83456789", 200_000),
    ("深圳南方智能装备有限公司", "深圳", "黄晓燕", "0755-26548899", 2_000_000),
    ("广州穗丰工业有限公司", "广州", "周强", "020-38765432", 600_000),
    ("天津渤海重工有限公司", "天津", "吴刚", "022-23456781", 1_000_000),
    ("青岛海滨船舶配件有限公司", "青岛", "郑芳", "0532-85671234", 400_000),
    ("成都蜀能动力有限公司", "成都", "孙磊", "028-85439876", 350_000),
    ("武汉江城机床有限公司", "武汉", "马静", "027-87654321", 450_000),
    ("合肥庐州电气有限公司", "合肥", "朱华", "0551-63456712", 250_000),
]

PRODUCTS = [
    ("HD-1000", "齿轮泵", "1200.00", "pcs"),
    ("HD-2000", "液压泵", "3580.00", "pcs"),
    ("HD-2100", "柱塞泵", "6890.00", "pcs"),
    ("VL-300", "电磁换向阀", "860.00", "pcs"),
    ("VL-310", "比例溢流阀", "1450.00", "pcs"),
    ("CY-50", "液压油缸 Φ50", "2200.00", "pcs"),
    ("CY-80", "液压油缸 Φ80", "3900.00", "pcs"),
    ("PK-01", "液压站总成", "28600.00", "set"),
    ("FT-10", "回油过滤器", "320.00", "pcs"),
    ("HS-20", "高压软管组件", "185.00", "set"),
]

# Where the orders stand: (final state, how many, how many of them are late).
SPREAD = [
    ("draft", 5, 0),
    ("review", 6, 2),
    ("joint_review", 3, 1),
    ("production", 7, 2),
    ("inspection", 4, 1),
    ("shipping", 4, 1),
    ("on_hold", 2, 0),
    ("shipped", 5, 0),
    ("cancelled", 2, 0),
]

# The transitions that lead to each state, and who fires them.
ROAD: dict[str, list[tuple[str, str]]] = {
    "draft": [],
    "review": [("submit", "sales")],
    "joint_review": [("submit", "sales"), ("to_joint_review", "clerk")],
    "production": [("submit", "sales"), ("approve", "clerk")],
    "inspection": [("submit", "sales"), ("approve", "clerk"), ("finish_production", "production")],
    "shipping": [("submit", "sales"), ("approve", "clerk"), ("finish_production", "production"), ("pass_inspection", "qc")],
    "on_hold": [("submit", "sales"), ("hold", "sales")],
    "shipped": [("submit", "sales"), ("approve", "clerk"), ("finish_production", "production"), ("pass_inspection", "qc"),
                ("ship", "warehouse")],
    "cancelled": [("cancel", "sales")],
}

COMMENTS = {"hold": "客户要求推迟,等待新的交期确认", "cancel": "客户取消采购计划", "send_back": "请补充合同扫描件"}


@dataclass
class Seeded:
    customers: int
    products: int
    orders: int


def order_desk_loaded(registry: FlowRegistry) -> bool:
    return all(name in registry.names() for name in ORDER_DESK_FLOWS)


def _count(db: Engine, registry: FlowRegistry, flow: str) -> int:
    table = registry.get(flow).table
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def seed_order_desk(db: Engine, registry: FlowRegistry, store: FileStore, *, now: datetime | None = None,
                    seed: int = 20261204) -> Seeded | None:
    """Create the demo customers, products and orders; None when not applicable or already there."""
    if not order_desk_loaded(registry) or _count(db, registry, "customer"):
        return None
    now = now or datetime.now(timezone.utc)
    rng = random.Random(seed)
    records = Records(db, registry)
    who = {name: load_actor(db, username=name) for name in
           ("sales", "sales2", "clerk", "manager", "production", "qc", "warehouse", "finance", "product_manager")}
    start = now - timedelta(days=40)

    customer_ids = []
    for name, city, contact, phone, limit in CUSTOMERS:
        rec = records.create("customer", who["sales"], {
            "name": name, "city": city, "contact": contact, "phone": phone}, now=start)
        rec = records.transition("customer", rec.id, "set_credit", who["finance"], expected_version=rec.version,
                                 values={"credit_limit": Decimal(limit)}, now=start + timedelta(hours=2))
        customer_ids.append(rec.id)
    product_ids = []
    for code, name, price, unit in PRODUCTS:
        rec = records.create("product", who["product_manager"], {
            "code": code, "name": name, "list_price": Decimal(price), "unit": unit}, now=start)
        product_ids.append(rec.id)

    number = 0
    for state, count, late in SPREAD:
        for i in range(count):
            number += 1
            _one_order(records, who, rng, number, state, is_late=i < late, now=now,
                       customers=customer_ids, products=product_ids, scan=partial(_scan, db, store, registry))
    return Seeded(len(customer_ids), len(product_ids), number)


def _scan(db: Engine, store: FileStore, registry: FlowRegistry, field: str, actor: Any, name: str, at: datetime) -> str:
    """Upload the demo PDF for `field` of a sales order as `actor`; the pending file's id."""
    flow = registry.get("sales_order").flow
    return receive(PlainExecutor(db), store, flow, field, actor, name, iter([SCAN.read_bytes()]), now=at).id


def _one_order(records: Records, who: dict[str, Any], rng: random.Random, number: int, state: str, *, is_late: bool,
               now: datetime, customers: list[int], products: list[int], scan: Any) -> None:
    road = ROAD[state]
    # Each step takes some hours; a late order sat in its last stage for days.
    stay = timedelta(days=rng.randint(3, 6)) if is_late else timedelta(hours=rng.randint(1, 3))
    steps = [timedelta(hours=rng.randint(2, 20)) for _ in road]
    at = now - stay - sum(steps, timedelta()) - timedelta(hours=1)
    seller = who["sales"] if number % 3 else who["sales2"]
    # Small orders stay under the 100,000 of a clerk's approval; a joint review gets a hydraulic station more.
    lines = [{"product": rng.choice(products[:7]), "quantity": rng.choice((1, 2, 3, 4))}
             for _ in range(rng.randint(1, 3))]
    if state == "joint_review":  # a large order needs the manager
        lines.append({"product": products[7], "quantity": rng.randint(5, 12)})
    values: dict[str, Any] = {
        "order_no": f"SO-{202600 + number:06d}",
        "customer": rng.choice(customers),
        "sales_rep": seller.id,
        "lines": lines,
        "delivery_date": (now + timedelta(days=rng.randint(-3, 45))).astimezone(timezone.utc).date(),
        "priority": "urgent" if number % 7 == 0 else "normal",
    }
    if road and road[0][0] == "submit":  # the contract is attached before the order is submitted
        values["contract"] = [scan("contract", seller, f"合同-{values['order_no']}.pdf", at)]
    rec = records.create("sales_order", seller, values, now=at)
    for (name, role), step in zip(road, steps, strict=True):
        at += step
        actor = seller if role == "sales" else who[role]
        extra: dict[str, Any] = {}
        if name == "finish_production":
            extra = {"planned_finish": (at + timedelta(days=2)).date()}
        elif name == "pass_inspection":
            extra = {"qc_result": "pass", "qc_report": [scan("qc_report", actor, f"质检报告-{values['order_no']}.pdf", at)]}
        elif name == "ship":
            extra = {"carrier": rng.choice(("顺丰速运", "德邦物流", "中通快运")), "tracking_no": f"SF{rng.randint(10**11, 10**12 - 1)}"}
        rec = records.transition("sales_order", rec.id, name, actor, expected_version=rec.version,
                                 values=extra or None, comment=COMMENTS.get(name), now=at)

