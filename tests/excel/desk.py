"""The order desk (tests/acceptance/order_desk) with master data and orders, for the export/import tests."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.people.users import create_user, load_actor
from engine.records.records import Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_folder

FOLDER = Path(__file__).resolve().parents[1] / "acceptance" / "order_desk"
NOW = datetime(2026, 10, 12, 2, 0, tzinfo=timezone.utc)
USERS = [("sales", ["sales"]), ("sales2", ["sales"]), ("clerk", ["clerk"]), ("finance", ["finance"]),
         ("pm", ["product_manager"])]


@dataclass
class Desk:
    db: Engine
    registry: FlowRegistry
    records: Records
    who: dict[str, Any]
    master: dict[str, Any]

    @property
    def orders(self) -> Any:
        return self.registry.get("sales_order")


def open_desk(url: str, *, admin: bool = True) -> Desk:
    db = make_engine(url)
    upgrade_database(db)
    registry = FlowRegistry()
    assert install_folder(db, registry, FOLDER) == []
    records = Records(db, registry)
    who = {}
    for name, roles in USERS:
        create_user(db, name, display_name=name.title(), roles=roles)
        who[name] = load_actor(db, username=name)
    if admin:
        create_user(db, "boss", display_name="Boss", roles=["sales"], is_admin=True)
        who["boss"] = load_actor(db, username="boss")
    sales, pm = who["sales"], who["pm"]
    master = {
        "acme": records.create("customer", sales, {"name": "宁波华东机电", "city": "宁波"}, now=NOW),
        "beta": records.create("customer", sales, {"name": "=HYPERLINK(\"http://x\")", "city": "+86 苏州"}, now=NOW),
        "pump": records.create("product", pm, {"code": "HD-2000", "name": "液压泵", "list_price": "1200"}, now=NOW),
        "valve": records.create("product", pm, {"code": "VL-300", "name": "电磁阀", "list_price": "350.50"}, now=NOW),
    }
    return Desk(db, registry, records, who, master)


def order_values(d: Desk, i: int) -> dict[str, Any]:
    m = d.master
    lines = [{"product": m["pump"].id, "quantity": 1 + i % 5}]
    if i % 2:
        lines.append({"product": m["valve"].id, "quantity": 10, "unit_price": "300.25"})
    if i % 7 == 0:
        lines.append({"product": m["pump"].id, "quantity": 3})
    return {"order_no": f"SO-{i:06d}", "customer": (m["acme"] if i % 3 else m["beta"]).id,
            "delivery_date": f"2026-11-{1 + i % 28:02d}", "priority": "urgent" if i % 4 == 0 else "normal",
            "lines": lines}
