"""Errors are problem+json with the right status; bad input never gives a 500."""
from __future__ import annotations

import json

import pytest

from tests.api.conftest import ORDER, Api

URL = "/api/flows/sales_order/records"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def problem(r, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status and body["type"].startswith("urn:relayflow:problem:")
    if code:
        assert body["code"] == code
    return body  # type: ignore[no-any-return]


def test_field_level_validation_errors(api: Api) -> None:
    r = api.post("sally", URL, {"values": {**ORDER, "quantity": 0, "unit_price": "1.234", "delivery_date": "soon",
                                           "customer": ""}})
    body = problem(r, 422, "validation_failed")
    by_field = {e["field"]: e for e in body["errors"]}
    assert set(by_field) == {"quantity", "unit_price", "delivery_date", "customer"}
    assert by_field["quantity"]["pointer"] == "/values/quantity"
    assert "at least 1" in by_field["quantity"]["detail"]
    problem(api.post("sally", URL, {"values": {**ORDER, "nonsense": 1}}), 422, "validation_failed")


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b"", b"1" * 5000, b'{"values": NaN}',
                                 b"[" * 100_000 + b"]" * 100_000, b'{"values": {"quantity": 1e400}}'],
                         ids=["open", "array", "string", "empty", "huge-int", "nan", "deep", "1e400"])
def test_malformed_bodies_are_400_or_422(api: Api, raw: bytes) -> None:
    r = api.client.post(URL, content=raw, headers={**api.h("sally"), "content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("values", [
    {"quantity": 10**40}, {"quantity": "ten"}, {"quantity": True}, {"quantity": [1]}, {"quantity": {"a": 1}},
    {"unit_price": "1e999999"}, {"unit_price": 1e308}, {"delivery_date": 20261220}, {"sales_rep": 2**70},
    {"sales_rep": -1}, {"priority": "whatever"}, {"customer": "x" * 10_000}, {"customer": "a\u0000b"},
])
def test_wrong_types_and_huge_numbers_are_422(api: Api, values: dict) -> None:  # type: ignore[type-arg]
    problem(api.post("sally", URL, {"values": {**ORDER, **values}}), 422)


def test_wrong_envelope_members_are_422(api: Api) -> None:
    rec = api.create()
    url = f"{URL}/{rec['id']}"
    problem(api.post("sally", URL, {"value": {}}), 422)
    problem(api.post("sally", URL, {"values": []}), 422)
    problem(api.patch("sally", url, {"version": "1", "values": {}}), 422)
    problem(api.patch("sally", url, {"version": 1.5, "values": {}}), 422)
    problem(api.patch("sally", url, {"version": True, "values": {}}), 422)
    problem(api.patch("sally", url, {"version": 2**70, "values": {}}), 422)
    problem(api.patch("sally", url, {"values": {"customer": "B"}}), 428, "version_required")
    problem(api.client.post(URL, content=b"values=1", headers={**api.h("sally"), "content-type": "text/plain"}), 415)


def test_unknown_and_invisible_are_404_visible_but_not_allowed_is_403(api: Api) -> None:
    rec = api.create()
    problem(api.get("sally", "/api/flows/no_such_flow/records/1"), 404, "not_found")
    problem(api.post("sally", "/api/flows/no_such_flow/records", {"values": {}}), 404)
    problem(api.get("sally", f"{URL}/999999"), 404)
    problem(api.get("sally", f"{URL}/{2**63 - 1}"), 404)
    problem(api.get("sally", f"{URL}/{2**64}"), 422)
    problem(api.get("sally", f"{URL}/abc"), 422)
    problem(api.get("paul", f"{URL}/{rec['id']}"), 404)  # production may not see a draft
    problem(api.post("paul", f"{URL}/{rec['id']}/transitions/submit", {}), 404)
    problem(api.post("mia", f"{URL}/{rec['id']}/transitions/submit", {"version": 1}), 403, "forbidden")
    problem(api.post("sally", f"{URL}/{rec['id']}/transitions/nope", {}), 404, "unknown_transition")
    problem(api.post("sally", URL + "", {"values": ORDER}, headers={"Authorization": "Bearer rf_wrong"}), 401)
    problem(api.post("paul", URL, {"values": ORDER}), 403)  # production may not create
    problem(api.client.get(f"{URL}/{rec['id']}"), 401, "unauthenticated")
    problem(api.client.get("/api/nothing-here"), 404)
    problem(api.client.put(URL, headers=api.h("sally")), 405)


