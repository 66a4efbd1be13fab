"""Feishu (飞书) / Lark custom bot: text message; signed (timestamp + sign in the body) when a secret is set."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.http import post_json, robot_errcode
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings


def feishu_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key="<timestamp>\\n<secret>", empty message))."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode("utf-8"), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def feishu_payload(message: OutboundMessage, secret: str | None = None, timestamp: str | None = None) -> dict[str, Any]:
    # Feishu mentions by open_id only: `<at user_id="ou_…">name</at>` in the text
    mentions = " ".join(f'<at user_id="{p.im_id}">{p.name.replace("<", "").replace(">", "")}</at>' for p in message.recipients if p.im_id)
    body = message.body + ("\n" + mentions if mentions else "")
    payload: dict[str, Any] = {"msg_type": "text", "content": {"text": body}}
    if secret:
        ts = timestamp or str(int(time.time()))
        payload = {"timestamp": ts, "sign": feishu_sign(secret, ts), **payload}
    return payload


class FeishuChannel:
    name = "feishu"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        endpoint = self.settings.endpoint(self.name, message.flow)
        if endpoint is None:
            raise DeliveryFailed(f"no Feishu bot URL (RELAYFLOW_FEISHU_URL) for flow '{message.flow}'", permanent=True)
        response = post_json(endpoint.url, feishu_payload(message, endpoint.secret), timeout=self.settings.http_timeout)
        code, text = robot_errcode(response, "code", "StatusCode")
        if code != 0:
            raise DeliveryFailed(f"Feishu code {code}: {text}")
        return f"HTTP {response.status_code}"
