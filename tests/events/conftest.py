"""Fixtures of the events tests: a customer master and a purchase order flow with `events:` and
`notify_on_change:`, a team, and a real HTTP receiver on 127.0.0.1 that checks signatures."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.http_receiver import Receiver, running_receiver

HERE = Path(__file__).parent
SECRET = "erp-signing-secret"
# Monday 2026-11-23 10:00 in Shanghai (02:00 UTC): inside working hours.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


class Shop:
    """A database with the two flows installed, a team, and Records."""

    def __init__(self, url: str) -> None:
        from engine.language.loader import load_flow_text
        from engine.people.users import create_user, load_actor
        from engine.records.records import Records
        from engine.storage.db import make_engine
        from engine.storage.migrate import upgrade_database
        from engine.storage.registry import FlowRegistry, install_flow

        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        for name in ("customer", "purchase"):
            live = install_flow(self.db, load_flow_text((HERE / f"{name}.yaml").read_text(encoding="utf-8")))
            self.registry.put(live)
        self.records = Records(self.db, self.registry)
        self.people: dict[str, Any] = {}
        for username, name, roles, locale in [("sally", "Sally", ["sales"], "en"), ("pat", "Pat", ["production"], "zh-CN"),
                                              ("piet", "Piet", ["production"], "en"), ("fiona", "Fiona", ["finance"], None),
                                              ("olga", "Olga", [], "en")]:
            create_user(self.db, username, display_name=name, email=f"{username}@example.com", roles=roles, locale=locale)
            self.people[username] = load_actor(self.db, username=username)
        self.acme = self.records.create("customer", self.people["sally"], {"name": "ACME 有限公司"}, now=MONDAY_10)

    def new_order(self, now: datetime = MONDAY_10, **values: Any) -> Any:
        data = {"order_no": "PO-1", "customer": self.acme.id, "delivery_date": "2026-12-20",
                "owner": self.people["olga"].id,
                "lines": [{"product": "阀门 V-1", "quantity": 2, "unit_price": "10.50"},
                          {"product": "Pump P-2", "quantity": 1, "unit_price": "1200.00"}]}
        data.update(values)
        return self.records.create("purchase", self.people["sally"], data, now=now)

    def move(self, rec: Any, transition: str, who: str, now: datetime = MONDAY_10, **kw: Any) -> Any:
        current = self.records.get("purchase", rec.id)
        return self.records.transition("purchase", rec.id, transition, self.people[who],
                                       expected_version=current.version, now=now, **kw)

    def edit(self, rec: Any, who: str, values: dict[str, Any], now: datetime = MONDAY_10) -> Any:
        current = self.records.get("purchase", rec.id)
        return self.records.edit("purchase", rec.id, self.people[who], values, expected_version=current.version, now=now)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    s = Shop(database_url)
    yield s
    s.db.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as state:
        yield state
