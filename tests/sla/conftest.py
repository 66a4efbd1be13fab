"""Fixtures for the SLA tests: a team on the reference flow, a real SMTP server, a real HTTP receiver."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.http_receiver import Receiver, running_receiver

# Monday 2026-11-23 10:00 in Shanghai (02:00 UTC): inside working hours.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ORDER = {"customer": "ACME 有限公司", "product_model": "X-100", "quantity": 10, "unit_price": "1250.50",
         "delivery_date": "2026-12-20"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def team(reference_world):  # type: ignore[no-untyped-def]
    """One person per role (clerk: a single clerk, so round robin always picks her), with e-mail addresses."""
    from engine.people.users import create_user, load_actor

    w = reference_world
    people = {}
    for key, username, roles in [("sales", "sally", ["sales"]), ("clerk", "carol", ["clerk"]),
                                 ("manager", "mia", ["manager"])]:
        create_user(w.db, username, display_name=username.title(), email=f"{username}@example.com", roles=roles)
        people[key] = load_actor(w.db, username=username)
    return people


def in_review(w, team, now: datetime = MONDAY_10):  # type: ignore[no-untyped-def]
    rec = w.records.create(w.flow, team["sales"], ORDER, now=now)
    return w.records.transition(w.flow, rec.id, "submit", team["sales"], expected_version=rec.version, now=now)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as state:
        yield state


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    box = Mailbox("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()
