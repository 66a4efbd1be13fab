"""The example flows load cleanly, run end to end on SQLite, and the demo seed works.

Instants are fixed (2026-03-02 is a Monday) so that SLA due times can be
checked by hand; the comments show the arithmetic.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.language.flow_set import load_flow_folder
from engine.language.loader import load_flow_file
from engine.people.users import create_user, list_users, load_actor, verify_password
from engine.records.errors import CommentRequired, ConditionFailed, Forbidden, MissingRequired, ValidationFailed
from engine.records.records import Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_flow, install_folder
from engine.storage.schema import users as users_table
from examples.seed import demo_users, seed_demo

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FLOWS = ROOT / "flows"
EXAMPLE_FLOWS = ["sales_order", "purchase_request", "service_ticket"]  # the English examples
ORDER_DESK = EXAMPLES / "order_desk"
ORDER_DESK_FLOWS = ["customer", "product", "sales_order"]

MONDAY_0800_UTC = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam, Berlin and Paris (CET)


# --- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXAMPLE_FLOWS)
def test_example_loads_without_problems(name: str) -> None:
    flow = load_flow_file(EXAMPLES / f"{name}.yaml")  # raises FlowLoadError listing every problem
    assert flow.name == name
    assert flow.spec.language == "en"


def test_flows_folder_holds_exactly_the_order_desk_examples() -> None:
    """The default flows (flows/) are the Chinese-first order desk set of examples/order_desk."""
    example_files = {p.name for p in ORDER_DESK.glob("*.yaml")}
    live_files = {p.name for p in FLOWS.glob("*.y*ml")}
    assert example_files == {"calendars.yaml", "sales_order.tests.yaml", *(f"{n}.yaml" for n in ORDER_DESK_FLOWS)}
    assert live_files == example_files, "flows/ must hold exactly the order desk examples"
    for name in sorted(n for n in live_files if not n.endswith(".tests.yaml")):  # the tests name their fixtures' paths
        assert (FLOWS / name).read_bytes() == (ORDER_DESK / name).read_bytes(), (
            f"flows/{name} differs from examples/order_desk/{name}: copy the example again")


def test_flows_folder_installs(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    registry = FlowRegistry()
    assert install_folder(db, registry, FLOWS) == []
    assert sorted(registry.names()) == sorted(ORDER_DESK_FLOWS)


# --- helpers ------------------------------------------------------------------------------------

class World:
    """A fresh database with one example flow installed and users by role."""

    def __init__(self, url: str, flow: str, people: dict[str, list[str]]) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        self.registry.put(install_flow(self.db, load_flow_file(EXAMPLES / f"{flow}.yaml")))
        self.records = Records(self.db, self.registry)
        self.flow = flow
        self.ids = {u: create_user(self.db, u, password="pw", roles=roles) for u, roles in people.items()}

    def actor(self, username: str):  # type: ignore[no-untyped-def]
        return load_actor(self.db, username=username)

    def create(self, username: str, values: dict, now: datetime):  # type: ignore[no-untyped-def]
        return self.records.create(self.flow, self.actor(username), values, now=now)

    def fire(self, rec, name: str, username: str, now: datetime, **kw):  # type: ignore[no-untyped-def]
        return self.records.transition(self.flow, rec.id, name, self.actor(username),
                                       expected_version=rec.version, now=now, **kw)

    def history(self, rec) -> list[dict]:  # type: ignore[no-untyped-def]
        return self.records.history(self.flow, rec.id)


# --- sales order ----------------------------------------------------------------------------------

def test_sales_order_walkthrough(sqlite_url: str) -> None:
    w = World(sqlite_url, "sales_order", {
        "sophie": ["sales"], "sam": ["sales"], "od1": ["order_desk"], "od2": ["order_desk"],
        "maria": ["manager"], "pieter": ["production"], "quinn": ["quality"], "willem": ["warehouse"],
        "fatima": ["finance"],
    })
    t = MONDAY_0800_UTC
    with pytest.raises(Forbidden):
        w.create("od1", {"customer": "x"}, t)  # create_by: [sales, manager]
    rec = w.create("sophie", {
        "customer": "Bakkerij Visser", "customer_email": "Inkoop@Visser.EXAMPLE", "sales_rep": w.ids["sam"],
        "product_model": "Oven 900", "quantity": 10, "unit_price": "1250.50",
        "services": ["express", "gift_wrap"], "delivery_date": "2026-04-15",
    }, t)
    assert rec.state == "draft"
    assert rec.assignee_id == w.ids["sophie"]                       # assign: creator
    assert rec.values["amount"] == Decimal("12505.00")              # compute: quantity * unit_price
    assert rec.values["services"] == ["gift_wrap", "express"]        # kept in the order of `choices`
    assert rec.values["customer_email"] == "Inkoop@visser.example"   # domain lower-cased
    assert rec.values["priority"] == "normal"                        # default
    assert rec.title == "Bakkerij Visser · Oven 900 × 10"

    rec = w.fire(rec, "submit", "sophie", t)
    assert rec.state == "order_review"
    assert rec.assignee_id == w.ids["od1"]                          # round_robin starts with the first member
    # 4 working hours from Mon 09:00 Amsterdam: 09:00-12:30 (3.5h), 13:00-13:30 (0.5h) → 13:30 = 12:30 UTC
    assert rec.system["sla_due_at"] == datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    # warn at 75% = 3h → 12:00 Amsterdam
    assert rec.system["sla_warn_at"] == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)

    with pytest.raises(ConditionFailed):
        w.fire(rec, "escalate_to_manager", "od1", t)                # only for amount >= 100000
    t += timedelta(hours=1)
    rec = w.fire(rec, "approve", "od1", t)
    assert (rec.state, rec.assignee_id) == ("production", w.ids["pieter"])   # least_loaded

    with pytest.raises(MissingRequired):
        w.fire(rec, "finish_production", "pieter", t)
    rec = w.fire(rec, "finish_production", "pieter", t, values={"planned_finish": "2026-03-20"})
    assert rec.state == "inspection"
    with pytest.raises(ConditionFailed):
        w.fire(rec, "pass_inspection", "quinn", t)                  # qc_result not set yet
    rec = w.fire(rec, "fail_inspection", "quinn", t, values={"qc_result": "fail", "defect_notes": "Door seal"})
    assert rec.state == "production"
    rec = w.fire(rec, "finish_production", "pieter", t)
    rec = w.fire(rec, "pass_inspection", "quinn", t, values={"qc_result": "pass"})
    assert rec.state == "shipping"
    rec = w.fire(rec, "ship", "willem", t, values={"carrier": "PostNL", "tracking_no": "3SABC123"})
    assert rec.state == "delivery_check"
    assert rec.assignee_id == w.ids["sam"]                          # assign: {field: sales_rep}
    rec = w.fire(rec, "confirm_delivery", "sam", t, values={"delivered_on": "2026-03-04"})
    assert rec.state == "invoicing"
    # clock: elapsed, 30d = the same wall time 30 days later; summer time starts on 29 March,
    # so that is 29 days and 23 real hours later.
    assert rec.system["sla_due_at"] == datetime(2026, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert rec.system["sla_due_at"] - t == timedelta(days=30, hours=-1)

    with pytest.raises(ValidationFailed):
        w.fire(rec, "close", "fatima", t, values={"invoice_no": "12345"})  # pattern INV-nnnnnn
    with pytest.raises(ConditionFailed):
        w.fire(rec, "close", "fatima", t, values={"invoice_no": "INV-000123", "paid_amount": "12000"})
    rec = w.fire(rec, "close", "fatima", t, values={"invoice_no": "INV-000123", "paid_amount": "12505.00"})
    assert rec.state == "completed"
    assert rec.assignee_id is None
    assert rec.system["sla_due_at"] is None

    hist = w.history(rec)
    assert [h["action"] for h in hist] == ["create"] + ["transition"] * 9
    assert [h["to_state"] for h in hist][-3:] == ["delivery_check", "invoicing", "completed"]
    assert w.records.available_transitions(rec, w.actor("fatima")) == []


def test_sales_order_large_order_needs_the_manager(sqlite_url: str) -> None:
    w = World(sqlite_url, "sales_order", {"sophie": ["sales"], "od1": ["order_desk"], "maria": ["manager"],
                                           "pieter": ["production"]})
    t = MONDAY_0800_UTC
    rec = w.create("sophie", {"customer": "Hotel Krasnapolsky", "sales_rep": w.ids["sophie"],
                              "product_model": "Oven 900", "quantity": 100, "unit_price": "1250.00",
                              "delivery_date": "2026-06-01"}, t)
    rec = w.fire(rec, "submit", "sophie", t)
    with pytest.raises(ConditionFailed):
        w.fire(rec, "approve", "od1", t)                            # 125 000 EUR: not for the order desk
    rec = w.fire(rec, "escalate_to_manager", "od1", t)
    assert (rec.state, rec.system["assignee_role"], rec.assignee_id) == ("manager_approval", "manager", None)
    rec = w.fire(rec, "manager_approve", "maria", t)
    assert rec.state == "production"


# --- purchase request -----------------------------------------------------------------------------

PURCHASE_PEOPLE = {
    "rita": ["requester"], "dieter": ["department_head"], "dora": ["department_head"],
    "frieda": ["finance_manager"], "paul": ["purchasing"], "rolf": ["receiving"],
}


def _purchase(amount: str) -> dict:
    return {"subject": "Laptops for the new team", "items": "3 × ThinkPad T14\n3 × docking station",
            "supplier": "Bürotechnik Berlin GmbH", "amount": amount, "cost_centre": "cc_5000",
            "needed_by": "2026-04-01"}


def _order_and_receive(w: World, rec, t: datetime, po: str):  # type: ignore[no-untyped-def]
    assert (rec.state, rec.assignee_id) == ("ordering", w.ids["paul"])
    rec = w.fire(rec, "place_order", "paul", t, values={"po_number": po, "ordered_on": "2026-03-02"})
    assert rec.state == "receiving"
    with pytest.raises(MissingRequired):
        w.fire(rec, "confirm_receipt", "rolf", t)
    with pytest.raises(ConditionFailed):
        w.fire(rec, "confirm_receipt", "rolf", t, values={"received_on": "2026-03-10"})  # box not ticked
    rec = w.fire(rec, "confirm_receipt", "rolf", t, values={"received_on": "2026-03-10", "delivery_complete": True})
    assert (rec.state, rec.assignee_id) == ("closed", None)
    return rec


def test_purchase_request_small_amount_skips_finance(sqlite_url: str) -> None:
    w = World(sqlite_url, "purchase_request", PURCHASE_PEOPLE)
    t = MONDAY_0800_UTC
    rec = w.create("rita", _purchase("4890.00"), t)
    assert (rec.state, rec.assignee_id) == ("draft", w.ids["rita"])
    rec = w.fire(rec, "submit", "rita", t)
    assert (rec.state, rec.assignee_id) == ("head_approval", w.ids["dieter"])
    # 1d = one working day later, same time of day: Tue 09:00 Berlin; warn at 50% of 8h15m working time
    assert rec.system["sla_due_at"] == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    # 50% of (09:00-12:00 3h + 12:45-17:00 4h15m + 08:00-09:00 1h = 8h15m) = 4h07m30s → 13:52:30 Berlin
    assert rec.system["sla_warn_at"] == datetime(2026, 3, 2, 12, 52, 30, tzinfo=UTC)
    with pytest.raises(ConditionFailed):
        w.fire(rec, "forward_to_finance", "dieter", t)
    t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)                      # 10:00 Berlin
    rec = w.fire(rec, "approve", "dieter", t)
    # ordering: 8 working hours from Mon 10:00 — 10:00-12:00 (2h), 12:45-17:00 (4h15m),
    # Tue 08:00-09:45 (1h45m) → Tue 09:45 Berlin; the lunch break does not count.
    assert rec.system["sla_due_at"] == datetime(2026, 3, 3, 8, 45, tzinfo=UTC)
    # warn at 75% = 6h: 10:00-12:00, 12:45-16:45 → Mon 16:45 Berlin
    assert rec.system["sla_warn_at"] == datetime(2026, 3, 2, 15, 45, tzinfo=UTC)
    rec = _order_and_receive(w, rec, t, "PO-2026-00001")
    hist = w.history(rec)
    assert len(hist) == 5                                           # create + submit, approve, order, receipt
    assert "finance_approval" not in {h["to_state"] for h in hist}


def test_purchase_request_large_amount_needs_finance(sqlite_url: str) -> None:
    w = World(sqlite_url, "purchase_request", PURCHASE_PEOPLE)
    t = MONDAY_0800_UTC
    rec = w.fire(w.create("rita", _purchase("75000.00"), t), "submit", "rita", t)
    assert rec.state == "head_approval"
    with pytest.raises(ConditionFailed):
        w.fire(rec, "approve", "dieter", t)                         # 75 000 >= 50 000
    rec = w.fire(rec, "forward_to_finance", "dieter", t)
    assert (rec.state, rec.system["assignee_role"], rec.assignee_id) == ("finance_approval", "finance_manager", None)
    with pytest.raises(Forbidden):
        w.fire(rec, "finance_approve", "dieter", t)
    rec = w.fire(rec, "finance_approve", "frieda", t)
    rec = _order_and_receive(w, rec, t, "PO-2026-00002")
    assert [h["to_state"] for h in w.history(rec)] == [
        "draft", "head_approval", "finance_approval", "ordering", "receiving", "closed"]


def test_purchase_request_reject_needs_a_comment(sqlite_url: str) -> None:
    w = World(sqlite_url, "purchase_request", PURCHASE_PEOPLE)
    t = MONDAY_0800_UTC
    first = w.fire(w.create("rita", _purchase("300.00"), t), "submit", "rita", t)
    second = w.fire(w.create("rita", _purchase("310.00"), t), "submit", "rita", t)
    assert first.assignee_id == w.ids["dieter"] and second.assignee_id == w.ids["dora"]  # round_robin
    with pytest.raises(CommentRequired):
        w.fire(second, "reject", "dora", t)
    rec = w.fire(second, "reject", "dora", t, comment="Use the framework contract supplier.")
    assert (rec.state, rec.assignee_id) == ("rejected", None)
    assert w.history(rec)[-1]["comment"] == "Use the framework contract supplier."
    back = w.fire(first, "send_back", "dieter", t, comment="Please attach the quote.")
    assert (back.state, back.assignee_id) == ("draft", w.ids["rita"])


# --- service ticket --------------------------------------------------------------------------------

def _ticket(serial: str = "CP-2024-001234") -> dict:
    return {"customer": "Café des Arts", "customer_email": "patron@cafe-des-arts.example",
            "product": "coffee_pro", "serial_number": serial, "severity": "high",
            "description": "Pump is loud and no water comes out."}


def test_service_ticket_walkthrough(sqlite_url: str) -> None:
    w = World(sqlite_url, "service_ticket", {
        "sandrine": ["service_desk"], "seb": ["support"], "sara": ["support"],
        "elodie": ["engineer"], "emile": ["engineer"], "marc": ["service_manager"],
    })
    t = MONDAY_0800_UTC
    with pytest.raises(ValidationFailed) as err:
        w.create("sandrine", _ticket("cp-2024-1234"), t)
    assert "serial_number" in err.value.field_errors
    rec = w.create("sandrine", _ticket(), t)
    other = w.create("sandrine", _ticket("CP-2023-000007"), t)
    assert rec.state == "triage"                                    # initial: triage
    assert (rec.assignee_id, other.assignee_id) == (w.ids["seb"], w.ids["sara"])  # round_robin
    # 2 working hours from Mon 09:00 Paris → 11:00 Paris
    assert rec.system["sla_due_at"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    rec = w.fire(rec, "start_work", "seb", t)
    assert (rec.state, rec.assignee_id) == ("in_progress", w.ids["elodie"])        # least_loaded
    other = w.fire(other, "start_work", "sara", t)
    assert other.assignee_id == w.ids["emile"]                      # elodie already has one open ticket
    due = rec.system["sla_due_at"]
    assert due == t + timedelta(days=2)                             # clock: elapsed
    assert rec.system["sla_warn_at"] == t + timedelta(hours=36)

    # Waiting for the customer stops the clock ...
    t1 = t + timedelta(hours=3)
    with pytest.raises(CommentRequired):
        w.fire(rec, "ask_customer", "elodie", t1)
    rec = w.fire(rec, "ask_customer", "elodie", t1, comment="Please send a photo of the type plate.")
    assert rec.state == "waiting_customer"
    assert rec.system["sla_status"] == "paused"
    assert rec.system["sla_state"] == "in_progress"
    assert rec.system["sla_due_at"] == due

    # ... and the answer resumes it with the time that was left (45h).
    t2 = t1 + timedelta(hours=24)
    rec = w.fire(rec, "customer_replied", "sandrine", t2)
    assert rec.state == "in_progress"
    assert rec.system["sla_status"] == "on_track"
    assert rec.system["sla_due_at"] == due + timedelta(hours=24)
    assert rec.system["sla_due_at"] > due
    assert rec.system["sla_paused_seconds"] == 24 * 3600

    with pytest.raises(MissingRequired):
        w.fire(rec, "resolve", "elodie", t2)
    rec = w.fire(rec, "resolve", "elodie", t2, values={
        "diagnosis": "Scale in the pump.", "parts_replaced": ["pump", "seal"], "resolution": "Pump replaced."})
    assert (rec.state, rec.system["assignee_role"]) == ("resolved", "service_desk")
    rec = w.fire(rec, "reopen", "sandrine", t2 + timedelta(days=1), comment="Leaks again.")
    assert rec.state == "in_progress"
    rec = w.fire(rec, "resolve", "elodie", t2 + timedelta(days=2), values={"resolution": "Seal replaced too."})
    rec = w.fire(rec, "close", "sandrine", t2 + timedelta(days=3))
    assert (rec.state, rec.assignee_id, rec.system["sla_status"]) == ("closed", None, None)

    hist = w.history(rec)
    assert [h["transition"] for h in hist] == [
        None, "start_work", "ask_customer", "customer_replied", "resolve", "reopen", "resolve", "close"]


# --- demo users -------------------------------------------------------------------------------------

def test_demo_users_cover_every_role() -> None:
    granted = {role for u in demo_users() for role in u.get("roles") or []}
    needed = set()
    for name in EXAMPLE_FLOWS:
        needed |= set(load_flow_file(EXAMPLES / f"{name}.yaml").spec.roles)
    for flow in load_flow_folder(ORDER_DESK).good:
        needed |= set(flow.spec.roles)
    assert needed <= granted
    assert granted <= needed, "a demo user has a role no example flow uses"


def test_seed_is_idempotent(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    first = seed_demo(db)
    users_after_first = list_users(db)
    second = seed_demo(db)
    assert first == second
    assert list_users(db) == users_after_first
    assert len(users_after_first) == len(first) == len(demo_users())
    assert ("admin", "admin", []) in first
    assert all(pw == "demo" for name, pw, _ in first if name != "admin")

    admin = load_actor(db, username="admin")
    assert admin.is_admin
    engineer = load_actor(db, username="engineer")
    assert engineer.roles == {"engineer"} and not engineer.is_admin
    with db.connect() as conn:
        pw_hash = conn.execute(select(users_table.c.password_hash)
                               .where(users_table.c.username == "engineer")).scalar_one()
    assert verify_password(pw_hash, "demo")


def test_seed_keeps_existing_users(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    create_user(db, "sales", display_name="Someone else", password="secret", roles=["manager"])
    seed_demo(db)
    sales = load_actor(db, username="sales")
    assert sales.display_name == "Someone else" and sales.roles == {"manager"}


# --- the order desk demo data -------------------------------------------------------------------------

def test_demo_data_fills_every_stage_with_some_late_orders(sqlite_url: str, tmp_path: Path) -> None:
    from engine.files.store import FolderStore
    from engine.records.inbox import inbox
    from examples.demo_data import SPREAD, seed_order_desk

    db = make_engine(sqlite_url)
    upgrade_database(db)
    seed_demo(db)
    registry = FlowRegistry()
    assert install_folder(db, registry, FLOWS) == []
    now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    made = seed_order_desk(db, registry, FolderStore(tmp_path / "files"), now=now)
    assert made is not None and made.customers >= 10 and made.products >= 10 and made.orders >= 30
    with db.connect() as conn:
        by_state = dict(conn.exec_driver_sql("SELECT state, count(*) FROM flow_sales_order GROUP BY state").all())
        late = conn.exec_driver_sql("SELECT count(*) FROM flow_sales_order WHERE sla_due_at < :now",
                                    {"now": now.replace(tzinfo=None)}).scalar()
    assert by_state == {state: count for state, count, _late in SPREAD}
    assert late and late >= sum(n for _s, _c, n in SPREAD)
    clerk = load_actor(db, username="clerk")
    titles = [i.title for i in inbox(db, registry, clerk, now=now) if i.flow == "sales_order"]
    assert titles and all(" · " in t and not t.split(" · ")[1].isdigit() for t in titles)  # customers by name
    # running it again changes nothing
    assert seed_order_desk(db, registry, FolderStore(tmp_path / "files"), now=now) is None
