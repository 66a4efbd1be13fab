"""`events:` of a flow: every record event reaches a real receiver on 127.0.0.1 once, signed, and its
payload validates against the published JSON Schema; retries, dead letters, an unconfigured setting."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.channels.webhook import verify_signature
from engine.delivery.event_schema import PAYLOAD_SCHEMA
from engine.delivery.outbox import DeliveryPolicy, delivery_log, list_rows, requeue
from engine.delivery.worker import Worker
from tests.events.conftest import MONDAY_10, SECRET, Receiver, Shop

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"
TINY = DeliveryPolicy(max_attempts=3, base_backoff=0.0, lease=30)
WARN_AT = datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc)  # 12:30 in Shanghai: the 2h warning is due
BREACH_AT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # 16:00: due at 15:00 (lunch is not counted)


def worker_for(shop: Shop, env: dict[str, str], policy: DeliveryPolicy = TINY) -> Worker:
    settings = ChannelSettings.from_env(env)
    return Worker(shop.db, shop.registry, settings=settings, policy=policy, channels=build_channels(shop.db, settings))


def erp(receiver: Receiver) -> dict[str, str]:
    return {"RELAYFLOW_ERP_WEBHOOK": receiver.url + "/erp", "RELAYFLOW_ERP_WEBHOOK_SECRET": SECRET}


def drain(worker: Worker, now: datetime = MONDAY_10, rounds: int = 10) -> None:
    for _ in range(rounds):
        if worker.deliver_batch(now=now) == 0:
            return


def event_rows(shop: Shop) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in list_rows(shop.db, limit=1000) if r["channel"] == "events"]


def valid(body: dict) -> None:  # type: ignore[type-arg]
    """Valid against the published schema file (the same document the API serves)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


def test_the_published_schema_file_is_the_one_the_engine_has() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == PAYLOAD_SCHEMA
    jsonschema.Draft202012Validator.check_schema(PAYLOAD_SCHEMA)


def test_every_event_reaches_the_receiver_once_signed_and_valid(shop: Shop, receiver: Receiver) -> None:
    worker = worker_for(shop, erp(receiver))
    rec = shop.new_order()
    shop.move(rec, "start", "sally")
    shop.edit(rec, "piet", {"delivery_date": "2026-12-24",
                            "lines": [{"product": "阀门 V-1", "quantity": 3, "unit_price": "10.50"},
                                      {"product": "Pump P-2", "quantity": 1, "unit_price": "1200.00"}]})
    drain(worker)
    worker.run_once(now=WARN_AT)  # the scheduler's pass (injected time), then deliveries
    worker.run_once(now=BREACH_AT)
    drain(worker, BREACH_AT)

    got = [r.json() for r in receiver.received]
    assert [b["type"] for b in got] == ["create", "transition", "edit", "warn", "breach"]
    assert len({b["id"] for b in got}) == 5  # one id per event: receivers de-duplicate by it
    for hit, body in zip(receiver.received, got):
        assert hit.path == "/erp"
        assert verify_signature(SECRET, hit.headers["x-relayflow-timestamp"], hit.body, hit.headers["x-relayflow-signature"])
        assert not verify_signature("another secret", hit.headers["x-relayflow-timestamp"], hit.body,
                                    hit.headers["x-relayflow-signature"])
        assert hit.headers["x-relayflow-event"] == body["type"]
        assert hit.headers["x-relayflow-event-id"] == body["id"]
        valid(body)
        assert body["version"] == 1
        assert body["flow"] == {"name": "purchase", "title": "采购订单"}
        assert body["record"] == {"id": rec.id, "title": "PO-1 · ACME 有限公司"}  # the reference by its title
        assert body["fields"]["customer"] == {"id": shop.acme.id, "title": "ACME 有限公司"}
        assert body["fields"]["owner"] == {"id": shop.people["olga"].id, "name": "Olga"}

    create, moved, edited, warn, breach = got
    # The create's line items as rows, money as exact strings, computed cells included.
    assert create["fields"]["lines"] == [
        {"product": "阀门 V-1", "quantity": 2, "unit_price": "10.50", "amount": "21.00"},
        {"product": "Pump P-2", "quantity": 1, "unit_price": "1200.00", "amount": "1200.00"}]
    assert create["fields"]["total"] == "1221.00" and create["fields"]["delivery_date"] == "2026-12-20"
    assert create["state"] == {"name": "draft", "title": "草稿"} and create["transition"] is None
    assert create["actor"] == {"id": shop.people["sally"].id, "name": "Sally"}
    assert create["occurred_at"] == "2026-11-23T02:00:00Z"
    assert moved["transition"] == {"name": "start", "title": "投产", "from": {"name": "draft", "title": "草稿"},
                                   "to": {"name": "production", "title": "生产中"}}
    # Each payload is the record as it was at its event: the edit's rows, not the create's.
    assert moved["fields"]["total"] == "1221.00"
    assert edited["fields"]["total"] == "1231.50" and edited["fields"]["lines"][0]["quantity"] == 3
    assert edited["fields"]["delivery_date"] == "2026-12-24"
    assert edited["actor"]["name"] == "Piet"
    for sla in (warn, breach):
        assert sla["actor"] is None and sla["sla"]["state"] == {"name": "production", "title": "生产中"}
    assert breach["sla"]["due_at"] == "2026-11-23T07:00:00Z"

    # Exactly once: more passes and deliveries send nothing new.
    worker.run_once(now=BREACH_AT + timedelta(minutes=5))
    drain(worker, BREACH_AT + timedelta(minutes=5))
    assert len(receiver.received) == 5
    assert {r["status"] for r in event_rows(shop)} == {"sent"}
    log = [e for e in delivery_log(shop.db, limit=1000) if e["channel"] == "events"]
    assert len(log) == 5 and {e["outcome"] for e in log} == {"sent"}


