"""A reminder e-mail is written in its recipient's language, with the flow's titles picked for them."""
from __future__ import annotations

import pytest

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.outbox import DeliveryPolicy, list_rows
from engine.delivery.worker import Worker
from engine.people.users import create_user, load_actor
from engine.sla.scheduler import run_pass
from tests.sla.conftest import in_review, utc

DUE = utc(2026, 11, 23, 7, 0)


@pytest.fixture
def world(database_url, reference_flow_text):  # type: ignore[no-untyped-def]
    from tests.conftest import World

    # the reference flow (language zh-CN) with its own title and the review state's in two languages
    text = reference_flow_text.replace("title: 销售订单跟单", "title: {zh-CN: 销售订单跟单, en: Sales orders}", 1)
    text = text.replace("    title: 订单审核\n", "    title: {zh-CN: 订单审核, en: Order review}\n", 1)
    assert text.count("Order review") == 1 and text.count("Sales orders") == 1
    w = World(database_url, text)
    yield w
    w.db.dispose()


def test_each_recipient_reads_the_breach_in_their_language(world, smtp_server) -> None:  # type: ignore[no-untyped-def]
    create_user(world.db, "sally", display_name="Sally", email="sally@example.com", roles=["sales"])
    create_user(world.db, "carol", display_name="Carol", email="carol@example.com", roles=["clerk"], locale="en")
    create_user(world.db, "mia", display_name="Mia", email="mia@example.com", roles=["manager"])  # no setting
    team = {"sales": load_actor(world.db, username="sally"), "clerk": load_actor(world.db, username="carol"),
            "manager": load_actor(world.db, username="mia")}
    settings = ChannelSettings.from_env({"RELAYFLOW_SMTP_HOST": smtp_server.host,
                                         "RELAYFLOW_SMTP_PORT": str(smtp_server.port),
                                         "RELAYFLOW_SMTP_FROM": "relayflow@example.com"})
    worker = Worker(world.db, world.registry, settings=settings, channels=build_channels(world.db, settings),
                    policy=DeliveryPolicy(max_attempts=3, base_backoff=0.0, lease=30))
    in_review(world, team)
    run_pass(world.db, world.registry, now=DUE)
    for _ in range(10):
        if worker.deliver_batch(now=DUE) == 0:
            break
    emails = [r for r in list_rows(world.db) if r["channel"] == "email"]
    assert {r["status"] for r in emails if r["event"] == "breach"} == {"sent"}
    assert {r["status"] for r in emails if r["event"] == "warn"} <= {"superseded"}  # the breach came first
    mails = {m["To"]: m for m in smtp_server.messages}
    english, chinese = mails["carol@example.com"], mails["mia@example.com"]
    assert english["Subject"].startswith("Overdue: ") and "Order review was due" in english["Subject"]
    assert "订单审核" not in english["Subject"] and "已超时" not in english["Subject"]
    # no setting: the flow's language (zh-CN), the titles as the flow writes them in it
    assert chinese["Subject"].startswith("已超时：") and "订单审核" in chinese["Subject"]
    assert "Order review" not in chinese["Subject"]
