"""The link in a reminder (e-mail, IM robot, in-app inbox, webhook) opens the record's page on a real server:
followed with an HTTP client, after signing in, it is the record page, not a 404."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.notifications import list_notifications
from engine.delivery.outbox import DeliveryPolicy
from engine.delivery.worker import Worker
from engine.people.users import load_actor
from engine.sla.scheduler import run_pass
from engine.storage.schema import users
from tests.events.conftest import Receiver
from tests.sla.conftest import Mailbox, smtp_server  # noqa: F401  (the fixture: a real SMTP server)
from tests.ui.live import PASSWORD, REFERENCE_FLOW, LiveServer, make_app, move, new_order

DUE = datetime(2030, 1, 10, 0, 0, tzinfo=timezone.utc)  # long after any record's review deadline
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/\S+")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[FastAPI, LiveServer]]:
    text = REFERENCE_FLOW.read_text(encoding="utf-8").replace(
        "via: [inbox, email, webhook]", "via: [inbox, email, webhook, wecom, dingtalk]")
    app = make_app(tmp_path, flow_text=text)
    with LiveServer(app) as server:
        yield app, server
    app.state.db.dispose()


def signed_in(server: LiveServer, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, follow_redirects=True)
    page = client.get("/login")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    res = client.post("/login", data={"username": username, "password": PASSWORD, "pre_token": token, "next": "/"})
    assert res.status_code == 200 and "/login" not in str(res.url)
    return client


def test_every_reminder_links_to_the_record_page(live: tuple[FastAPI, LiveServer], receiver: Receiver,
                                                 smtp_server: Mailbox) -> None:  # noqa: F811
    app, server = live
    db, registry = app.state.db, app.state.registry
    settings = ChannelSettings.from_env({
        "RELAYFLOW_SMTP_HOST": smtp_server.host, "RELAYFLOW_SMTP_PORT": str(smtp_server.port),
        "RELAYFLOW_WEBHOOK_URL": receiver.url + "/hook", "RELAYFLOW_WECOM_URL": receiver.url + "/wecom",
        "RELAYFLOW_DINGTALK_URL": receiver.url + "/dingtalk", "RELAYFLOW_BASE_URL": server.url + "/"})
    worker = Worker(db, registry, settings=settings, policy=DeliveryPolicy(max_attempts=2, base_backoff=0.0),
                    channels=build_channels(db, settings))
    with db.begin() as conn:  # the page tests' users have no e-mail address
        conn.execute(update(users).values(email=users.c.username + "@example.com"))
    rec = new_order(app, customer="Link Test Co")
    move(app, rec.id, "submit", "sales1")
    run_pass(db, registry, now=DUE)
    for _ in range(5):
        if worker.deliver_batch(now=DUE) == 0:
            break

    page = f"{server.url}/records/sales_order/{rec.id}"
    mail_links = {LINK.search(m.get_content()).group(0) for m in smtp_server.messages}  # type: ignore[union-attr]
    assert mail_links == {page}
    hooks = {h.path: h for h in receiver.received}
    assert hooks["/hook"].json()["record"]["url"] == page
    for im in ("/wecom", "/dingtalk"):
        assert page in hooks[im].body.decode("utf-8")
    manager = load_actor(db, username="manager1")
    [note] = [n for n in list_notifications(db, manager.id) if n.record_id == rec.id]
    assert page in note.body

    # Followed by the manager, signed in: the record's page.
    client = signed_in(server, "manager1")
    try:
        res = client.get(page)
        assert res.status_code == 200
        assert str(res.url) == page and "Link Test Co" in res.text
    finally:
        client.close()
    # Followed before signing in: the sign-in page, which leads back to the record.
    with httpx.Client(follow_redirects=False) as anonymous:
        res = anonymous.get(page)
        assert res.status_code in (302, 303) and "/login" in res.headers["location"]
