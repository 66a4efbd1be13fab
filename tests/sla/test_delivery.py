"""Delivery through the outbox to a real SMTP server and a real HTTP receiver on 127.0.0.1."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.channels.webhook import verify_signature
from engine.delivery.outbox import DeliveryPolicy, delivery_log, epoch, list_rows
from engine.delivery.worker import Worker
from engine.sla.scheduler import run_pass
from tests.sla.conftest import in_review, utc

DUE = utc(2026, 11, 23, 7, 0)
TINY = DeliveryPolicy(max_attempts=3, base_backoff=0.0, lease=30)


@pytest.fixture
def world(sqlite_url, reference_flow_text):  # type: ignore[no-untyped-def]
    from tests.conftest import World

    w = World(sqlite_url, reference_flow_text)
    yield w
    w.db.dispose()


@pytest.fixture
def team(world):  # type: ignore[no-untyped-def]
    from engine.people.users import create_user, load_actor

    for username, roles in [("sally", ["sales"]), ("carol", ["clerk"]), ("mia", ["manager"])]:
        create_user(world.db, username, display_name=username.title(), email=f"{username}@example.com", roles=roles)
    return {"sales": load_actor(world.db, username="sally"), "clerk": load_actor(world.db, username="carol"),
            "manager": load_actor(world.db, username="mia")}


def worker_for(world, env: dict[str, str], policy: DeliveryPolicy = TINY) -> Worker:  # type: ignore[no-untyped-def]
    settings = ChannelSettings.from_env(env)
    return Worker(world.db, world.registry, settings=settings, policy=policy,
                  channels=build_channels(world.db, settings))


def drain(worker: Worker, rounds: int = 10) -> None:
    for _ in range(rounds):
        if worker.deliver_batch(now=DUE) == 0:
            return


def test_breach_reaches_inbox_email_and_signed_webhook(world, team, smtp_server, receiver) -> None:  # type: ignore[no-untyped-def]
    secret = "s3cret"
    worker = worker_for(world, {"RELAYFLOW_SMTP_HOST": smtp_server.host, "RELAYFLOW_SMTP_PORT": str(smtp_server.port),
                                "RELAYFLOW_SMTP_FROM": "relayflow@example.com",
                                "RELAYFLOW_WEBHOOK_URL": receiver.url + "/hook",
                                "RELAYFLOW_WEBHOOK_SECRET": secret, "RELAYFLOW_BASE_URL": "https://flows.example.com"})
    rec = in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(worker)
    assert {r["status"] for r in list_rows(world.db) if r["status"] != "superseded"} == {"sent"}

    mails = sorted(smtp_server.messages, key=lambda m: m["To"])
    assert [m["To"] for m in mails] == ["carol@example.com", "mia@example.com"]
    assert mails[0]["Subject"].startswith("已超时：ACME 有限公司 · X-100 × 10")
    started = epoch(rec.system["sla_started_at"])
    assert mails[0]["X-Relayflow-Dedupe-Key"] == f"sales_order:{rec.id}:review@{started}:breach:u{team['clerk'].id}:email"
    assert f"https://flows.example.com/records/sales_order/{rec.id}" in mails[0].get_content()
    # The due instant is printed in the flow's zone, and the zone is named.
    assert mails[0]["Subject"].endswith("(Asia/Shanghai)")

    [hook] = receiver.received
    assert hook.path == "/hook"
    body = hook.json()
    assert body["event"] == "breach" and body["record"]["id"] == rec.id and body["state"]["title"] == "订单审核"
    assert {p["name"] for p in body["recipients"]} == {"Carol", "Mia"}
    assert hook.headers["X-Relayflow-Dedupe-Key"] == body["id"]
    ts, sig = hook.headers["X-Relayflow-Timestamp"], hook.headers["X-Relayflow-Signature"]
    assert verify_signature(secret, ts, hook.body, sig)
    assert not verify_signature("wrong", ts, hook.body, sig)
    assert not verify_signature(secret, ts, hook.body + b" ", sig)


def test_receiver_failing_twice_then_succeeding_gets_the_message_once(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.plan = [500, 503]
    world_worker = worker_for(world, {"RELAYFLOW_WEBHOOK_URL": receiver.url})
    in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(world_worker)
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert len(receiver.received) == 3
    assert len({r.headers["X-Relayflow-Dedupe-Key"] for r in receiver.received}) == 1  # the same key every time
    log = [d["outcome"] for d in reversed(delivery_log(world.db, outbox_id=row["id"]))]
    assert log == ["retry", "retry", "sent"]


def test_a_breach_retried_after_the_record_left_the_stage_is_dropped_and_logged(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.plan = [500]
    worker = worker_for(world, {"RELAYFLOW_WEBHOOK_URL": receiver.url},
                        DeliveryPolicy(max_attempts=3, base_backoff=60.0, lease=30))
    rec = in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(worker)  # the first try fails; a retry is scheduled
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert row["status"] == "pending"
    world.records.transition(world.flow, rec.id, "approve", team["clerk"], expected_version=rec.version, now=DUE)
    worker.deliver_batch(now=DUE + timedelta(minutes=2))
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert row["status"] == "dropped"
    assert len(receiver.received) == 1  # the failed try only: the retry was not sent
    log = [(d["outcome"], d["detail"]) for d in reversed(delivery_log(world.db, outbox_id=row["id"]))]
    assert [o for o, _ in log] == ["retry", "dropped"] and "left the stage" in log[1][1]


def test_backoff_is_a_stored_schedule(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.plan = [500]
    policy = DeliveryPolicy(max_attempts=5, base_backoff=3600, lease=30)
    worker = worker_for(world, {"RELAYFLOW_WEBHOOK_URL": receiver.url}, policy)
    in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(worker)
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert row["status"] == "pending" and row["next_attempt_at"] == DUE + timedelta(hours=1)  # a column: survives restarts
    assert policy.backoff(1).total_seconds() == 3600 and policy.backoff(3).total_seconds() == 4 * 3600


def test_receiver_that_always_fails_ends_dead_lettered(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.plan = [500] * 10
    worker = worker_for(world, {"RELAYFLOW_WEBHOOK_URL": receiver.url})
    in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(worker)
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert (row["status"], row["attempts"]) == ("dead", 3) and "HTTP 500" in row["last_error"]
    assert [d["outcome"] for d in reversed(delivery_log(world.db, outbox_id=row["id"]))] == ["retry", "retry", "dead"]
    # e-mail is not configured: those are dead at once, with the reason
    email = [r for r in list_rows(world.db) if r["channel"] == "email" and r["event"] != "warn"]
    assert {(r["status"], r["attempts"]) for r in email} == {("dead", 1)}
    assert "RELAYFLOW_SMTP_HOST" in email[0]["last_error"]


def test_client_error_is_permanent(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.plan = [404]
    worker = worker_for(world, {"RELAYFLOW_WEBHOOK_URL": receiver.url})
    in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    drain(worker)
    [row] = [r for r in list_rows(world.db) if r["channel"] == "webhook"]
    assert (row["status"], row["attempts"]) == ("dead", 1)


ROBOT_FLOW_REMINDERS = """
reminders:
  - on: breach
    notify: [assignee, role:manager]
    via: [dingtalk, wecom, feishu]
