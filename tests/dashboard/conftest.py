"""A small hand-built history of purchase requests (tests/dashboard/flows/purchase.yaml) on SQLite and PostgreSQL.

NOW is Monday 2026-10-12 12:00 UTC. The records, by who created them:

* A (buyer1, 100.00, September): draft 1h → review 2h (met, sent back) → draft 1h → review 6h (late, approved) → done
* B (buyer2, 50.50, 2026-10-05): draft 2h → review since then (due 4h later: late now)
* C (buyer1, 20.00, NOW-3h): straight to review (warning since NOW-1h, due NOW+1h: soon late)
* D (buyer2, no amount, NOW-2d): still a draft

buyer1 is in department east, managed by `east_boss`; buyer2 in west. `rev` reviews everything.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.people.departments import add_department, add_member
from engine.people.users import create_user, load_actor
from engine.records.records import Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_folder
from tests.sla.conftest import smtp_server  # noqa: F401  (an SMTP server on 127.0.0.1 for the digest tests)

FLOWS = Path(__file__).parent / "flows"
NOW = datetime(2026, 10, 12, 12, 0, tzinfo=timezone.utc)
T0 = datetime(2026, 9, 1, 0, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


@dataclass
class Desk:
    db: Any
    registry: FlowRegistry
    records: Records
    who: dict[str, Any]
    ids: dict[str, int]


def build_history(db: Any, registry: FlowRegistry, records: Records, *,
                  password: str | None = None) -> tuple[dict[str, Any], dict[str, int]]:
    who: dict[str, Any] = {}
    people = [("buyer1", ["buyer"], "zh-CN"), ("buyer2", ["buyer"], "en"), ("rev", ["reviewer"], "en"),
              ("east_boss", ["boss"], "zh-CN"), ("boss", ["boss"], "en"), ("admin", [], "en")]
    for name, roles, locale in people:
        create_user(db, name, display_name=name.title(), roles=roles, email=f"{name}@example.test",
                    is_admin=(name == "admin"), locale=locale, password=password)
        who[name] = load_actor(db, username=name)
    add_department(db, "east", "华东", manager="east_boss")
    add_department(db, "west", "华西")
    add_member(db, "east", "buyer1")
    add_member(db, "west", "buyer2")

    def move(rec: Any, name: str, actor: str, at: datetime) -> Any:
        return records.transition("purchase", rec.id, name, who[actor], expected_version=rec.version, now=at)

    ids = {}
    a = records.create("purchase", who["buyer1"], {"item": "Desk A", "amount": "100.00"}, now=T0)
    a = move(a, "submit", "buyer1", T0 + H)
    a = move(a, "send_back", "rev", T0 + 3 * H)
    a = move(a, "submit", "buyer1", T0 + 4 * H)
    a = move(a, "approve", "rev", T0 + 10 * H)
    ids["A"] = a.id
    b0 = datetime(2026, 10, 5, tzinfo=timezone.utc)
    b = records.create("purchase", who["buyer2"], {"item": "Chair B", "amount": "50.50"}, now=b0)
    ids["B"] = move(b, "submit", "buyer2", b0 + 2 * H).id
    c = records.create("purchase", who["buyer1"], {"item": "Lamp C", "amount": "20.00"}, now=NOW - 3 * H)
    ids["C"] = move(c, "submit", "buyer1", NOW - 3 * H).id
    ids["D"] = records.create("purchase", who["buyer2"], {"item": "Shelf D"}, now=NOW - 48 * H).id
    return who, ids


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    db = make_engine(database_url)
    upgrade_database(db)
    registry = FlowRegistry()
    assert install_folder(db, registry, FLOWS) == []
    records = Records(db, registry)
    who, ids = build_history(db, registry, records)
    yield Desk(db, registry, records, who, ids)
    db.dispose()


def make_dashboard_app(tmp: Path, **settings: Any) -> Any:
    """The app with pages over a copy of tests/dashboard/flows and the hand-built history (password PASSWORD)."""
    import shutil

    from engine.settings import Settings
    from tests.ui.live import PASSWORD
    from ui.app import create_app

    shutil.copytree(FLOWS, tmp / "flows")
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=tmp / "flows", worker=False,
                              **settings))
    who, ids = build_history(app.state.db, app.state.registry, app.state.api.records, password=PASSWORD)
    app.state.dashboard_ids = ids
    return app