def test_stale_version_is_409_with_the_current_version(api: Api) -> None:
    rec = api.create()
    url = f"{URL}/{rec['id']}"
    newer = api.edit("sally", rec, customer="ACME Two")
    body = problem(api.patch("sally", url, {"version": rec["version"], "values": {"customer": "Late"}}), 409,
                   "stale_version")
    assert body["current_version"] == newer["version"] == 2
    r = api.post("sally", f"{url}/transitions/submit", {"version": 1})
    assert problem(r, 409, "stale_version")["current_version"] == 2
    assert r.headers["etag"] == '"2"'
    # If-Match works the same way, and must agree with a body version
    r = api.patch("sally", url, {"values": {"customer": "Via ETag"}}, headers={"If-Match": '"1"'})
    problem(r, 409, "stale_version")
    r = api.get("sally", url)
    ok = api.patch("sally", url, {"values": {"customer": "Via ETag"}}, headers={"If-Match": r.headers["etag"]})
    assert ok.status_code == 200 and ok.json()["version"] == 3
    problem(api.patch("sally", url, {"version": 3, "values": {}}, headers={"If-Match": '"2"'}), 422)
    problem(api.patch("sally", url, {"values": {}}, headers={"If-Match": "garbage"}), 400)


def test_transition_refusals_carry_reasons(api: Api) -> None:
    rec = api.create(values={k: v for k, v in ORDER.items() if k != "unit_price"})
    url = f"{URL}/{rec['id']}"
    body = problem(api.post("sally", f"{url}/transitions/submit", {"version": 1}), 422, "missing_required")
    assert [e["field"] for e in body["errors"]] == ["unit_price"]
    body = problem(api.post("sally", f"{url}/transitions/cancel", {"version": 1}), 422, "comment_required")
    problem(api.post("sally", f"{url}/transitions/approve", {"version": 1}), 403)  # sales may never approve
    listed = api.get("sally", f"{url}/transitions").json()["transitions"]
    submit = next(t for t in listed if t["name"] == "submit")
    assert submit["visible"] and not submit["allowed"] and submit["reasons"]
    rec = api.edit("sally", rec, unit_price="100")
    rec = api.move("sally", rec, "submit")
    body = problem(api.post("mia", f"{url}/transitions/approve_large", {"version": rec["version"]}), 409,
                   "condition_failed")
    assert "金额(元)" in body["detail"] and "amount >= 100000" not in body["detail"]  # titles, not the expression
    mia = {t["name"]: t for t in api.get("mia", f"{url}/transitions").json()["transitions"]}
    assert not mia["approve"]["visible"] and mia["approve_large"]["visible"] and not mia["approve_large"]["allowed"]


def test_list_parameters_are_checked(api: Api) -> None:
    api.create()
    for params in ({"sort": "password"}, {"sort": "-special_requirements"}, {"limit": 0}, {"limit": 201},
                   {"limit": "x"}, {"after": "garbage"}, {"state": "nowhere"}, {"contact_phone": "1"},
                   {"quantity.gte": 1}, {"customer.gte": "a"}, {"delivery_date": "not a date"},
                   {"customer.like": "x"}, {"q": "x" * 101}, {"assignee": "me"}):
        problem(api.get("sally", URL, params=params), 422)
    ok = api.get("sally", URL, params={"customer": "ACME 有限公司", "delivery_date.gte": "2026-01-01",
                                       "q": "100%_' OR 1=1 --", "state": ["draft", "review"]})
    assert ok.status_code == 200 and ok.json()["items"] == []
    found = api.get("sally", URL, params={"q": "acme", "sort": "-delivery_date"}).json()
    assert len(found["items"]) == 1


def test_problem_json_is_json(api: Api) -> None:
    r = api.client.post(URL, content=b"\xff\xfe", headers={**api.h("sally"), "content-type": "application/json"})
    assert r.status_code == 400
    json.loads(r.content)
