"""The pages remember who a session is for a few seconds, and forget it at once on sign-out or deactivation."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import api.deps
from engine.people.sessions import end_session
from tests.ui.live import sign_in


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each database lookup of a session the pages make."""
    seen: list[str] = []
    real = api.deps.session_actor  # the pages look sessions up through the API's _session_auth

    def counting(db: Any, secret: str, **kw: Any) -> Any:
        seen.append(secret)
        return real(db, secret, **kw)

    monkeypatch.setattr(api.deps, "session_actor", counting)
    yield seen


def test_pages_look_a_session_up_once_then_use_the_cache(app: FastAPI, lookups: list[str]) -> None:
    client, _ = sign_in(app, "clerk1")
    lookups.clear()
    for url in ("/", "/lists/sales_order", "/", "/notifications"):
        assert client.get(url).status_code == 200
    assert len(lookups) <= 1


def test_sign_out_takes_effect_at_once_in_the_same_process(app: FastAPI, lookups: list[str]) -> None:
    client, csrf = sign_in(app, "clerk1")
    cookie = client.cookies.get("relayflow_session")
    assert client.get("/").status_code == 200  # now cached
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    stale = TestClient(app, cookies={"relayflow_session": cookie})
    res = stale.get("/", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    assert stale.get("/api/inbox").status_code == 401  # the API shares the entry


def test_deactivating_a_user_ends_their_pages_at_once(app: FastAPI) -> None:
    user, _ = sign_in(app, "finance1")
    assert user.get("/").status_code == 200  # cached
    admin, csrf = sign_in(app, "admin")
    res = admin.post("/admin/users/finance1/active", data={"csrf_token": csrf, "active": "false"},
                     follow_redirects=False)
    assert res.status_code == 303
    assert user.get("/", follow_redirects=False).status_code == 303
    admin.post("/admin/users/finance1/active", data={"csrf_token": csrf, "active": "true"})


def test_a_session_ended_elsewhere_is_seen_within_the_cache_time(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = sign_in(app, "manager1")
    assert client.get("/").status_code == 200
    end_session(app.state.db, client.cookies["relayflow_session"])  # another process signs it out
    assert client.get("/").status_code == 200  # still cached here
    monkeypatch.setattr(app.state.api.auth_cache, "ttl", 0.0)
    assert client.get("/", follow_redirects=False).status_code == 303
