"""Every admin page and POST: 403 for a signed-in non-admin, 403 without the CSRF token, sign-in for nobody."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from tests.ui.live import REFERENCE_FLOW, sign_in

SAMPLES = {"flow_name": "sales_order", "username": "clerk1", "outbox_id": "1", "dept_id": "hq"}
ACTIONS = ("validate", "upload", "plan", "apply")  # the flow editor's posts


def _all_routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
        yield from _all_routes(inner.routes) if inner is not None else (route,)


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, url) of every page route under /admin, path parameters filled with sample values."""
    out: list[tuple[str, str]] = []
    for route in _all_routes(app.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/admin"):
            for action in ACTIONS if "{action}" in route.path else ("",):
                url = re.sub(r"{(\w+)}", lambda m, action=action: SAMPLES.get(m.group(1), action), route.path)
                out.extend((method, url) for method in sorted(route.methods or ()))
    return out


def test_the_admin_routes_include_the_new_pages(app: FastAPI) -> None:
    urls = {u for _, u in admin_routes(app)}
    for url in ("/admin/flows/new", "/admin/flows/sales_order/edit", "/admin/flows/sales_order/edit/apply",
                "/admin/flows/new/validate", "/admin/flows/new/upload", "/admin/flows/sales_order/simulate", "/admin/deliveries",
                "/admin/deliveries/1/retry"):
        assert url in urls, url


def test_non_admins_get_403_on_every_admin_page_and_post(app: FastAPI) -> None:
    client, csrf = sign_in(app, "manager1")
    text = REFERENCE_FLOW.read_text(encoding="utf-8")
    for method, url in admin_routes(app):
        if method == "GET":
            res = client.get(url)
        else:
            res = client.post(url, data={"csrf_token": csrf, "yaml": text, "plan_hash": "0" * 64,
                                         "base_revision": "1", "username": "evil", "password": "x" * 10})
        assert res.status_code == 403, (method, url, res.status_code)
        assert "<html" in res.text and "Not allowed" in res.text
    assert app.state.registry.get("sales_order").revision == 1


def test_admin_posts_need_the_csrf_token(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    for method, url in admin_routes(app):
        if method == "POST":
            res = client.post(url, data={"yaml": "flow: x\n"})
            assert res.status_code == 403 and "The form has expired" in res.text, url
            wrong = client.post(url, data={"yaml": "flow: x\n"}, headers={"X-CSRF-Token": "x" * 43})
            assert wrong.status_code == 403, url
    ok = client.post("/admin/flows/sales_order/edit/validate", data={"yaml": "flow: x\n"},
                     headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert ok.status_code == 200


def test_nobody_signed_in_is_sent_to_sign_in(app: FastAPI) -> None:
    client = TestClient(app)
    for method, url in admin_routes(app) + [("GET", "/notifications"), ("POST", "/notifications/read")]:
        res = client.request(method, url, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"].startswith("/login?next="), (method, url)


def test_the_starter_file_of_a_new_flow_loads() -> None:
    from ui.routes.admin_editor import STARTER

    try:
        flow = load_flow_text(STARTER.read_text(encoding="utf-8"))
    except FlowLoadError as exc:  # pragma: no cover - the message says what is wrong
        raise AssertionError(str(exc)) from None
    assert flow.name == "new_flow"
