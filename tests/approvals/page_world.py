"""A page app (ui/app.py) with the small purchase flow of tests/approvals/flows.py (all four task actions
allowed in its check stage) and its people, for the record-page tests of approvals, on any database."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.approvals.flows import joint
from tests.ui.live import PASSWORD

FLOW = joint("all", **{"allow: [add_approver, hand_over, urge]": "allow: [add_approver, hand_over, urge, return]",
                       "visibility: roles": "visibility: roles\ninbox_fields: [amount, subject]"})
PEOPLE = {  # username: (display name, roles)
    "bob": ("Bob Buyer", ("buyer",)), "fiona": ("Fiona Finance", ("finance",)), "fred": ("Fred 付", ("finance",)),
    "mona": ("Mona Manager", ("manager",)), "olga": ("Olga 欧", ()), "nosy": ("Nosy Outsider", ()),
}


def make_page_app(tmp: Path, database_url: str) -> FastAPI:
    from ui.app import create_app

    flows = tmp / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "purchase.yaml").write_text(FLOW, encoding="utf-8")
    before = os.environ.get("RELAYFLOW_WORKER")
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        app = create_app(Settings(database_url=database_url, flows_dir=flows))
    finally:
        if before is None:
            os.environ.pop("RELAYFLOW_WORKER", None)
        else:
            os.environ["RELAYFLOW_WORKER"] = before
    for username, (name, roles) in PEOPLE.items():
        create_user(app.state.db, username, display_name=name, password=PASSWORD, roles=list(roles))
    return app


def submitted(app: FastAPI, subject: str = "Laptops") -> Any:
    """A purchase request in `check`: one task for fiona, one for fred."""
    svc = app.state.api
    bob = load_actor(app.state.db, username="bob")
    rec = svc.records.create("purchase", bob, {"subject": subject, "amount": 3})
    return svc.records.transition("purchase", rec.id, "submit", bob, expected_version=rec.version)
