"""`notify_on_change:`: a change of a listed field (a table's rows too) in the listed states tells the listed
people through their channels, in their language, with the fields' titles and the values before and after;
never the one who made the change."""
from __future__ import annotations

from datetime import datetime

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.notifications import list_notifications
from engine.delivery.outbox import DeliveryPolicy, list_rows
from engine.delivery.worker import Worker
from tests.events.conftest import MONDAY_10, Receiver, Shop
from tests.sla.conftest import Mailbox, smtp_server  # noqa: F401  (the fixture: a real SMTP server)

TINY = DeliveryPolicy(max_attempts=3, base_backoff=0.0, lease=30)
NEW_LINES = [{"product": "阀门 V-1", "quantity": 2, "unit_price": "10.50"},
             {"product": "Pump P-2", "quantity": 1, "unit_price": "1200.00"},
             {"product": "Seal S-3", "quantity": 5, "unit_price": "1.00"}]


def worker_for(shop: Shop, receiver: Receiver, mailbox: Mailbox) -> Worker:
    settings = ChannelSettings.from_env({
        "RELAYFLOW_SMTP_HOST": mailbox.host, "RELAYFLOW_SMTP_PORT": str(mailbox.port),
        "RELAYFLOW_WECOM_URL": receiver.url + "/wecom", "RELAYFLOW_BASE_URL": "https://flows.example.com"})
    return Worker(shop.db, shop.registry, settings=settings, policy=TINY, channels=build_channels(shop.db, settings))


def drain(worker: Worker, now: datetime = MONDAY_10) -> None:
    for _ in range(10):
        if worker.deliver_batch(now=now) == 0:
            return


def change_rows(shop: Shop) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in list_rows(shop.db, limit=1000) if r["event"] == "change"]


def notices(shop: Shop, who: str) -> list:  # type: ignore[type-arg]
    return [n for n in list_notifications(shop.db, shop.people[who].id) if n.event == "change"]


def test_a_change_tells_the_listed_people_in_their_language_but_not_the_changer(
        shop: Shop, receiver: Receiver, smtp_server: Mailbox) -> None:  # noqa: F811
    worker = worker_for(shop, receiver, smtp_server)
    rec = shop.new_order()
    shop.move(rec, "start", "sally")
    drain(worker)  # the enter reminder of production
    smtp_server.messages.clear()
    receiver.received.clear()

    shop.edit(rec, "piet", {"delivery_date": "2026-12-24", "lines": NEW_LINES, "priority": "urgent"})
    drain(worker)

    # creator (sally, en), role:production (pat, zh-CN; piet made the change), field:owner (olga, en)
    [sally] = notices(shop, "sally")
    [pat] = notices(shop, "pat")
    [olga] = notices(shop, "olga")
    assert notices(shop, "piet") == [] and notices(shop, "fiona") == []
    assert {r["recipient"] for r in change_rows(shop) if r["channel"] in ("inbox", "email")} == {
        f"u{shop.people[u].id}" for u in ("sally", "pat", "olga")}

    assert sally.title == "Changed: PO-1 · ACME 有限公司 — Delivery date, Priority, Lines"
    assert "Delivery date: 2026-12-20 → 2026-12-24" in sally.body
    assert "Priority: Normal → Urgent" in sally.body
    assert "Lines: 2 rows → 3 rows" in sally.body
    assert "Changed by: Piet" in sally.body
    assert f"https://flows.example.com/records/purchase/{rec.id}" in sally.body
    assert pat.title == "已变更:PO-1 · ACME 有限公司 — 交期、优先级、明细"
    assert "交期:2026-12-20 → 2026-12-24" in pat.body and "优先级:普通 → 加急" in pat.body
    assert "明细:2 行 → 3 行" in pat.body and "修改人:Piet" in pat.body
    assert olga.title == sally.title

    mails = sorted(smtp_server.messages, key=lambda m: m["To"])
    assert [m["To"] for m in mails] == ["olga@example.com", "pat@example.com", "sally@example.com"]
    assert mails[1]["Subject"] == pat.title and "交期:2026-12-20 → 2026-12-24" in mails[1].get_content()

    # The finance rule: delivery_date only, to the team's WeCom robot, in the flow's language, naming Fiona.
    [robot] = receiver.received
    text = robot.json()["markdown"]["content"]
    assert "交期:2026-12-20 → 2026-12-24" in text and "明细" not in text and "Fiona" in text


def test_no_notice_outside_the_states_or_for_other_fields_or_to_oneself(shop: Shop) -> None:
    rec = shop.new_order()
    shop.edit(rec, "sally", {"delivery_date": "2026-12-22", "lines": NEW_LINES})  # draft: not listed
    assert change_rows(shop) == []
    shop.move(rec, "start", "sally")
    shop.edit(rec, "piet", {"note": "not a listed field"})
    assert change_rows(shop) == []
    shop.edit(rec, "piet", {"lines": NEW_LINES[:1]})  # a row removed counts
    assert {r["recipient"] for r in change_rows(shop) if r["channel"] == "inbox"} == {
        f"u{shop.people[u].id}" for u in ("sally", "pat", "olga")}
    assert not any(r["channel"] == "wecom" for r in change_rows(shop))  # the finance rule lists delivery_date only


def test_a_changed_row_counts_as_a_change_of_the_table(shop: Shop) -> None:
    rec = shop.new_order()
    shop.move(rec, "start", "sally")
    lines = [dict(r) for r in NEW_LINES[:2]]
    lines[1]["quantity"] = 4
    shop.edit(rec, "pat", {"lines": lines})
    inbox = {r["recipient"] for r in change_rows(shop) if r["channel"] == "inbox"}
    assert inbox == {f"u{shop.people[u].id}" for u in ("sally", "piet", "olga")}  # pat changed it