def test_an_event_of_a_rolled_back_change_is_never_sent(shop: Shop, receiver: Receiver) -> None:
    """The event is written in the change's transaction: a refused step leaves no event behind."""
    from engine.records.errors import WorkflowError

    worker = worker_for(shop, erp(receiver))
    rec = shop.new_order()
    with pytest.raises(WorkflowError):
        shop.move(rec, "finish", "piet")  # not from draft
    with pytest.raises(WorkflowError):
        shop.edit(rec, "sally", {"lines": [{"product": "", "quantity": 0}]})
    drain(worker)
    assert [r.json()["type"] for r in receiver.received] == ["create"]


def test_a_receiver_that_fails_twice_gets_the_event_once_through_retries(shop: Shop, receiver: Receiver) -> None:
    receiver.plan = [500, 503]
    worker = worker_for(shop, erp(receiver))
    shop.new_order()
    drain(worker)
    assert len(receiver.received) == 3
    bodies = {r.body for r in receiver.received}
    assert len(bodies) == 1  # every retry sends the same frozen bytes, with the same event id
    [row] = event_rows(shop)
    assert row["status"] == "sent" and row["attempts"] == 3
    outcomes = [e["outcome"] for e in reversed(delivery_log(shop.db, outbox_id=row["id"]))]
    assert outcomes == ["retry", "retry", "sent"]
    assert "HTTP 500" in delivery_log(shop.db, outbox_id=row["id"])[-1]["detail"]


def test_a_receiver_that_keeps_failing_dead_letters_the_event(shop: Shop, receiver: Receiver) -> None:
    receiver.plan = [500] * 3
    worker = worker_for(shop, erp(receiver))
    shop.new_order()
    drain(worker)
    [row] = event_rows(shop)
    assert row["status"] == "dead" and row["attempts"] == TINY.max_attempts
    assert "HTTP 500" in row["last_error"]
    assert [e["outcome"] for e in reversed(delivery_log(shop.db, outbox_id=row["id"]))] == ["retry", "retry", "dead"]
    # An admin's retry sends it, still the same event.
    requeue(shop.db, [row["id"]], now=MONDAY_10)
    drain(worker)
    assert len(receiver.received) == 4 and receiver.received[-1].body == receiver.received[0].body
    assert event_rows(shop)[0]["status"] == "sent"


def test_a_receiver_refusing_the_event_for_good_dead_letters_it_at_once(shop: Shop, receiver: Receiver) -> None:
    receiver.plan = [400]
    worker = worker_for(shop, erp(receiver))
    shop.new_order()
    drain(worker)
    assert len(receiver.received) == 1 and event_rows(shop)[0]["status"] == "dead"


def test_an_unconfigured_url_setting_holds_events_until_it_is_set(shop: Shop, receiver: Receiver,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="relayflow.worker"):
        worker = worker_for(shop, {"RELAYFLOW_ERP_WEBHOOK_SECRET": SECRET})
    assert any("RELAYFLOW_ERP_WEBHOOK" in r.getMessage() and "purchase" in r.getMessage() for r in caplog.records)
    rec = shop.new_order()
    shop.move(rec, "start", "sally")
    for _ in range(5):  # held, not retried until dead
        drain(worker)
    rows = event_rows(shop)
    assert [r["status"] for r in rows] == ["held", "held"]
    assert all("RELAYFLOW_ERP_WEBHOOK is not set" in r["last_error"] for r in rows)
    assert receiver.received == []

    # A worker started with the setting sends them, as they were when they happened.
    shop.edit(rec, "piet", {"note": "later"})
    later = worker_for(shop, erp(receiver))
    drain(later)
    got = [r.json() for r in receiver.received]
    assert sorted(b["type"] for b in got) == ["create", "edit", "transition"]
    assert next(b for b in got if b["type"] == "create")["state"]["name"] == "draft"
    assert {r["status"] for r in event_rows(shop)} == {"sent"}


def test_a_flow_without_events_writes_none(shop: Shop, receiver: Receiver) -> None:
    worker = worker_for(shop, erp(receiver))
    shop.records.create("customer", shop.people["sally"], {"name": "Other Co"}, now=MONDAY_10)
    drain(worker)
    assert receiver.received == [] and event_rows(shop) == []
