"""What every channel shares: the Channel protocol and the DeliveryFailed error."""
from __future__ import annotations

from typing import Protocol

from engine.delivery.channels.message import OutboundMessage


class DeliveryFailed(Exception):
    """A send that did not go through; ``permanent`` ones are dead-lettered at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> str:
        """Deliver one message; return a short detail for the log or raise DeliveryFailed."""
        ...
