"""Operations and HTTP security: probes, request ids and JSON logs, security events, metrics, trusted
proxies and sign-in throttles, what anonymous callers may read, body rules on every route, OPTIONS."""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.logging_setup import log_config
from engine.settings import Settings
from engine.sla.scheduler import run_pass
from tests.api.conftest import ORDER, PASSWORD, Api, make_api


@pytest.fixture
def any_api(database_url: str, reference_flow_text: str, tmp_path: Path) -> Iterator[Api]:
    client, a = make_api(database_url, reference_flow_text, tmp_path / "flows")
    with client:
        yield a
    client.app.state.db.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The relayflow loggers written as JSON lines (the formatter `relayflow serve` uses) into a buffer."""
    buf = io.StringIO()
    config = log_config(Settings(log_format="json"))
    from pythonjsonlogger.json import JsonFormatter

    spec = config["formatters"]["main"]
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter(spec["fmt"], rename_fields=spec["rename_fields"]))
    from api.logging_setup import RequestIdFilter

    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("relayflow")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield buf
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


# --- 1. probes ------------------------------------------------------------------------------------

def test_health_needs_no_database_and_ready_checks_database_migrations_and_flows(any_api: Api) -> None:
    c = any_api.client
    app: Any = c.app
    assert c.get("/health").json() == {"status": "ok"}  # names no flows
    ready = c.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "ok", "flows": "ok"}

    with app.state.db.begin() as conn:  # an older schema than this code expects
        old = conn.execute(text("SELECT version_num FROM relayflow_schema_version")).scalar()
        conn.execute(text("UPDATE relayflow_schema_version SET version_num = 'older'"))
    r = c.get("/ready")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_ready" and "relayflow db upgrade" in r.json()["checks"]["migrations"]
    assert r.headers["retry-after"]
    with app.state.db.begin() as conn:
        conn.execute(text("UPDATE relayflow_schema_version SET version_num = :v"), {"v": old})

    live = app.state.registry.get("sales_order")
    app.state.registry._flows.pop("sales_order")  # live in the database, not served by this process
    assert c.get("/ready").json()["checks"]["flows"] == "1 live flow(s) not loaded yet"
    app.state.registry.put(live)
    assert c.get("/ready").status_code == 200

    real = app.state.db
    from engine.storage.db import make_engine

    app.state.db = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    try:
        down = c.get("/ready")
        assert down.status_code == 503 and down.json()["checks"]["database"] == "unreachable"
        assert c.get("/health").status_code == 200  # liveness does not depend on the database
    finally:
        app.state.db.dispose()
        app.state.db = real


# --- 2. request ids, JSON logs, security events --------------------------------------------------

def test_request_id_is_kept_when_sane_made_otherwise_and_in_every_log_line(api: Api, json_log: io.StringIO) -> None:
    c = api.client
    assert c.get("/health", headers={"X-Request-ID": "lb-7f3a:01"}).headers["x-request-id"] == "lb-7f3a:01"
    for bad in ("has space", "x" * 129, "a/b", ""):
        made = c.get("/health", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert made != bad and re.fullmatch(r"[0-9a-f]{24}", made)
    r = c.post("/api/session", json={"username": "sally", "password": "wrong"})
    assert r.status_code == 401
    rid = r.headers["x-request-id"]
    logged = lines(json_log)
    failed = [e for e in logged if e.get("event") == "sign_in_failed"]
    assert failed and failed[-1]["request_id"] == rid and failed[-1]["username"] == "sally"
    assert "wrong" not in json_log.getvalue()  # never the password
    access = [e for e in logged if e["logger"] == "relayflow.access" and e["request_id"] == rid]
    assert access and access[0]["route"] == "/api/session" and access[0]["status"] == 401
    assert {"time", "level", "logger", "message"} <= set(access[0])


def test_security_events_are_logged(api: Api, json_log: io.StringIO) -> None:
    c = api.client
    assert api.get("clerk1", "/api/users").status_code == 403  # an administrators' route
    c.cookies.set("relayflow_session", "x")
    assert c.post("/api/session", json={"username": "a", "password": "b"},
                  headers={"Origin": "https://evil.example"}).status_code == 403
    c.cookies.clear()
    for _ in range(6):
        last = c.post("/api/session", json={"username": "sam", "password": "nope"})
    assert last.status_code == 429
    events = [e["event"] for e in lines(json_log) if e["logger"] == "relayflow.security"]
    assert {"admin_refused", "origin_refused", "sign_in_failed", "sign_in_throttled"} <= set(events)


# --- 3. metrics -----------------------------------------------------------------------------------

def _metric(body: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_for_local_or_token_holders_and_count_what_happens(any_api: Api, tmp_path: Path) -> None:
    c = any_api.client
    assert c.get("/metrics").status_code == 404  # a remote client (the test client's peer is not loopback)
    local = TestClient(c.app, client=("127.0.0.1", 40000))
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    before = local.get("/metrics").text
    any_api.create()
    run_pass(c.app.state.db, c.app.state.registry)  # type: ignore[attr-defined]
    after = local.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    body = after.text
    route = "/api/flows/{flow}/records"
    assert _metric(body, "relayflow_http_requests_total", route=route, status="201") == \
        _metric(before, "relayflow_http_requests_total", route=route, status="201") + 1
    assert _metric(body, "relayflow_http_request_duration_seconds_count", route=route) >= 1
    assert _metric(body, "relayflow_group_commit_size_count") > _metric(before, "relayflow_group_commit_size_count")
    assert _metric(body, "relayflow_sla_pass_duration_seconds_count") > \
        _metric(before, "relayflow_sla_pass_duration_seconds_count")
    assert "relayflow_outbox_pending " in body and "relayflow_outbox_oldest_pending_age_seconds " in body
    assert "/api/flows/sales_order/records" not in body  # templates, not paths


def test_metrics_token_lets_a_scraper_read_from_anywhere(sqlite_url: str, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    app = create_app(Settings(database_url=sqlite_url, flows_dir=flows, metrics_token="s3cret-scrape"))
    c = TestClient(app)
    assert c.get("/metrics").status_code == 404
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code == 200
    app.state.db.dispose()


# --- 5. trusted proxies, throttles ----------------------------------------------------------------

def _sign_in(c: TestClient, user: str, password: str, **headers: str) -> Any:
    return c.post("/api/session", json={"username": user, "password": password}, headers=headers)


def test_a_client_cannot_escape_the_throttle_with_x_forwarded_for(api: Api) -> None:
    c = api.client
    for i in range(5):
        assert _sign_in(c, "sally", "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 401
    refused = _sign_in(c, "sally", PASSWORD, **{"X-Forwarded-For": "198.51.100.99"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_behind_a_trusted_proxy_the_forwarded_address_counts(sqlite_url: str, reference_flow_text: str,
                                                              tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "sales_order.yaml").write_text(reference_flow_text, encoding="utf-8")
    app = create_app(Settings(database_url=sqlite_url, flows_dir=flows, trusted_proxies="10.0.0.0/8"))
    from engine.people.users import create_user

    create_user(app.state.db, "sally", roles=["sales"], password=PASSWORD)
    proxy = TestClient(app, client=("10.1.2.3", 5000))
    for _ in range(5):
        assert _sign_in(proxy, "sally", "wrong", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 401
    assert _sign_in(proxy, "sally", "wrong", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    # another client behind the same proxy is not throttled for the first one's failures
    assert _sign_in(proxy, "sally", PASSWORD, **{"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    # the proxy's own address with a forged header further left: the right-most untrusted address counts
    assert _sign_in(proxy, "sally", "wrong", **{"X-Forwarded-For": "1.1.1.1, 198.51.100.1"}).status_code == 429
    app.state.db.dispose()


def test_password_spraying_from_one_address_is_throttled(api: Api) -> None:
    c = api.client
    for i in range(30):
        assert _sign_in(c, f"user{i}", "Summer2026!").status_code == 401
    sprayed = _sign_in(c, "user99", "Summer2026!")
    assert sprayed.status_code == 429 and int(sprayed.headers["retry-after"]) > 0
    assert sprayed.headers["content-type"] == "application/problem+json"
    other = TestClient(c.app, client=("192.0.2.50", 1000))
    assert _sign_in(other, "sally", PASSWORD).status_code == 200  # other addresses are not affected


# --- 6. what anonymous callers may read ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/api/flows"])
def test_anonymous_callers_learn_nothing_about_the_flows(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 401 and "sales_order" not in r.text


def test_signed_in_users_see_the_flows_they_have_a_role_in(api: Api) -> None:
    assert [f["name"] for f in api.get("sally", "/api/flows").json()] == ["sales_order"]
    assert api.get("nobody", "/api/flows").json() == []
    mine = api.get("sally", "/openapi.json").json()
    theirs = api.get("nobody", "/openapi.json").json()
    assert "/api/flows/sales_order/records" in mine["paths"]
    assert not any("sales_order" in p for p in theirs["paths"]) and "/api/session" in theirs["paths"]
    assert "swagger" in api.get("sally", "/docs").text.lower()


# --- 8. body rules on every JSON route -----------------------------------------------------------

def _json_routes(app: Any) -> list[tuple[str, str]]:
    fill = {"flow": "sales_order", "flow_name": "sales_order", "record_id": "1", "transition": "submit",
            "username": "sam", "token_id": "1", "revision": "1"}
    found = []
    for route in iter_route_contexts(app.routes):
        if route.path.startswith("/api/") and route.methods:
            for method in set(route.methods) - {"GET", "HEAD"}:
                path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: fill.get(m.group(1), "x"), route.path)
                found.append((method, path))
    return sorted(set(found))


def test_every_json_route_follows_one_body_rule(api: Api) -> None:
    routes = _json_routes(api.app)
    assert len(routes) >= 15 and ("POST", "/api/flows/sales_order/records") in routes
    for method, path in routes:
        if (path.startswith("/api/flows/sales_order/files/") or path == "/api/departments/import"
                or path == "/api/flows/sales_order/imports"):
            continue  # a file upload, a CSV or spreadsheet import: the body is not JSON by design (their own rules)
        def send(content: bytes, ctype: str | None, method: str = method, path: str = path) -> Any:
            headers = api.h("root") | ({"Content-Type": ctype} if ctype else {})
            return api.client.request(method, path, content=content, headers=headers)

        wrong_type = send(b"values=1", "text/plain")
        assert wrong_type.status_code == 415, (method, path, wrong_type.text)
        assert wrong_type.headers["content-type"] == "application/problem+json"
        assert send(b'{"values": 1}', None).status_code == 415, (method, path)
        assert send(b'{"values": {', "application/json").json()["code"] == "malformed_json", (method, path)
        dup = send(b'{"version": 1, "version": 2}', "application/json")
        assert dup.status_code == 400 and dup.json()["code"] == "duplicate_key", (method, path)
        assert send(b'{"x": NaN}', "application/json").status_code == 400, (method, path)
        misfit = send(b'[1, 2]', "application/json")
        assert misfit.status_code not in (400, 415, 500), (method, path, misfit.status_code, misfit.text)


def test_duplicate_keys_and_misfits_on_the_record_routes(any_api: Api) -> None:
    url = "/api/flows/sales_order/records"
    dup = any_api.client.post(url, content=b'{"values": {"quantity": 1, "quantity": 5}}',
                              headers=any_api.h("sally", **{"Content-Type": "application/json"}))
    assert dup.status_code == 400 and dup.json()["code"] == "duplicate_key"
    assert any_api.post("sally", url, [1]).status_code == 422
    assert any_api.post("sally", url, {"values": ORDER, "extra": 1}).status_code == 422
    assert any_api.create()["state"]  # a good body still works


# --- 9. the published contract and OPTIONS -------------------------------------------------------

def test_openapi_says_edits_need_a_version_and_creates_their_required_fields(api: Api) -> None:
    doc = api.get("root", "/openapi.json").json()
    edit = doc["paths"]["/api/flows/sales_order/records/{record_id}"]["patch"]
    assert "428" in edit["responses"] and "428" in edit["description"]
    create = doc["paths"]["/api/flows/sales_order/records"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    values_ref = doc["components"]["schemas"][ref]["properties"]["values"]["$ref"].rsplit("/", 1)[1]
    required = set(doc["components"]["schemas"][values_ref]["required"])
    flow = api.app.state.registry.get("sales_order").flow
    assert required == {n for n, f in flow.fields.items() if f.required and f.default is None and n not in flow.compute}
    missing = api.post("sally", "/api/flows/sales_order/records", {"values": {}})
    assert missing.status_code == 422


def test_options_lists_every_method_of_the_path(api: Api) -> None:
    r = api.client.options("/api/flows/sales_order/records")
    assert r.status_code == 204
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    one = set(api.client.options("/api/flows/sales_order/records/1").headers["allow"].split(", "))
    assert one == {"GET", "PATCH", "OPTIONS"}
    assert api.client.options("/no/such/path").status_code in (404, 405)
