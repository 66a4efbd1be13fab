"""Times on the admin (and notification) pages are in the viewer's zone, with the zone named, never bare UTC."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from engine.people.users import load_actor
from engine.storage.schema import notifications, outbox
from tests.ui.live import sign_in
from ui.timezones import local_time, server_timezone, set_server_timezone, viewer_timezone, zone_name

UTC_NOON = datetime(2026, 11, 23, 4, 5, tzinfo=timezone.utc)  # 12:05 in Shanghai


def test_a_flows_times_are_in_its_timezone_and_others_in_the_servers(app: FastAPI,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    registry = app.state.registry
    assert zone_name(viewer_timezone(registry, "sales_order")) == "Asia/Shanghai"
    set_server_timezone("")
    assert zone_name(viewer_timezone(registry, None)) == "UTC"
    set_server_timezone("Europe/Berlin")
    assert zone_name(viewer_timezone(registry, "no_such_flow")) == "Europe/Berlin"
    set_server_timezone("Mars/Olympus")
    assert server_timezone() == timezone.utc  # an unknown name falls back, never fails a page
    set_server_timezone("")
    t = local_time(UTC_NOON, viewer_timezone(registry, "sales_order"))
    assert t is not None and (t.text, t.zone, t.offset) == ("2026-11-23 12:05", "Asia/Shanghai", "UTC+08:00")
    assert str(local_time(UTC_NOON.replace(tzinfo=None), timezone.utc)) == "2026-11-23 04:05 UTC"


def test_revisions_and_deliveries_show_the_flows_local_time(app: FastAPI) -> None:
    with app.state.db.begin() as conn:
        conn.execute(insert(outbox).values(
            dedupe_key="sales_order:1:review@1:breach:zoned:webhook", flow="sales_order", record_id=1,
            state="review", event="breach", rule=1, channel="webhook", recipient="role:manager", event_at=UTC_NOON,
            created_at=UTC_NOON, status="sent", attempts=1, sent_at=UTC_NOON, next_attempt_at=UTC_NOON))
    admin, _ = sign_in(app, "admin", lang="zh-CN")
    page = admin.get("/admin/deliveries").text
    assert " UTC<" not in page and "UTC</dd>" not in page
    assert re.search(r'<time datetime="2026-11-23T04:05:00\+00:00">2026-11-23 12:05</time> '
                     r'<abbr class="tz" title="UTC\+08:00">Asia/Shanghai</abbr>', page)
    flow_page = admin.get("/admin/flows/sales_order").text
    assert "时间按 Asia/Shanghai" in flow_page
    assert re.search(r'<time datetime="[^"]+" title="Asia/Shanghai \(UTC\+08:00\)">\d{4}-\d\d-\d\d \d\d:\d\d</time>',
                     flow_page)


def test_notifications_name_their_zone(app: FastAPI) -> None:
    user = load_actor(app.state.db, username="clerk1")
    with app.state.db.begin() as conn:
        conn.execute(insert(notifications).values(
            user_id=user.id, dedupe_key="test:zoned", flow="sales_order", record_id=7, state="review",
            event="breach", title="Zoned", body="", created_at=UTC_NOON))
    client, _ = sign_in(app, "clerk1")
    assert "2026-11-23 12:05</time>" in client.get("/notifications").text
