"""Claim before acting, on SQLite and PostgreSQL: an edit by a member of the owner role on a queued record
claims it in the same step (history shows the assignee change), after which another member is refused and
sees the fields read-only (the API's `editable` list and the page's inputs); the assignee keeps their inputs."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.people.delegation import set_delegation
from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings
from tests.ui.live import PASSWORD, sign_in

FLOW = """
flow: ticket
title: {en: Ticket, zh-CN: 工单}
language: en
record_title: "{{ subject }}"
roles:
  clerk: {title: Clerk}
create_by: [clerk]
visibility: all
fields:
  subject: {type: text, required: true}
  note: {type: text}
states:
  open:
    owner: clerk
    edit: [subject, note]
  done:
    final: true
transitions:
  close: {from: open, to: done, by: clerk}
"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, dict[str, Any]]]:
    from ui.app import create_app

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "ticket.yaml").write_text(FLOW, encoding="utf-8")
    app = create_app(Settings(database_url=database_url, flows_dir=flows))
    heads = {}
    for name, roles, admin in (("ann", ["clerk"], False), ("ben", ["clerk"], False), ("root", [], True)):
        uid = create_user(app.state.db, name, display_name=name.title(), password=PASSWORD, roles=roles, is_admin=admin)
        heads[name] = {"Authorization": f"Bearer {create_token(app.state.db, uid, 'tests').secret}"}
    yield app, heads
    app.state.db.dispose()


def test_an_edit_claims_a_queued_record(world: tuple[FastAPI, dict[str, Any]]) -> None:
    app, h = world
    api = TestClient(app)
    r = api.post("/api/flows/ticket/records", json={"values": {"subject": "Printer"}}, headers=h["ann"])
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["assignee_id"] is None and rec["editable"] == ["subject", "note"]
    # ben edits it: it is his now, in the same step
    r = api.patch(f"/api/flows/ticket/records/{rec['id']}", json={"values": {"note": "on it"}, "version": rec["version"]},
                  headers=h["ben"])
    assert r.status_code == 200, r.text
    ben = r.json()
    assert ben["assignee_id"] is not None and ben["editable"] == ["subject", "note"]
    hist = api.get(f"/api/flows/ticket/records/{rec['id']}/history", headers=h["ben"]).json()
    assert hist[-1]["changes"]["assignee_id"] == [None, ben["assignee_id"]] and hist[-1]["changes"]["note"] == [None, "on it"]
    # ann sees it read-only and is refused on save, nothing changed
    seen = api.get(f"/api/flows/ticket/records/{rec['id']}", headers=h["ann"]).json()
    assert seen["editable"] == []
    r = api.patch(f"/api/flows/ticket/records/{rec['id']}", json={"values": {"note": "mine"}, "version": ben["version"]},
                  headers=h["ann"])
    assert r.status_code == 403 and r.json()["code"] == "not_assignee"
    assert api.get(f"/api/flows/ticket/records/{rec['id']}", headers=h["ben"]).json()["values"]["note"] == "on it"
    # the pages: ann gets no inputs and no Save button, ben does
    ann, _ = sign_in(app, "ann")
    page = ann.get(f"/records/ticket/{rec['id']}").text
    assert 'name="note"' not in page and 'value="save"' not in page and "on it" in page
    benc, _ = sign_in(app, "ben")
    page = benc.get(f"/records/ticket/{rec['id']}").text
    assert 'name="note"' in page and 'value="save"' in page
    # while ann stands in for ben (out of office), his inputs are hers
    now = datetime.now(timezone.utc)
    set_delegation(app.state.db, "ben", "ann", now - timedelta(hours=1), now + timedelta(days=1))
    assert api.get(f"/api/flows/ticket/records/{rec['id']}", headers=h["ann"]).json()["editable"] == ["subject", "note"]
    assert 'name="note"' in ann.get(f"/records/ticket/{rec['id']}").text
