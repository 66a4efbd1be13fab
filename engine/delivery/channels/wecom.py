"""WeCom (企业微信) group robot: markdown message; the key is part of the robot URL (no signing)."""
from __future__ import annotations

from typing import Any

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.http import post_json, robot_errcode
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings


def wecom_payload(message: OutboundMessage) -> dict[str, Any]:
    """Markdown; with people to mention, plain text, whose `mentioned_list` (userid) and
    `mentioned_mobile_list` make WeCom @-mention them (markdown cannot mention by mobile)."""
    ids = [p.im_id for p in message.recipients if p.im_id]
    mobiles = [p.phone for p in message.recipients if p.phone and not p.im_id]
    if ids or mobiles:
        return {"msgtype": "text", "text": {"content": message.body.strip(), "mentioned_list": ids,
                                            "mentioned_mobile_list": mobiles}}
    lines = message.body.splitlines()
    text = f"**{lines[0]}**\n" + "\n".join(f"> {line}" for line in lines[1:])
    return {"msgtype": "markdown", "markdown": {"content": text.strip()}}


class WeComChannel:
    name = "wecom"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        endpoint = self.settings.endpoint(self.name, message.flow)
        if endpoint is None:
            raise DeliveryFailed(f"no WeCom robot URL (RELAYFLOW_WECOM_URL) for flow '{message.flow}'", permanent=True)
        response = post_json(endpoint.url, wecom_payload(message), timeout=self.settings.http_timeout)
        code, text = robot_errcode(response, "errcode")
        if code != 0:
            raise DeliveryFailed(f"WeCom errcode {code}: {text}")
        return f"HTTP {response.status_code}"
