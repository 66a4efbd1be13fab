"""The daily digest through the outbox and real SMTP (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL: sent at the
configured local time to the people the dashboard names, once per person and day, with the records each may see
(late and due today) in their language and with links; `relayflow digest --now` sends it at once."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.delivery.channels import build_channels
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.worker import Worker
from engine.storage.schema import outbox
from tests.dashboard.conftest import FLOWS, NOW, Desk
from tests.sla.conftest import Mailbox

BASE = "https://rf.example.test"


def _worker(desk: Desk, box: Mailbox, digest_at: str = "08:00") -> Worker:
    settings = ChannelSettings.from_env({"RELAYFLOW_SMTP_HOST": box.host, "RELAYFLOW_SMTP_PORT": str(box.port),
                                         "RELAYFLOW_BASE_URL": BASE})
    return Worker(desk.db, desk.registry, settings=settings, channels=build_channels(desk.db, settings), digest_at=digest_at)


def _mails(box: Mailbox) -> dict[str, Any]:
    return {m["To"]: m for m in box.messages}


def _digest_rows(desk: Desk) -> int:
    with desk.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox).where(outbox.c.event == "digest")).scalar() or 0)


def test_digest_goes_once_a_day_to_the_people_named_with_what_they_may_see(desk: Desk, smtp_server: Mailbox) -> None:
    worker = _worker(desk, smtp_server)
    worker.run_once(now=NOW.replace(hour=7))  # before 08:00 in the flow's zone: nothing yet
    assert _digest_rows(desk) == 0 and smtp_server.messages == []

    worker.run_once(now=NOW)
    mails = _mails(smtp_server)
    # boss sees no record, so has nothing late or due: no mail; the reviewer is not named by the dashboard
    assert sorted(mails) == ["buyer1@example.test", "buyer2@example.test", "east_boss@example.test"]
    east = mails["buyer1@example.test"].get_content()
    assert mails["buyer1@example.test"]["Subject"] == "采购申请:0 条已超时,1 条今日到期(2026-10-12)"
    assert "今日到期(1 条):" in east and "Lamp C — 审核,截止 2026-10-12 13:00 (UTC)" in east
    assert f"{BASE}/records/purchase/{desk.ids['C']}" in east and "Chair B" not in east
    west = mails["buyer2@example.test"]
    assert west["Subject"] == "Purchase request: 1 late, 0 due today (2026-10-12)"
    body = west.get_content()
    assert "Late (1):" in body and "Chair B — Review, due 2026-10-05 06:00 (UTC)" in body and "Lamp C" not in body
    assert f"{BASE}/records/purchase/{desk.ids['B']}" in body and f"{BASE}/dashboards/purchase" in body

    # again the same day, from this worker or a fresh one: nobody gets a second digest
    worker.run_once(now=NOW + timedelta(hours=3))
    _worker(desk, smtp_server).run_once(now=NOW + timedelta(hours=5))
    assert len(smtp_server.messages) == 3 and _digest_rows(desk) == 3

    # the next day: a new digest; Lamp C is late by now
    worker.run_once(now=NOW + timedelta(days=1))
    assert len(smtp_server.messages) == 6
    again = [m for m in smtp_server.messages[3:] if m["To"] == "buyer1@example.test"][0]
    assert again["Subject"] == "采购申请:1 条已超时,0 条今日到期(2026-10-13)"


def test_no_digest_without_a_digest_time(desk: Desk, smtp_server: Mailbox) -> None:
    _worker(desk, smtp_server, digest_at="").run_once(now=NOW)
    assert _digest_rows(desk) == 0 and smtp_server.messages == []


def test_cli_digest_now_sends_at_once_and_only_once(desk: Desk, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.entry import main

    for key, value in {"RELAYFLOW_FLOWS_DIR": str(FLOWS), "RELAYFLOW_SMTP_HOST": smtp_server.host,
                       "RELAYFLOW_SMTP_PORT": str(smtp_server.port), "RELAYFLOW_BASE_URL": BASE}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RELAYFLOW_DIGEST_AT", raising=False)
    url = desk.db.url.render_as_string(hide_password=False)
    refused = CliRunner().invoke(main, ["--db", url, "digest"])
    assert refused.exit_code == 2 and "give --now" in refused.output
    unknown = CliRunner().invoke(main, ["--db", url, "digest", "--now", "--flow", "nothing"])
    assert unknown.exit_code == 2 and "no flow named nothing" in unknown.output
    first = CliRunner().invoke(main, ["--db", url, "digest", "--now"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "queued 3 digest(s)" in first.output and "sent 3" in first.output
    assert sorted(_mails(smtp_server)) == ["buyer1@example.test", "buyer2@example.test", "east_boss@example.test"]
    second = CliRunner().invoke(main, ["--db", url, "digest", "--now"], catch_exceptions=False)
    assert "queued 0 digest(s)" in second.output and len(smtp_server.messages) == 3
