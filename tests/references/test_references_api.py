"""References over HTTP, on SQLite and PostgreSQL: the picker's search endpoint, one answer for a target
one may not pick, and a record's answer with its references' titles and live lookups."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.references.conftest import FLOWS


class Http:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def __call__(self, method: str, url: str, user: str, **kw: Any) -> Any:
        return self.client.request(method, url, headers={"Authorization": f"Bearer {self.tokens[user]}"}, **kw)


@pytest.fixture
def http(database_url: str, tmp_path: Path) -> Iterator[Http]:
    from api.app import create_app
    from engine.people.tokens import create_token
    from engine.people.users import create_user
    from engine.settings import Settings

    for path in FLOWS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    app = create_app(Settings(database_url=database_url, flows_dir=tmp_path))
    tokens = {}
    for name, roles in {"sally": ["sales"], "alex": ["agent"], "root": []}.items():
        uid = create_user(app.state.db, name, display_name=name.title(), roles=roles, is_admin=name == "root")
        tokens[name] = create_token(app.state.db, uid, "tests").secret
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Http(client, tokens)
    app.state.db.dispose()


def _customer(http: Http, name: str, city: str = "Shanghai") -> dict[str, Any]:
    res = http("POST", "/api/flows/customer/records", "sally", json={"values": {"name": name, "city": city}})
    assert res.status_code == 201, res.text
    return res.json()  # type: ignore[no-any-return]


def test_search_offers_only_what_the_reader_may_pick(http: Http) -> None:
    acme = _customer(http, "ACME Trading")
    steel = _customer(http, "Acme Steel")
    res = http("POST", f"/api/flows/customer/records/{steel['id']}/transitions/retire", "sally",
               json={"version": steel["version"], "comment": "closed"})
    assert res.status_code == 200, res.text
    url = "/api/flows/sales_order/fields/customer/options"
    res = http("GET", url, "sally", params={"q": "acm"})
    assert res.status_code == 200
    assert res.json() == {"items": [{"id": acme["id"], "title": "ACME Trading", "flow": "customer"}]}
    assert http("GET", url, "alex", params={"q": "acm"}).json() == {"items": []}
    assert http("GET", "/api/flows/sales_order/fields/order_no/options", "sally").status_code == 422
    assert http("GET", "/api/flows/nope/fields/customer/options", "sally").status_code == 404
    assert http("GET", url, "sally", params={"q": "x" * 101}).status_code == 422


def test_a_hidden_or_retired_customer_is_refused_like_a_missing_one(http: Http) -> None:
    acme = _customer(http, "ACME Trading")
    gone = _customer(http, "Gone Ltd")
    http("POST", f"/api/flows/customer/records/{gone['id']}/transitions/retire", "sally",
         json={"version": gone["version"], "comment": "closed"})
    answers = []
    for user, cid in (("sally", 987654), ("sally", gone["id"]), ("alex", acme["id"])):
        res = http("POST", "/api/flows/sales_order/records", user,
                   json={"values": {"order_no": "SO-000001", "customer": cid}})
        answers.append((res.status_code, res.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 422
    assert "customer" in str(answers[0][1])


def test_a_record_answer_carries_titles_and_live_lookups(http: Http) -> None:
    acme = _customer(http, "ACME Trading", city="Shanghai")
    res = http("POST", "/api/flows/sales_order/records", "sally",
               json={"values": {"order_no": "SO-000001", "customer": acme["id"]}})
    order = res.json()
    assert order["values"]["customer"] == acme["id"]
    got = http("GET", f"/api/flows/sales_order/records/{order['id']}", "sally").json()
    assert got["references"] == {"customer": {"flow": "customer", "id": acme["id"], "title": "ACME Trading"}}
    assert got["lookups"] == {"customer_city": "Shanghai"}
    res = http("PATCH", f"/api/flows/customer/records/{acme['id']}", "sally",
               json={"version": acme["version"], "values": {"city": "Suzhou"}})
    assert res.status_code == 200, res.text
    got = http("GET", f"/api/flows/sales_order/records/{order['id']}", "sally").json()
    assert got["lookups"] == {"customer_city": "Suzhou"}
    assert "customer_city" not in got["values"]


def test_the_admin_api_checks_references_against_the_live_flows(http: Http) -> None:
    text = (FLOWS / "sales_order.yaml").read_text(encoding="utf-8").replace("fetch: customer.credit_limit",
                                                                            "fetch: customer.credit")
    res = http("POST", "/api/admin/flows/validate", "root", json={"yaml": text})
    assert res.status_code == 200
    body = res.json()
    assert body["ok"] is False
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "customer.credit" in s)
    assert [(p["line"], p["message"]) for p in body["problems"]] == [
        (line, "fetch reads unknown field 'credit' of flow 'customer' — did you mean 'credit_limit'?")]
