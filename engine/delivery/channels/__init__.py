"""Delivery channels: where an outbox message goes (in-app inbox, e-mail, webhooks, office IM robots).

Each channel is one small module with a ``send(message)`` that either returns
a short detail for the delivery log or raises ``DeliveryFailed``. Channels
are configured from the environment (``ChannelSettings.from_env``) and built
once per worker by ``build_channels``.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine

from engine.delivery.channels.base import Channel, DeliveryFailed
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings

__all__ = ["Channel", "ChannelSettings", "DeliveryFailed", "OutboundMessage", "build_channels",
           "BROADCAST_CHANNELS", "PERSONAL_CHANNELS"]

#: One message per person.
PERSONAL_CHANNELS = frozenset({"inbox", "email"})
#: One message per event, to a team's endpoint (the recipients are named in it).
BROADCAST_CHANNELS = frozenset({"webhook", "dingtalk", "wecom", "feishu"})


def build_channels(db: Engine, settings: ChannelSettings | None = None) -> Mapping[str, Channel]:
    from engine.delivery.channels.dingtalk import DingTalkChannel
    from engine.delivery.channels.email import EmailChannel
    from engine.delivery.channels.feishu import FeishuChannel
    from engine.delivery.channels.inbox import InboxChannel
    from engine.delivery.channels.webhook import WebhookChannel
    from engine.delivery.channels.wecom import WeComChannel

    settings = settings or ChannelSettings.from_env()
    channels: list[Channel] = [InboxChannel(db), EmailChannel(settings), WebhookChannel(settings),
                               DingTalkChannel(settings), WeComChannel(settings), FeishuChannel(settings)]
    return {c.name: c for c in channels}
