"""DingTalk group robot: markdown message; signed (timestamp + sign in the URL) when a secret is set."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.http import post_json, robot_errcode
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """base64(HMAC-SHA256(key=secret, "<timestamp>\\n<secret>")), URL-encoded."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256)
    return quote_plus(base64.b64encode(mac.digest()))


def dingtalk_payload(message: OutboundMessage) -> dict[str, Any]:
    """Markdown; the people to mention are in `at` (by userId, else mobile) and named `@…` in the text,
    which is how DingTalk shows the mention."""
    ids = [p.im_id for p in message.recipients if p.im_id]
    mobiles = [p.phone for p in message.recipients if p.phone and not p.im_id]
    text = f"#### {message.subject}\n\n" + "\n\n".join(message.body.splitlines()[1:])
    if ids or mobiles:
        text = text.strip() + "\n\n" + " ".join(f"@{x}" for x in [*ids, *mobiles])
    return {"msgtype": "markdown", "markdown": {"title": message.subject[:60], "text": text.strip()},
            "at": {"atMobiles": mobiles, "atUserIds": ids, "isAtAll": False}}


class DingTalkChannel:
    name = "dingtalk"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        endpoint = self.settings.endpoint(self.name, message.flow)
        if endpoint is None:
            raise DeliveryFailed(f"no DingTalk robot URL (RELAYFLOW_DINGTALK_URL) for flow '{message.flow}'", permanent=True)
        url = endpoint.url
        if endpoint.secret:
            ts = str(int(time.time() * 1000))
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(endpoint.secret, ts)}"
        response = post_json(url, dingtalk_payload(message), timeout=self.settings.http_timeout)
        code, text = robot_errcode(response, "errcode")
        if code != 0:
            raise DeliveryFailed(f"DingTalk errcode {code}: {text}")
        return f"HTTP {response.status_code}"
