"""Security defaults around passwords, sessions and tokens."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from api.deps import SESSION_COOKIE
from engine.people import users as users_module
from tests.api.conftest import ORDER, PASSWORD, Api

URL = "/api/flows/sales_order/records"


def test_an_account_without_a_password_costs_a_full_argon2_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """No quick "no" for accounts without a password (it would tell them apart by timing)."""
    checked: list[str] = []
    real = users_module._hasher

    class Counting:
        def verify(self, hash_: str, password: str) -> bool:
            checked.append(hash_)
            return real.verify(hash_, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(users_module, "_hasher", Counting())
    assert users_module.verify_password(None, "guess") is False
    assert users_module.verify_password("", "guess") is False
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


def test_a_new_password_ends_sessions_and_tokens(api: Api) -> None:
    c = api.client
    r = c.post("/api/session", json={"username": "sally", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.cookies[SESSION_COOKIE]
    c.cookies.clear()
    assert api.get("sally", "/api/me").status_code == 200
    changed = api.patch("root", "/api/users/sally", {"password": "a whole new secret phrase"})
    assert changed.status_code == 200, changed.text
    assert api.get("sally", "/api/me").status_code == 401  # the API token is revoked
    c.cookies.set(SESSION_COOKIE, cookie)
    assert c.get("/api/me").status_code == 401  # the browser session is gone
    c.cookies.clear()


def test_the_cli_password_change_revokes_tokens_too(api: Api) -> None:
    from cli.entry import main
    from engine.people.tokens import list_tokens

    db = api.app.state.db  # type: ignore[attr-defined]
    assert any(t.active() for t in list_tokens(db, api.ids["mia"]))
    result = CliRunner().invoke(main, ["--db", db.url.render_as_string(hide_password=False),
                                       "user", "passwd", "mia", "--password", "a whole new secret phrase"])
    assert result.exit_code == 0, result.output
    assert not any(t.active() for t in list_tokens(db, api.ids["mia"]))


def test_an_expiring_token_cannot_mint_a_longer_lived_one(api: Api) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    made = api.post("sally", "/api/tokens", {"name": "short", "expires_at": soon.isoformat()})
    assert made.status_code == 201, made.text
    short = {"Authorization": f"Bearer {made.json()['token']}"}
    forever = api.client.post("/api/tokens", json={"name": "forever"}, headers=short)
    assert forever.status_code == 422 and [e["field"] for e in forever.json()["errors"]] == ["expires_at"]
    later = api.client.post("/api/tokens", json={"name": "later", "expires_at": (soon + timedelta(days=9)).isoformat()},
                            headers=short)
    assert later.status_code == 422
    same = api.client.post("/api/tokens", json={"name": "same", "expires_at": soon.isoformat()}, headers=short)
    assert same.status_code == 201, same.text
    assert api.post("sally", "/api/tokens", {"name": "forever"}).status_code == 201  # a lasting token still can


def test_the_api_sign_in_cookie_is_secure_behind_https(api: Api) -> None:
    from fastapi.testclient import TestClient

    with TestClient(api.app, base_url="https://testserver") as https:
        r = https.post("/api/session", json={"username": "sally", "password": PASSWORD})
        assert r.status_code == 200
        assert "secure" in r.headers["set-cookie"].lower()
    r = api.client.post("/api/session", json={"username": "sally", "password": PASSWORD})
    assert "secure" not in r.headers["set-cookie"].lower()  # plain http on a developer's machine
    api.client.cookies.clear()


def test_password_checks_run_off_the_event_loop(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.routers import auth

    threads: list[str] = []
    real = auth.check_password

    def recording(*args: object) -> int:
        threads.append(threading.current_thread().name)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(auth, "check_password", recording)
    loop_thread: list[str] = []

    @api.app.get("/_loop_thread")  # type: ignore[attr-defined]
    async def _loop_thread() -> str:
        loop_thread.append(threading.current_thread().name)
        return "ok"

    api.client.get("/_loop_thread")
    assert api.client.post("/api/session", json={"username": "sally", "password": "wrong"}).status_code == 401
    assert threads and threads[0] != loop_thread[0]
    assert api.post("sally", URL, {"values": ORDER}).status_code == 201
