"""Line items over the REST API (through the group commit), on SQLite and PostgreSQL: an array of typed
row objects in and out, located 422s that lose nothing, the per-flow JSON Schema."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, make_api
from tests.tables.flows import ORDER
from tests.tables.helpers import LINES

URL = "/api/flows/sales_order/records"


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    client, a = make_api(database_url, ORDER, tmp_path / "flows")
    with client:
        yield a
    client.app.state.db.dispose()  # type: ignore[attr-defined]


def _create(api: Api) -> dict[str, Any]:
    r = api.post("sally", URL, {"values": {"order_no": "SO-1", "lines": LINES}})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_rows_go_in_and_come_out_as_typed_objects(api: Api) -> None:
    rec = _create(api)
    assert rec["values"]["lines"][0] == {"product": "P-100", "quantity": 2, "unit_price": "10.50", "amount": "21.00"}
    assert rec["values"]["total"] == "24.30" and rec["values"]["line_count"] == 3
    got = api.get("sally", f"{URL}/{rec['id']}").json()
    assert got["values"]["lines"] == rec["values"]["lines"]
    r = api.patch("sally", f"{URL}/{rec['id']}", {"version": 1, "values": {"lines": LINES[:1]}})
    assert r.status_code == 200, r.text
    assert r.json()["values"]["total"] == "21.00" and len(r.json()["values"]["lines"]) == 1
    moved = api.move("sally", r.json(), "submit")
    assert moved["values"]["lines"] == r.json()["values"]["lines"]
    history = api.get("sally", f"{URL}/{rec['id']}/history").json()
    edit = [h for h in history if h["action"] == "edit"][0]
    assert len(edit["changes"]["lines"][0]) == 3 and len(edit["changes"]["lines"][1]) == 1


@pytest.mark.parametrize(("lines", "pointer", "detail"), [
    ({"product": "P-1"}, "/values/lines", "must be a list of rows"),
    ([LINES[0], 7], "/values/lines/1", "each row must be an object of field values"),
    ([dict(LINES[0], colour="red")], "/values/lines/0/colour", "unknown field 'colour' in a row"),
    ([LINES[0], LINES[1], dict(LINES[2], quantity="3.5")], "/values/lines/2/quantity", "must be a whole number"),
    ([], "/values/lines", "needs at least 1 rows"),
])
def test_malformed_rows_answer_a_located_422_and_lose_nothing(api: Api, lines: Any, pointer: str, detail: str) -> None:
    rec = _create(api)
    r = api.patch("sally", f"{URL}/{rec['id']}", {"version": 1, "values": {"lines": lines}})
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert errors[0]["pointer"] == pointer and detail in errors[0]["detail"]
    got = api.get("sally", f"{URL}/{rec['id']}").json()
    assert got["version"] == 1 and got["values"]["lines"] == rec["values"]["lines"]


def test_a_clerk_cannot_change_rows_in_review(api: Api) -> None:
    rec = api.move("sally", _create(api), "submit")
    r = api.patch("clerk1", f"{URL}/{rec['id']}", {"version": rec["version"], "values": {"lines": LINES[:1]}})
    assert r.status_code in (403, 409, 422) and r.json()["code"] in ("read_only_field", "forbidden")
    assert len(api.get("sally", f"{URL}/{rec['id']}").json()["values"]["lines"]) == 3


def test_the_flow_schema_describes_rows(api: Api) -> None:
    from api.models import build_models

    flow = api.app.state.registry.get("sales_order").flow  # type: ignore[attr-defined]
    schema = build_models(flow).create_values.model_json_schema()
    lines = schema["properties"]["lines"]
    array = next(s for s in lines.get("anyOf", [lines]) if s.get("type") == "array")
    row = array["items"]
    assert row["additionalProperties"] is False and set(row["required"]) == {"product", "quantity", "unit_price"}
    assert row["properties"]["amount"]["readOnly"] is True and array["maxItems"] == 5 and array["minItems"] == 1
