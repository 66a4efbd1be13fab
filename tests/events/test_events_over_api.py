"""Events written by the API's writes (group commit on both databases, PostgreSQL's read-ahead batches):
concurrent creates and transitions each reach the receiver once, with the values their own request wrote."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.channels.webhook import verify_signature
from engine.delivery.outbox import DeliveryPolicy
from engine.delivery.worker import Worker
from tests.api.conftest import ORDER, make_api
from tests.events.conftest import SECRET, Receiver
from tests.events.test_event_webhooks import valid

EVENTS = """
events:
  - on: [create, transition]
    url_setting: ORDERS_TO_ERP
    fields: [customer, quantity, amount, delivery_date]
"""


def test_concurrent_api_writes_each_send_their_event_once(database_url: str, reference_flow_text: str,
                                                          tmp_path: Path, receiver: Receiver) -> None:
    client, api = make_api(database_url, reference_flow_text + EVENTS, tmp_path / "flows")
    with client:
        def create(i: int) -> dict[str, Any]:
            return api.create("sally", {**ORDER, "quantity": i + 1})

        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(create, range(16)))
            moved = list(pool.map(lambda rec: api.move("sally", rec, "submit"), made[:8]))
        settings = ChannelSettings.from_env({"RELAYFLOW_ORDERS_TO_ERP": receiver.url + "/erp",
                                             "RELAYFLOW_ORDERS_TO_ERP_SECRET": SECRET})
        db, registry = client.app.state.db, client.app.state.registry  # type: ignore[attr-defined]
        worker = Worker(db, registry, settings=settings, policy=DeliveryPolicy(max_attempts=2, base_backoff=0.0),
                        channels=build_channels(db, settings))
        for _ in range(10):
            if worker.deliver_batch() == 0:
                break
    client.app.state.db.dispose()  # type: ignore[attr-defined]

    got = [(hit, hit.json()) for hit in receiver.received]
    creates = {b["record"]["id"]: b for _, b in got if b["type"] == "create"}
    submits = {b["record"]["id"]: b for _, b in got if b["type"] == "transition"}
    assert len(got) == 24 and len(creates) == 16 and len(submits) == 8
    for rec in made:
        assert creates[rec["id"]]["fields"]["quantity"] == rec["values"]["quantity"]
        assert creates[rec["id"]]["fields"]["amount"] == rec["values"]["amount"]
    assert {r["id"] for r in moved} == set(submits)
    for hit, body in got:
        assert verify_signature(SECRET, hit.headers["x-relayflow-timestamp"], hit.body, hit.headers["x-relayflow-signature"])
        valid(body)
