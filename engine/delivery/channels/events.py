"""The `events` channel: an event's frozen JSON payload, signed, POSTed to the URL of its setting.

The outbox row names the setting (`recipient`, e.g. ERP_WEBHOOK): the URL is `RELAYFLOW_ERP_WEBHOOK`,
the signing secret `RELAYFLOW_ERP_WEBHOOK_SECRET`. Headers: `X-Relayflow-Event` (the event type),
`X-Relayflow-Event-Id` (the payload's `id`; receivers drop an id they have seen), `X-Relayflow-Timestamp`
(unix seconds of this attempt) and, with a secret, `X-Relayflow-Signature: sha256=<hex>`, the HMAC-SHA256
of `"<timestamp>.<body>"` (engine/delivery/channels/webhook.py `sign` / `verify_signature`).

A setting that is not configured holds the message (`DeliveryHeld`): the outbox keeps it, status `held`,
and a worker started with the setting sends it (engine/delivery/outbox.py `release_held`).
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping

from sqlalchemy import Engine, select

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.http import post_json
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.delivery.events import EVENTS_CHANNEL, freeze_sla_payload, stored_payload
from engine.delivery.outbox import HELD, release_held
from engine.storage.registry import FlowRegistry
from engine.storage.schema import outbox

EVENT_HEADER = "X-Relayflow-Event"
EVENT_ID_HEADER = "X-Relayflow-Event-Id"


class DeliveryHeld(DeliveryFailed):
    """Not sent and not failed: the setting it goes to is not configured; kept until it is."""


def url_variable(setting: str) -> str:
    return f"RELAYFLOW_{setting}"


def secret_variable(setting: str) -> str:
    return f"RELAYFLOW_{setting}_SECRET"


class EventsChannel:
    name = EVENTS_CHANNEL

    def __init__(self, db: Engine, registry: FlowRegistry, env: Mapping[str, str], *, timeout: float = 10.0) -> None:
        self.db = db
        self.registry = registry
        self.env = env
        self.timeout = timeout

    def configured(self, setting: str) -> bool:
        return bool(self.env.get(url_variable(setting)))

    def send(self, message: OutboundMessage) -> str:
        setting = message.address or ""
        url = self.env.get(url_variable(setting))
        if not url:
            raise DeliveryHeld(f"held: {url_variable(setting)} is not set; sent once a worker starts with it")
        with self.db.begin() as conn:
            body = stored_payload(conn, message.dedupe_key)
            if body is None and message.event in ("warn", "breach"):
                row = conn.execute(select(outbox).where(outbox.c.id == message.outbox_id)).mappings().first()
                body = freeze_sla_payload(conn, self.registry, dict(row)) if row is not None else None
        if body is None:
            raise DeliveryFailed("the event's payload is gone (its flow, record or events entry was removed)",
                                 permanent=True)
        raw = body.encode("utf-8")
        timestamp = str(int(time.time()))
        event_id = str(json.loads(body).get("id", ""))
        headers = {EVENT_HEADER: message.event, EVENT_ID_HEADER: event_id, TIMESTAMP_HEADER: timestamp}
        secret = self.env.get(secret_variable(setting))
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, raw)
        response = post_json(url, None, raw=raw, headers=headers, timeout=self.timeout)
        return f"HTTP {response.status_code}"


def unconfigured_settings(registry: FlowRegistry, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(flow, setting) of every live flow's `events:` entry whose URL setting is not set."""
    out: list[tuple[str, str]] = []
    for name in registry.names():
        for ev in registry.get(name).flow.spec.events:
            if not env.get(url_variable(ev.url_setting)) and (name, ev.url_setting) not in out:
                out.append((name, ev.url_setting))
    return out


def release_configured(db: Engine, channel: EventsChannel) -> int:
    """Send the held events whose setting is configured now (a worker starting with it)."""
    with db.connect().execution_options(readonly=True) as conn:
        held = conn.execute(select(outbox.c.recipient).distinct().where(
            outbox.c.status == HELD, outbox.c.channel == EVENTS_CHANNEL)).scalars().all()
    return release_held(db, EVENTS_CHANNEL, [s for s in held if channel.configured(s)])
