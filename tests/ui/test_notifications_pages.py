"""In-app notifications: only mine, the unread badge in the header, mark read (CSRF), escaping."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from engine.delivery.notifications import unread_count
from engine.people.users import load_actor
from engine.storage.schema import notifications
from tests.ui.live import sign_in

SCRIPT = "<script>alert('x')</script>"


def _notify(app: FastAPI, username: str, title: str, body: str = "") -> int:
    user = load_actor(app.state.db, username=username)
    with app.state.db.begin() as conn:
        return int(conn.execute(insert(notifications).values(
            user_id=user.id, dedupe_key=f"test:{username}:{title}", flow="sales_order", record_id=7, state="review",
            event="breach", title=title, body=body, created_at=datetime.now(timezone.utc),
        ).returning(notifications.c.id)).scalar_one())


def _badge(client: TestClient) -> str | None:
    m = re.search(r'<span class="count-badge" aria-hidden="true">([^<]+)</span>', client.get("/").text)
    return m.group(1) if m else None


def test_the_page_shows_only_my_notifications_with_a_badge(app: FastAPI) -> None:
    mine = [_notify(app, "finance1", f"Finance reminder {i}", "due soon") for i in range(3)]
    theirs = _notify(app, "prod1", "Production only")
    client, _ = sign_in(app, "finance1")
    page = client.get("/notifications")
    assert page.status_code == 200
    for n in mine:
        assert f'id="notification-{n}"' in page.text
    assert f'id="notification-{theirs}"' not in page.text and "Production only" not in page.text
    assert 'href="/records/sales_order/7"' in page.text
    assert _badge(client) == "3" and '<span class="sr-only">3 unread</span>' in client.get("/").text
    assert 'href="/notifications"' in client.get("/").text


def test_mark_one_and_all_read_only_touches_mine(app: FastAPI) -> None:
    first = _notify(app, "clerk1", "Clerk first")
    _notify(app, "clerk1", "Clerk second")
    other = _notify(app, "manager1", "Manager's")
    client, csrf = sign_in(app, "clerk1")
    clerk = load_actor(app.state.db, username="clerk1")
    manager = load_actor(app.state.db, username="manager1")
    before = unread_count(app.state.db, clerk.id)
    res = client.post("/notifications/read", data={"csrf_token": csrf, "id": [str(first), str(other)]},
                      follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/notifications?msg=read"
    assert unread_count(app.state.db, clerk.id) == before - 1
    assert unread_count(app.state.db, manager.id) == 1  # someone else's id is ignored
    unread = client.get("/notifications?unread=true").text
    assert f'id="notification-{first}"' not in unread and "Clerk second" in unread
    client.post("/notifications/read", data={"csrf_token": csrf, "all": "1"})
    assert unread_count(app.state.db, clerk.id) == 0 and _badge(client) is None
    assert "No notifications." in client.get("/notifications?unread=true").text
    assert unread_count(app.state.db, manager.id) == 1


def test_marking_read_needs_the_csrf_token_and_a_session(app: FastAPI) -> None:
    n = _notify(app, "sales1", "Sales reminder")
    client, _ = sign_in(app, "sales1")
    res = client.post("/notifications/read", data={"id": str(n)})
    assert res.status_code == 403 and "The form has expired" in res.text
    assert unread_count(app.state.db, load_actor(app.state.db, username="sales1").id) >= 1
    assert TestClient(app).get("/notifications", follow_redirects=False).status_code == 303
    junk = client.post("/notifications/read", data={"csrf_token": "x" * 43, "id": "abc"})
    assert junk.status_code == 403


def test_notification_text_is_escaped(app: FastAPI) -> None:
    _notify(app, "prod1", f"Order {SCRIPT}", f"body {SCRIPT}")
    client, _ = sign_in(app, "prod1")
    page = client.get("/notifications").text
    assert "<script>alert" not in page
    assert page.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 3  # title, body, the button's label


def test_notifications_in_chinese_and_paging(app: FastAPI) -> None:
    for i in range(55):
        _notify(app, "admin", f"Page item {i:02d}")
    client, _ = sign_in(app, "admin", lang="zh-CN")
    first = client.get("/notifications").text
    assert "通知" in first and "全部标为已读" in first
    older = re.search(r'href="/notifications\?before=(\d+)" rel="next"', first)
    assert older
    second = client.get(f"/notifications?before={older.group(1)}").text
    names1 = set(re.findall(r"Page item \d\d", first))
    names2 = set(re.findall(r"Page item \d\d", second))
    assert len(names1) == 50 and len(names2) == 5 and not names1 & names2
    assert _badge(client) == "55"
    assert client.get(f"/notifications?before={10**30}").status_code == 404  # a clear page, never a 500
