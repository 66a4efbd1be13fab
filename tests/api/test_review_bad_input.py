"""Bad input to the API ends in a problem+json 4xx, never a 500."""
from __future__ import annotations

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize("param", ["limit", "assignee", "created_by"])
def test_non_decimal_digits_in_list_params_are_invalid(api: Api, param: str) -> None:
    r = api.get("sally", f"/api/flows/sales_order/records?{param}=²")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_flow_admin_problems_have_the_common_shape(api: Api) -> None:
    r = api.post("root", "/api/admin/flows/plan", {"yaml": "name: [unclosed"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_flow_file" and body["problems"]
    assert body["type"] == "urn:relayflow:problem:invalid_flow_file" and body["instance"] == "/api/admin/flows/plan"
    naive = api.get("root", "/api/admin/flows/sales_order/simulate?start=2026-01-01T00:00&path=submit")
    assert naive.status_code == 422 and naive.json()["code"] == "naive_start"
    assert naive.headers["content-type"].startswith("application/problem+json")
