"""Shipping through the API and the pages: one collection task also under a retried request, the refusal
of a failing effect as a problem, and the history of both records on their pages."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings
from tests.effects.conftest import copy_flows
from tests.flow_desk import app_without_worker
from tests.ui.live import PASSWORD, sign_in


class Shop:
    def __init__(self, url: str, tmp: Path) -> None:
        self.app = app_without_worker(Settings(database_url=url, flows_dir=copy_flows(tmp)))
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.tokens = {}
        for name, roles in (("sales", ["sales"]), ("wh", ["warehouse"]), ("fin", ["finance"])):
            uid = create_user(self.app.state.db, name, display_name=name.title(), password=PASSWORD, roles=roles)
            self.tokens[name] = create_token(self.app.state.db, uid, "t").secret

    def call(self, method: str, user: str, url: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)

    def count(self, flow: str) -> int:
        with self.app.state.db.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM flow_{flow}").scalar() or 0)

    def ready_to_ship(self, total: str | None = "1800.50") -> dict[str, Any]:
        cust = self.call("POST", "sales", "/api/flows/customer/records", json={"values": {"name": "宁波华东机电"}}).json()
        rec = self.call("POST", "sales", "/api/flows/sales_order/records",
                        json={"values": {"order_no": "SO-000007", "customer": cust["id"], "total": total}}).json()
        base = f"/api/flows/sales_order/records/{rec['id']}"
        rec = self.call("POST", "sales", f"{base}/transitions/submit", json={"version": rec["version"]}).json()
        rec = self.call("PATCH", "wh", base, json={"version": rec["version"], "values": {"carrier": "顺丰"}}).json()
        assert rec["state"] == "shipping", rec
        return rec


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[Shop]:
    s = Shop(database_url, tmp_path)
    with s.client:
        yield s
    s.app.state.db.dispose()


def test_a_retried_ship_creates_exactly_one_collection_task(shop: Shop) -> None:
    rec = shop.ready_to_ship()
    url = f"/api/flows/sales_order/records/{rec['id']}/transitions/ship"
    first = shop.call("POST", "wh", url, json={"version": rec["version"]}, headers={"Idempotency-Key": "ship-7"})
    again = shop.call("POST", "wh", url, json={"version": rec["version"]}, headers={"Idempotency-Key": "ship-7"})
    assert first.status_code == 200, first.text
    assert again.status_code == 200 and again.json() == first.json()  # the same answer, replayed
    assert first.json()["state"] == "shipped" and first.json()["values"]["shipped_at"]
    assert shop.count("collection_task") == 1
    tasks = shop.call("GET", "fin", "/api/flows/collection_task/records").json()
    items = tasks["items"] if isinstance(tasks, dict) else tasks
    assert len(items) == 1 and items[0]["values"]["amount_due"] == "1800.50"
    assert items[0]["values"]["order"] == rec["id"]
    # without the key, a second ship is a different request: refused by the state, still one task
    late = shop.call("POST", "wh", url, json={"version": first.json()["version"]})
    assert late.status_code == 409 and shop.count("collection_task") == 1


def test_a_failing_effect_is_a_clear_refusal_and_nothing_is_written(shop: Shop) -> None:
    rec = shop.ready_to_ship(total=None)
    url = f"/api/flows/sales_order/records/{rec['id']}/transitions/ship"
    for lang, words in (("zh-CN", "回款任务"), ("en", "Collection task")):
        r = shop.call("POST", "wh", url + f"?lang={lang}", json={"version": rec["version"]})
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "effect_failed" and words in body["detail"], body
        assert "amount_due" not in body["detail"]
    after = shop.call("GET", "wh", f"/api/flows/sales_order/records/{rec['id']}").json()
    assert (after["state"], after["version"]) == ("shipping", rec["version"])
    assert shop.count("collection_task") == 0


def test_both_records_pages_show_the_effect(shop: Shop) -> None:
    rec = shop.ready_to_ship()
    shop.call("POST", "wh", f"/api/flows/sales_order/records/{rec['id']}/transitions/ship", json={"version": rec["version"]})
    client, _ = sign_in(shop.app, "wh", lang="zh-CN")
    page = client.get(f"/records/sales_order/{rec['id']}").text
    assert "已创建回款任务" in page
    client, _ = sign_in(shop.app, "fin", lang="zh-CN")
    with shop.app.state.db.connect() as conn:
        task_id = conn.exec_driver_sql("SELECT id FROM flow_collection_task").scalar()
    page = client.get(f"/records/collection_task/{task_id}").text
    assert "由销售订单 SO-000007创建" in page
