"""The data-table API on SQLite and PostgreSQL: a view's page with sums and cursor, saved views, bulk actions
(per-record results, idempotent), and malformed input answered with a clear 4xx, never a 500."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.datatable.conftest import FLOWS


class Http:
    def __init__(self, client: TestClient, tokens: dict[str, str], ids: dict[str, int]) -> None:
        self.client, self.tokens, self.ids = client, tokens, ids

    def __call__(self, method: str, url: str, user: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)


@pytest.fixture
def http(database_url: str, tmp_path: Path) -> Iterator[Http]:
    from api.app import create_app
    from engine.people.tokens import create_token
    from engine.people.users import create_user
    from engine.settings import Settings

    for path in FLOWS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    app = create_app(Settings(database_url=database_url, flows_dir=tmp_path, list_scan_limit=5))
    tokens, ids = {}, {}
    for name, roles in {"sally": ["sales"], "clara": ["clerk"], "max": ["manager"], "otto": ["outsider"]}.items():
        uid = create_user(app.state.db, name, display_name=name.title(), roles=roles)
        ids[name] = uid
        tokens[name] = create_token(app.state.db, uid, "tests").secret
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Http(client, tokens, ids)
    app.state.db.dispose()


def _orders(http: Http, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        res = http("POST", "/api/flows/purchase/records", "sally", json={"values": {
            "order_no": f"PO-{i:03d}", "region": "north" if i % 2 else "south", "amount": f"{i}.50", "qty": i}})
        assert res.status_code == 201, res.text
        out.append(res.json())
    return out


VIEW = {"columns": ["order_no", "region", "amount", "@state"], "filters": [{"field": "region", "op": "in", "value": ["north"]}],
        "sort": "amount"}


def test_a_page_with_sums_and_cursor_and_labels_in_the_callers_language(http: Http) -> None:
    _orders(http, 9)
    res = http("POST", "/api/flows/purchase/table?lang=zh-CN", "sally", json={"view": VIEW, "limit": 2, "sums": True})
    assert res.status_code == 200, res.text
    body = res.json()
    assert [c["key"] for c in body["columns"]] == VIEW["columns"]
    assert body["columns"][1]["title"] == "区域"
    assert [i["cells"]["order_no"]["value"] for i in body["items"]] == ["PO-001", "PO-003"]
    assert body["items"][0]["cells"]["region"] == {"value": "north", "label": "北方"}
    assert body["sums"] == {"amount": "18.00"} and body["count"] == 4  # 1.5 + 3.5 + 5.5 + 7.5
    res = http("POST", "/api/flows/purchase/table", "sally", json={"view": VIEW, "limit": 2, "after": body["next"]})
    assert [i["cells"]["order_no"]["value"] for i in res.json()["items"]] == ["PO-005", "PO-007"]
    assert res.json()["next"] is None


def test_saved_views_over_http_and_a_saved_views_page(http: Http) -> None:
    _orders(http, 3)
    res = http("POST", "/api/flows/purchase/views", "sally", json={"name": "北方订单", "view": VIEW, "default": True})
    assert res.status_code == 201, res.text
    vid = res.json()["id"]
    assert http("GET", "/api/flows/purchase/views/default", "sally").json()["id"] == vid
    page = http("GET", f"/api/flows/purchase/table?view_id={vid}&sums=true", "sally").json()
    assert [i["cells"]["order_no"]["value"] for i in page["items"]] == ["PO-001"] and page["sums"] == {"amount": "1.50"}
    res = http("PATCH", f"/api/flows/purchase/views/{vid}", "sally", json={"name": "North"})
    assert res.json()["name"] == "North"
    assert http("GET", f"/api/flows/purchase/views/{vid}", "clara").status_code == 404  # personal
    res = http("POST", "/api/flows/purchase/views", "sally", json={"name": "x", "view": VIEW, "shared_role": "sales"})
    assert res.status_code == 403
    res = http("POST", "/api/flows/purchase/views", "max", json={"name": "For clerks", "view": VIEW, "shared_role": "clerk"})
    assert res.status_code == 201
    assert [v["name"] for v in http("GET", "/api/flows/purchase/views", "clara").json()["items"]] == ["For clerks"]
    assert http("DELETE", f"/api/flows/purchase/views/{vid}", "sally").status_code == 204
    assert http("GET", "/api/flows/purchase/views/default", "sally").json() is None


@pytest.mark.parametrize("body", [
    {"view": {"columns": ["order_no"], "filters": [{"field": "amount", "op": "gt", "value": "lots"}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "amount", "op": "gt"}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "amount", "op": "between", "value": [1]}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "amount", "op": "gt", "value": {"x": 1}}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "due", "op": "lt", "value": "yesterday"}]}},
    {"view": {"columns": ["order_no"], "filters": {"field": "amount"}}},
    {"view": {"columns": "order_no"}},
    {"view": {"columns": ["order_no"], "sort": 3}},
    {"view": {"columns": ["order_no"], "colour": "red"}},
    {"view": {"columns": ["order_no"]}, "after": "not-a-cursor"},
    {"view": {"columns": ["order_no"]}, "after": 7},
    {"view": {"columns": ["order_no"]}, "limit": 100000},
    {"view": {"columns": ["order_no"]}, "limit": "many"},
    {"view": {"columns": ["order_no"], "filters": [{"field": "@state", "op": "in", "value": [{"a": 1}]}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "@late", "op": "is", "value": {"a": 1}}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "region", "op": "in", "value": [["north"]]}]}},
    {"view": {"columns": ["order_no"], "filters": [{"field": "order_no", "op": "contains", "value": 5}]}},
    {"view": None},
    {"nothing": 1},
])
def test_malformed_input_gets_a_clear_4xx(http: Http, body: dict[str, Any]) -> None:
    _orders(http, 1)
    res = http("POST", "/api/flows/purchase/table", "sally", json=body)
    assert res.status_code in (400, 422), res.text
    assert res.json()["detail"] and "Traceback" not in res.text


def test_malformed_bodies_of_views_and_bulk(http: Http) -> None:
    res = http("POST", "/api/flows/purchase/table", "sally", content=b"{not json", headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    assert http("POST", "/api/flows/purchase/views", "sally", json={"name": "", "view": VIEW}).status_code == 422
    assert http("POST", "/api/flows/purchase/views", "sally", json=[1]).status_code == 422
    assert http("PATCH", "/api/flows/purchase/views/999", "sally", json={"name": "x"}).status_code == 404
    assert http("GET", "/api/flows/purchase/table?view_id=abc", "sally").status_code == 422
    for bad in ({"action": "transition", "ids": []}, {"action": "transition", "ids": ["1"], "transition": "submit"},
                {"action": "explode", "ids": [1]}, {"action": "assign", "ids": [1], "to_user": "bob"},
                {"action": "transition", "ids": [1]}, {"action": "transition", "ids": [1] * 0 + list(range(1, 600)),
                                                        "transition": "submit"}):
        res = http("POST", "/api/flows/purchase/bulk", "sally", json=bad)
        assert res.status_code == 422, (bad, res.text)


def test_an_unindexed_filter_above_the_limit_is_refused_with_a_clear_message(http: Http) -> None:
    _orders(http, 8)  # the app's scan limit is 5
    view = {"columns": ["order_no"], "filters": [{"field": "note", "op": "contains", "value": "x"}]}
    res = http("POST", "/api/flows/purchase/table?lang=en", "sally", json={"view": view})
    assert res.status_code == 422
    assert res.json()["code"] == "view_needs_index"
    assert "Note" in res.text and "index" in res.text
    view["filters"].append({"field": "amount", "op": "lt", "value": "3"})  # indexed: narrows to 3 records
    res = http("POST", "/api/flows/purchase/table", "sally", json={"view": view})
    assert res.status_code == 200 and res.json()["notes"] and "not indexed" in res.json()["notes"][0]


def test_bulk_transition_per_record_results_and_idempotent_replay(http: Http) -> None:
    orders = _orders(http, 3)
    bad = http("POST", "/api/flows/purchase/records", "sally", json={"values": {"order_no": "NO-AMOUNT"}}).json()
    ids = [o["id"] for o in orders] + [bad["id"], 987654]
    key = {"Idempotency-Key": "bulk-1"}
    body = {"action": "transition", "transition": "submit", "ids": ids}
    res = http("POST", "/api/flows/purchase/bulk?lang=en", "sally", json=body, headers=key)
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["done"] == 3 and out["refused"] == 2
    results = {r["id"]: r for r in out["results"]}
    assert results[orders[0]["id"]]["outcome"] == "moved" and results[orders[0]["id"]]["state"] == "review"
    assert results[bad["id"]]["code"] == "missing_required" and "Amount" in results[bad["id"]]["reason"]
    assert results[987654]["code"] == "not_found"
    again = http("POST", "/api/flows/purchase/bulk", "sally", json=body, headers=key)
    assert again.json() == out and again.headers.get("Idempotent-Replayed") == "true"
    # without the key a repeat runs again: now every record is refused (no longer in draft)
    rerun = http("POST", "/api/flows/purchase/bulk", "sally", json=body).json()
    assert rerun["done"] == 0
    # hand-over: a manager gives the reviewed records to a clerk
    res = http("POST", "/api/flows/purchase/bulk", "max", json={"action": "assign", "ids": ids[:2], "to_user": http.ids["clara"]})
    assert [r["outcome"] for r in res.json()["results"]] == ["assigned", "assigned"]
    # the outsider sees none of them: every one "not found", nothing changed
    res = http("POST", "/api/flows/purchase/bulk", "otto", json={"action": "transition", "transition": "approve", "ids": ids[:2]})
    assert {r["code"] for r in res.json()["results"]} <= {"not_found", "forbidden"} and res.json()["done"] == 0
