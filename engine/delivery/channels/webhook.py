"""A generic JSON webhook, signed with HMAC-SHA256 when a secret is configured.

Headers: ``X-Relayflow-Event``, ``X-Relayflow-Dedupe-Key`` (receivers drop
repeats of a key they have seen), ``X-Relayflow-Timestamp`` (unix seconds)
and ``X-Relayflow-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` with the secret. ``verify_signature`` checks it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.http import post_json
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings

SIGNATURE_HEADER = "X-Relayflow-Signature"
TIMESTAMP_HEADER = "X-Relayflow-Timestamp"
KEY_HEADER = "X-Relayflow-Dedupe-Key"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *,
                     tolerance: float = 300.0, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        endpoint = self.settings.endpoint(self.name, message.flow)
        if endpoint is None:
            raise DeliveryFailed(f"no webhook URL (RELAYFLOW_WEBHOOK_URL) for flow '{message.flow}'", permanent=True)
        body = json.dumps(message.as_json(), ensure_ascii=False).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {"X-Relayflow-Event": message.event, KEY_HEADER: message.dedupe_key, TIMESTAMP_HEADER: timestamp}
        if endpoint.secret:
            headers[SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, body)
        response = post_json(endpoint.url, None, raw=body, headers=headers, timeout=self.settings.http_timeout)
        return f"HTTP {response.status_code}"
