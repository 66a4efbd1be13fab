"""The in-app inbox: a notification row per user, written once per dedupe key."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.message import OutboundMessage
from engine.storage.schema import notifications


class InboxChannel:
    name = "inbox"

    def __init__(self, db: Engine) -> None:
        self.db = db

    def send(self, message: OutboundMessage) -> str:
        if message.person is None:
            raise DeliveryFailed("the in-app inbox needs a user, not an address", permanent=True)
        try:
            with self.db.begin() as conn:
                exists = conn.execute(select(notifications.c.id).where(
                    notifications.c.dedupe_key == message.dedupe_key)).scalar()
                if exists is not None:
                    return f"already in the inbox (notification {exists})"
                new_id = conn.execute(insert(notifications).values(
                    user_id=message.person.id, dedupe_key=message.dedupe_key, flow=message.flow,
                    record_id=message.record_id, state=message.state, event=message.event,
                    title=message.subject[:500], body=message.body, created_at=datetime.now(timezone.utc),
                ).returning(notifications.c.id)).scalar_one()
        except IntegrityError:  # another worker delivered the same key a moment ago
            return "already in the inbox"
        return f"notification {new_id}"