"""


def test_dingtalk_wecom_feishu_payloads_and_signatures(sqlite_url, reference_flow_text, receiver) -> None:  # type: ignore[no-untyped-def]
    from engine.people.users import create_user, load_actor
    from tests.conftest import World

    text = reference_flow_text[: reference_flow_text.index("reminders:")] + ROBOT_FLOW_REMINDERS
    w = World(sqlite_url, text)
    try:
        for username, roles in [("sally", ["sales"]), ("carol", ["clerk"]), ("mia", ["manager"])]:
            create_user(w.db, username, display_name=username.title(), roles=roles)
        team = {"sales": load_actor(w.db, username="sally")}
        worker = worker_for(w, {
            "RELAYFLOW_DINGTALK_URL": receiver.url + "/robot/send?access_token=abc",
            "RELAYFLOW_DINGTALK_SECRET": "SECdingtalk",
            "RELAYFLOW_WECOM_URL_SALES_ORDER": receiver.url + "/cgi-bin/webhook/send?key=k1",
            "RELAYFLOW_FEISHU_URL": receiver.url + "/open-apis/bot/v2/hook/h1",
            "RELAYFLOW_FEISHU_SECRET": "feishu-secret"})
        in_review(w, team)
        run_pass(w.db, w.registry, now=DUE)
        drain(worker)
        assert {r["status"] for r in list_rows(w.db) if r["status"] != "superseded"} == {"sent"}
        by_path = {urlsplit(r.path).path: r for r in receiver.received}

        ding = by_path["/robot/send"]
        query = parse_qs(urlsplit(ding.path).query)
        assert query["access_token"] == ["abc"]
        ts = query["timestamp"][0]
        expected = base64.b64encode(hmac.new(b"SECdingtalk", f"{ts}\nSECdingtalk".encode(), hashlib.sha256).digest())
        assert query["sign"] == [expected.decode()]
        body = ding.json()
        assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("已超时")
        assert "Carol" in body["markdown"]["text"] and "Mia" in body["markdown"]["text"]

        wecom = by_path["/cgi-bin/webhook/send"].json()
        assert wecom["msgtype"] == "markdown" and wecom["markdown"]["content"].startswith("**已超时")

        feishu = by_path["/open-apis/bot/v2/hook/h1"].json()
        assert feishu["msg_type"] == "text" and feishu["content"]["text"].startswith("已超时")
        key = f"{feishu['timestamp']}\nfeishu-secret".encode()
        assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    finally:
        w.db.dispose()


def test_robot_error_code_is_retried(world, team, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.answer = {"errcode": 130101, "errmsg": "send too fast"}
    settings = ChannelSettings.from_env({"RELAYFLOW_DINGTALK_URL": receiver.url})
    from engine.delivery.channels.base import DeliveryFailed
    from engine.delivery.channels.dingtalk import DingTalkChannel
    from engine.delivery.channels.message import OutboundMessage

    msg = OutboundMessage(outbox_id=1, dedupe_key="k", attempt=1, channel="dingtalk", event="breach", flow="f",
                          flow_title="F", record_id=1, record_title="R", state="s", state_title="S", due_at=None,
                          event_at=DUE, subject="Overdue", body="Overdue")
    with pytest.raises(DeliveryFailed) as info:
        DingTalkChannel(settings).send(msg)
    assert not info.value.permanent and "130101" in str(info.value)


def test_robot_messages_mention_the_responsible_people(sqlite_url, reference_flow_text, receiver) -> None:  # type: ignore[no-untyped-def]
    """An IM robot message @-mentions the people it is for: by IM id where set, else by mobile (WeCom, DingTalk);
    Feishu by open_id only. Someone with neither is named in the text but not mentioned."""
    from engine.people.im_contacts import set_im_contact
    from engine.people.users import create_user, load_actor
    from tests.conftest import World

    text = reference_flow_text[: reference_flow_text.index("reminders:")] + ROBOT_FLOW_REMINDERS
    w = World(sqlite_url, text)
    try:
        for username, roles in [("sally", ["sales"]), ("carol", ["clerk"]), ("mia", ["manager"]), ("max", ["manager"])]:
            create_user(w.db, username, display_name=username.title(), roles=roles)
        set_im_contact(w.db, "carol", phone="138 0013 8000", im_id="ou_carol")
        set_im_contact(w.db, "mia", phone="+86-139-0000-0001")
        team = {"sales": load_actor(w.db, username="sally")}
        worker = worker_for(w, {
            "RELAYFLOW_DINGTALK_URL": receiver.url + "/robot/send?access_token=abc",
            "RELAYFLOW_WECOM_URL": receiver.url + "/cgi-bin/webhook/send?key=k1",
            "RELAYFLOW_FEISHU_URL": receiver.url + "/open-apis/bot/v2/hook/h1"})
        in_review(w, team)
        run_pass(w.db, w.registry, now=DUE)
        drain(worker)
        by_path = {urlsplit(r.path).path: r.json() for r in receiver.received}

        ding = by_path["/robot/send"]
        assert ding["at"] == {"atMobiles": ["+8613900000001"], "atUserIds": ["ou_carol"], "isAtAll": False}
        assert "@ou_carol" in ding["markdown"]["text"] and "@+8613900000001" in ding["markdown"]["text"]

        wecom = by_path["/cgi-bin/webhook/send"]
        assert wecom["msgtype"] == "text"
        assert wecom["text"]["mentioned_list"] == ["ou_carol"]
        assert wecom["text"]["mentioned_mobile_list"] == ["+8613900000001"]
        assert wecom["text"]["content"].startswith("已超时") and "Max" in wecom["text"]["content"]

        feishu = by_path["/open-apis/bot/v2/hook/h1"]
        assert '<at user_id="ou_carol">Carol</at>' in feishu["content"]["text"]
        assert "<at" not in feishu["content"]["text"].replace('<at user_id="ou_carol">', "")
    finally:
        w.db.dispose()


@pytest.mark.parametrize(("phone", "im_id"), [("12ab", None), ("1" * 25, None), (None, "has space"), (None, 'x"y')])
def test_bad_im_contacts_are_refused(sqlite_url, phone, im_id) -> None:  # type: ignore[no-untyped-def]
    from engine.people.im_contacts import set_im_contact
    from engine.people.users import create_user, list_users
    from engine.records.errors import ValidationFailed
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database

    db = make_engine(sqlite_url)
    try:
        upgrade_database(db)
        create_user(db, "kim")
        with pytest.raises(ValidationFailed):
            set_im_contact(db, "kim", phone=phone, im_id=im_id)
        [kim] = list_users(db)
        assert (kim["phone"], kim["im_id"]) == (None, None)
        set_im_contact(db, "kim", phone="(0571) 8888-1234", im_id="kim.li")
        [kim] = list_users(db)
        assert (kim["phone"], kim["im_id"]) == ("057188881234", "kim.li")
        set_im_contact(db, "kim", phone="")
        [kim] = list_users(db)
        assert (kim["phone"], kim["im_id"]) == (None, "kim.li")
    finally:
        db.dispose()
