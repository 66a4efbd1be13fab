"""Per-flow typed models in /openapi.json, the JSON Schema endpoint, regeneration on reload."""
from __future__ import annotations

import jsonschema

from engine.language.loader import load_flow_text
from engine.storage.registry import install_flow
from tests.api.conftest import Api


def _resolve(doc: dict, ref: str) -> dict:  # type: ignore[type-arg]
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def test_the_reference_flow_is_typed_in_openapi(api: Api) -> None:
    doc = api.get("root", "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    create = schemas["SalesOrderCreateValues"]
    props = create["properties"]
    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"customer", "product_model", "quantity", "delivery_date"}
    assert props["customer"]["title"] == "客户名称" and props["customer"]["maxLength"] == 100
    assert props["quantity"]["type"] == "integer" and props["quantity"]["minimum"] == 1
    priority = props["priority"]["anyOf"][0]
    assert [c["const"] for c in priority["oneOf"]] == ["normal", "urgent"]
    assert priority["oneOf"][1]["title"] == "加急"
    assert props["delivery_date"]["format"] == "date"
    assert "amount" not in props  # computed: never sent
    values = schemas["SalesOrderValues"]["properties"]
    assert values["amount"]["readOnly"] is True
    record = schemas["SalesOrderRecord"]
    assert record["properties"]["state"]["enum"][:2] == ["draft", "review"]
    op = doc["paths"]["/api/flows/sales_order/records/{record_id}/transitions/{transition}"]["post"]
    transition = next(p for p in op["parameters"] if p["name"] == "transition")
    assert "approve_large" in transition["schema"]["enum"]
    assert "amount >= 100000" in op["description"]
    listing = doc["paths"]["/api/flows/sales_order/records"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"customer", "delivery_date.gte", "delivery_date.lte", "state", "sort", "limit", "after"} <= names
    assert "contact_phone" not in names  # not indexed: not a filter
    assert {"apiToken", "sessionCookie"} <= set(doc["components"]["securitySchemes"])
    for status in ("404", "409", "422"):
        assert "application/problem+json" in op["responses"][status]["content"]


def test_the_record_schema_endpoint_validates_records(api: Api) -> None:
    schema = api.get("sally", "/api/flows/sales_order/schema").json()
    rec = api.create()
    jsonschema.validate(rec, schema)
    assert schema["properties"]["values"]["$ref"].endswith("SalesOrderValues")
    spec = api.get("sally", "/api/flows/sales_order").json()
    assert spec["can_create"] and spec["visibility"] == "roles" and spec["spec"]["flow"] == "sales_order"
    assert api.get("paul", "/api/flows/sales_order").json()["can_create"] is False
    assert api.client.get("/api/flows/sales_order").status_code == 401


def test_openapi_follows_a_reload(api: Api, reference_flow_text: str) -> None:
    before = api.get("root", "/openapi.json").json()
    assert "gift_wrap" not in before["components"]["schemas"]["SalesOrderValues"]["properties"]
    changed = reference_flow_text.replace(
        "  paid_amount:", "  gift_wrap:     {type: boolean, title: 礼品包装}\n  paid_amount:", 1)
    db, registry = api.app.state.db, api.app.state.registry  # type: ignore[attr-defined]
    registry.put(install_flow(db, load_flow_text(changed)))
    after = api.get("root", "/openapi.json").json()
    assert after["components"]["schemas"]["SalesOrderValues"]["properties"]["gift_wrap"]["title"] == "礼品包装"
    flows = {f["name"]: f for f in api.get("root", "/api/flows").json()}
    assert flows["sales_order"]["revision"] == 2
    rec = api.create()
    assert "gift_wrap" in rec["values"]
