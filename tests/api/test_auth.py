"""Tokens (expiry, revocation), sessions (login, CSRF, logout), admin-only endpoints."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from api.deps import CSRF_HEADER, SESSION_COOKIE
from engine.people.tokens import create_token, parse_expiry
from engine.records.errors import ValidationFailed
from tests.api.conftest import ORDER, PASSWORD, Api

URL = "/api/flows/sales_order/records"


def test_token_expiry_and_revocation(api: Api) -> None:
    svc = api.app.state.api  # type: ignore[attr-defined]
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    r = api.post("sally", "/api/tokens", {"name": "shop sync", "expires_at": soon.isoformat()})
    assert r.status_code == 201, r.text
    made = r.json()
    secret = made["token"]
    assert secret.startswith("rf_") and made["prefix"] == secret[:8] and made["active"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/me", headers=bearer).json()["username"] == "sally"
    with time_machine.travel(soon + timedelta(seconds=1), tick=False):
        svc.auth_cache.clear()
        r = api.client.get("/api/me", headers=bearer)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"
    # revocation takes effect at once (the credential cache is dropped too)
    r = api.post("sally", "/api/tokens", {"name": "laptop"})
    second = r.json()
    bearer = {"Authorization": f"Bearer {second['token']}"}
    assert api.client.get("/api/me", headers=bearer).status_code == 200
    listed = api.get("sally", "/api/tokens").json()
    assert {t["name"] for t in listed} >= {"tests", "shop sync", "laptop"}
    assert all("token" not in t for t in listed)
    r = api.client.delete(f"/api/tokens/{second['id']}", headers=api.h("sally"))
    assert r.status_code == 200 and r.json()["revoked_at"] is not None and not r.json()["active"]
    assert api.client.get("/api/me", headers=bearer).status_code == 401


def test_tokens_of_others(api: Api) -> None:
    theirs = api.post("sam", "/api/tokens", {"name": "sam's"}).json()
    assert api.client.delete(f"/api/tokens/{theirs['id']}", headers=api.h("sally")).status_code == 404
    assert api.get("sally", "/api/tokens", params={"username": "sam"}).status_code == 403
    assert api.post("sally", "/api/tokens", {"name": "x", "username": "sam"}).status_code == 403
    assert any(t["id"] == theirs["id"] for t in api.get("root", "/api/tokens", params={"username": "sam"}).json())
    made = api.post("root", "/api/tokens", {"name": "for sam", "username": "sam"})
    assert made.status_code == 201 and made.json()["username"] == "sam"
    assert api.client.delete(f"/api/tokens/{theirs['id']}", headers=api.h("root")).status_code == 200
    assert api.post("sally", "/api/tokens", {"name": "old", "expires_at": "2001-01-01T00:00:00Z"}).status_code == 422


def test_expiry_text_for_the_cli() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_expiry("30d", now) == now + timedelta(days=30)
    assert parse_expiry("2026-02-01", now).date().isoformat() == "2026-02-01"
    with pytest.raises(ValidationFailed, match="not a duration"):
        parse_expiry("tomorrow", now)


def test_deactivated_users_tokens_stop_working(api: Api) -> None:
    assert api.get("sam", "/api/me").status_code == 200
    r = api.client.patch("/api/users/sam", json={"active": False}, headers=api.h("root"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert api.get("sam", "/api/me").status_code == 401


def test_an_admin_sets_a_users_im_contact(api: Api) -> None:
    r = api.client.patch("/api/users/sam", json={"phone": "+86 138-0013-8000", "im_id": "sam.w"}, headers=api.h("root"))
    assert r.status_code == 200, r.text
    assert (r.json()["phone"], r.json()["im_id"]) == ("+8613800138000", "sam.w")
    bad = api.client.patch("/api/users/sam", json={"phone": "call me", "display_name": "Sam W"}, headers=api.h("root"))
    assert bad.status_code == 422 and "phone" in bad.text
    again = api.client.get("/api/users/sam", headers=api.h("root")).json()
    assert again["phone"] == "+8613800138000" and again["display_name"] != "Sam W"  # nothing of the refused change
    assert api.client.patch("/api/users/sam", json={"im_id": ""}, headers=api.h("root")).json()["im_id"] is None
    assert api.client.patch("/api/users/sam", json={"phone": "1"}, headers=api.h("sam")).status_code == 403


def _login(api: Api, username: str = "sally", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return api.client.post("/api/session", json={"username": username, "password": password})


def test_session_login_csrf_and_logout(api: Api) -> None:
    r = _login(api)
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    cookie = r.cookies[SESSION_COOKIE]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    api.client.cookies.clear()
    jar = {SESSION_COOKIE: cookie}
    c = api.client
    c.cookies.update(jar)
    assert c.get("/api/me").json()["username"] == "sally"
    assert c.get("/api/session").json()["via"] == "session"
    # a change through the cookie needs the CSRF header
    refused = c.post(URL, json={"values": ORDER})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: "wrong"}).status_code == 403
    assert c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: csrf}).status_code == 201
    # logout ends the session on the server: the old cookie is worthless afterwards
    assert c.delete("/api/session", headers={CSRF_HEADER: csrf}).status_code == 204
    c.cookies.clear()
    c.cookies.update(jar)
    assert c.get("/api/me").status_code == 401
    c.cookies.clear()


def test_wrong_passwords_are_throttled(api: Api) -> None:
    for _ in range(5):
        r = _login(api, password="nope")
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert _login(api, username="ghost", password="x").status_code == 401
    r = _login(api)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert _login(api, username="root").status_code == 200  # another user is not locked out


def test_admin_endpoints_refuse_non_admins(api: Api) -> None:
    for method, url, body in [("GET", "/api/users", None), ("POST", "/api/users", {"username": "eve"}),
                              ("GET", "/api/users/sally", None), ("PATCH", "/api/users/sally", {"is_admin": True}),
                              ("PUT", "/api/users/sally/roles/manager", None),
                              ("DELETE", "/api/users/sally/roles/sales", None)]:
        r = api.client.request(method, url, json=body, headers=api.h("sally"))
        assert r.status_code == 403, (method, url)
        assert r.headers["content-type"] == "application/problem+json"
        assert api.client.request(method, url, json=body).status_code == 401
    assert "manager" not in api.get("sally", "/api/me").json()["roles"]


def test_admins_manage_users_and_roles(api: Api) -> None:
    r = api.post("root", "/api/users", {"username": "nina", "display_name": "Nina", "roles": ["qc"]})
    assert r.status_code == 201 and r.json()["roles"] == ["qc"]
    assert api.post("root", "/api/users", {"username": "nina"}).status_code == 422  # exists
    assert api.post("root", "/api/users", {"username": "bad name"}).status_code == 422
    # a granted role counts at once for a token already in use
    rec = api.create()
    assert api.get("paul", f"{URL}/{rec['id']}").status_code == 404
    r = api.client.put("/api/users/paul/roles/manager", headers=api.h("root"))
    assert r.status_code == 200 and r.json()["roles"] == ["manager", "production"]
    assert api.get("paul", f"{URL}/{rec['id']}").status_code == 200
    api.client.delete("/api/users/paul/roles/manager", headers=api.h("root"))
    assert api.get("paul", f"{URL}/{rec['id']}").status_code == 404
    assert api.client.put("/api/users/ghost/roles/qc", headers=api.h("root")).status_code == 404
    assert api.client.put("/api/users/paul/roles/Not-A-Role", headers=api.h("root")).status_code == 422
    users = api.get("root", "/api/users").json()
    assert {"sally", "nina", "root"} <= {u["username"] for u in users}


def test_token_made_in_python_works(api: Api) -> None:
    db = api.app.state.db  # type: ignore[attr-defined]
    new = create_token(db, api.ids["walt"], "script")
    assert api.client.get("/api/me", headers={"Authorization": f"Bearer {new.secret}"}).json()["roles"] == ["warehouse"]
    assert api.client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
