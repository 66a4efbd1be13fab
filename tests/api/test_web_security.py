"""Security headers on every answer, and changes carried by a session cookie refused from a foreign origin."""
from __future__ import annotations

import pytest

from api.web_security import PAGE_POLICY
from tests.api.conftest import ORDER, PASSWORD, Api

URL = "/api/flows/sales_order/records"
CSRF_HEADER = "X-CSRF-Token"


def _signed_in(api: Api) -> str:
    r = api.client.post("/api/session", json={"username": "sally", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


@pytest.mark.parametrize("path", ["/login", "/health", "/static/app.css", "/api/flows", "/no/such/page"])
def test_every_answer_carries_the_security_headers(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["content-security-policy"] == PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY and "frame-ancestors 'none'" in PAGE_POLICY


def test_the_lean_api_routes_carry_them_too(api: Api) -> None:
    r = api.post("sally", URL, {"values": ORDER})
    assert r.status_code == 201 and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == PAGE_POLICY


def test_a_cookie_change_from_a_foreign_origin_is_refused_even_with_the_csrf_token(api: Api) -> None:
    csrf = _signed_in(api)
    c = api.client
    foreign = c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: csrf, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "cross_site_request"
    assert foreign.headers["content-type"].startswith("application/problem+json")
    null = c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: csrf, "Origin": "null"})
    assert null.status_code == 403
    referer = c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: csrf, "Referer": "https://evil.example/x"})
    assert referer.status_code == 403
    # Nothing was created by the refused requests; the same change from this site goes through.
    assert api.get("sally", URL).json()["items"] == []
    own = c.post(URL, json={"values": ORDER}, headers={CSRF_HEADER: csrf, "Origin": "http://testserver"})
    assert own.status_code == 201, own.text
    c.cookies.clear()


def test_a_page_form_from_a_foreign_origin_is_refused_in_both_languages(api: Api) -> None:
    _signed_in(api)
    r = api.client.post("/logout", data={"csrf_token": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "another site" in r.text and "其他网站" in r.text
    api.client.cookies.clear()


def test_bearer_clients_are_not_checked_for_origin(api: Api) -> None:
    r = api.post("sally", URL, {"values": ORDER}, headers={"Origin": "https://integration.example"})
    assert r.status_code == 201
