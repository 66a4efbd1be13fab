"""The record page shows the engine's refusals (required fields, comment length) rather than checking itself."""
from __future__ import annotations

import html

import pytest
from fastapi import FastAPI

from engine.people.users import load_actor
from engine.records.errors import ValidationFailed
from tests.ui.live import new_order, sign_in

LONG = "x" * 10_001


def test_an_overlong_comment_is_refused_with_the_engines_message(app: FastAPI) -> None:
    rec = new_order(app)
    actor = load_actor(app.state.db, username="sales1")
    with pytest.raises(ValidationFailed) as refused:
        app.state.api.records.edit("sales_order", rec.id, actor, {}, expected_version=1, comment=LONG)
    message = refused.value.field_errors["comment"]
    client, csrf = sign_in(app, "sales1")
    for action in ("save", "t:submit"):
        res = client.post(f"/records/sales_order/{rec.id}", data={"csrf_token": csrf, "version": "1",
                                                                   "action": action, "comment": LONG})
        assert res.status_code == 422 and html.escape(message) in res.text, action
    assert app.state.api.records.get("sales_order", rec.id).version == 1


def test_an_emptied_required_field_is_shown_beside_a_parsing_error(app: FastAPI) -> None:
    rec = new_order(app)
    client, csrf = sign_in(app, "sales1")
    res = client.post(f"/records/sales_order/{rec.id}", data={
        "csrf_token": csrf, "version": "1", "action": "save", "customer": "", "quantity": "three"})
    assert res.status_code == 422
    assert "this field is required" in res.text and "must be a whole number" in res.text
    emptied = client.post(f"/records/sales_order/{rec.id}", data={
        "csrf_token": csrf, "version": "1", "action": "t:submit", "customer": ""})
    assert emptied.status_code == 422 and "this field is required" in emptied.text
    assert app.state.api.records.get("sales_order", rec.id).values["customer"] == "ACME"
