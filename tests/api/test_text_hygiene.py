"""NUL bytes, other control characters and lone surrogates are refused with a clear 422 where people type
free text (a comment, a display name, a token name, a field value), never stored or answered with a 500."""
from __future__ import annotations

import pytest

from tests.api.conftest import ORDER, Api

URL = "/api/flows/sales_order/records"


@pytest.fixture(params=["sqlite", "postgres"])
def either(request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue("api" if request.param == "sqlite" else "api_pg")  # type: ignore[no-any-return]


def test_a_comment_with_a_nul_byte_is_refused(either: Api) -> None:
    rec = either.create()
    r = either.post("sally", f"{URL}/{rec['id']}/transitions/submit", {"version": 1, "comment": "ok\x00then"})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["comment"]
    assert "U+0000" in r.json()["errors"][0]["detail"]
    assert either.get("sally", f"{URL}/{rec['id']}").json()["version"] == 1  # nothing written
    moved = either.post("sally", f"{URL}/{rec['id']}/transitions/submit", {"version": 1, "comment": "ok\n\tthen"})
    assert moved.status_code == 200, moved.text  # line breaks and tabs are fine in a comment


def test_names_with_control_characters_are_refused(either: Api) -> None:
    r = either.patch("root", "/api/users/sally", {"display_name": "Sally\x00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "display_name"
    r = either.post("sally", "/api/tokens", {"name": "ci\x07bot"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"


def test_a_lone_surrogate_in_a_value_is_refused(either: Api) -> None:
    raw = ('{"values": {"customer": "ACME \\ud800", "product_model": "X-100", "quantity": 10, '
           '"unit_price": "1250.50", "delivery_date": "2026-12-20"}}')
    r = either.client.post(URL, content=raw, headers={**either.h("sally"), "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert either.get("sally", URL).json()["items"] == []
    assert either.post("sally", URL, {"values": ORDER}).status_code == 201

