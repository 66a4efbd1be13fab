"""Fetched prices in order lines whose product's price changed since, through the doors: the record's JSON
names them (SQLite and PostgreSQL), the record page marks each cell with a one-click re-fetch of its row
and one of all changed rows, each an ordinary edit refused on a stale version."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.people.tokens import create_token
from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.acceptance import test_order_desk_pages as pages
from tests.flow_desk import app_without_worker
from tests.ui.live import sign_in

FOLDER = Path(__file__).parent / "order_desk"
URL = "/api/flows/sales_order/records"
desk_app = pages.desk_app  # the order desk's pages on SQLite


@pytest.fixture
def desk_api(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    shutil.copytree(FOLDER, tmp_path / "flows", ignore=shutil.ignore_patterns("fixtures", "*.tests.yaml"))
    app = app_without_worker(Settings(database_url=database_url, flows_dir=tmp_path / "flows"))
    tokens = {}
    for name, roles in (("sales", ["sales"]), ("pm", ["product_manager"])):
        uid = create_user(app.state.db, name, display_name=name.title(), roles=roles)
        tokens[name] = create_token(app.state.db, uid, "tests").secret
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens
    app.state.db.dispose()


def _masters(app: FastAPI) -> dict[str, Any]:
    records = app.state.api.records
    who = {u: load_actor(app.state.db, username=u) for u in ("sales", "pm")}
    pump = records.create("product", who["pm"], {"code": "HD-2000", "name": "液压泵", "list_price": "1200"})
    valve = records.create("product", who["pm"], {"code": "VL-300", "name": "电磁阀", "list_price": "350.50"})
    customer = records.create("customer", who["sales"], {"name": "宁波华东机电", "city": "宁波"})
    return {"pump": pump, "valve": valve, "customer": customer, "who": who}


def _order_values(m: dict[str, Any]) -> dict[str, Any]:
    return {"order_no": "SO-000001", "customer": m["customer"].id, "delivery_date": "2026-12-20",
            "lines": [{"product": m["pump"].id, "quantity": 2}, {"product": m["valve"].id, "quantity": 10}]}


def _reprice(app: FastAPI, m: dict[str, Any], name: str, price: str) -> None:
    records = app.state.api.records
    rec = records.get("product", m[name].id)
    records.edit("product", rec.id, m["who"]["pm"], {"list_price": price}, expected_version=rec.version)


def test_the_records_json_names_the_row_values_changed_at_the_source(desk_api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = desk_api
    app: Any = client.app
    m = _masters(app)
    sales = {"Authorization": f"Bearer {tokens['sales']}"}
    r = client.post(URL, json={"values": _order_values(m)}, headers=sales)
    assert r.status_code == 201, r.text
    order = r.json()
    assert client.get(f"{URL}/{order['id']}", headers=sales).json()["changed_at_source"] == {}
    _reprice(app, m, "valve", "400")
    got = client.get(f"{URL}/{order['id']}", headers=sales).json()
    assert got["changed_at_source"] == {"lines[1].unit_price": {"now": "400.00"}}
    assert got["values"]["lines"][1]["unit_price"] == "350.50"  # the snapshot itself is untouched
    lines = got["values"]["lines"]
    lines[1]["unit_price"] = "400.00"
    stale = client.patch(f"{URL}/{order['id']}", json={"version": order["version"] + 5, "values": {"lines": lines}},
                         headers=sales)
    assert stale.status_code == 409
    assert client.get(f"{URL}/{order['id']}", headers=sales).json()["changed_at_source"] != {}
    done = client.patch(f"{URL}/{order['id']}", json={"version": got["version"], "values": {"lines": lines}},
                        headers=sales)
    assert done.status_code == 200, done.text
    after = client.get(f"{URL}/{order['id']}", headers=sales).json()
    assert after["changed_at_source"] == {} and after["values"]["total"] == "6400.00"


def _mark(html: str, row: int) -> str | None:
    found = re.search(rf'<p class="fetch-mark" id="c-lines-{row}-unit_price-fetch">(.*?)</p>', html, re.S)
    return None if found is None else found.group(1)


@pytest.mark.parametrize(("lang", "words"), [("en", ("Changed at the source", "now: 1,500.00", "Fetch again",
                                                     "Rows changed at the source: 2", "Fetch all changed rows again")),
                                             ("zh-CN", ("来源已更改", "现为：1,500.00", "重新获取",
                                                        "来源已更改的行：2", "全部重新获取"))])
def test_the_page_marks_changed_row_values_and_fetches_them_again(desk_app: FastAPI, lang: str,
                                                                   words: tuple[str, ...]) -> None:
    m = _masters(desk_app)
    records = desk_app.state.api.records
    order: Any = records.create("sales_order", m["who"]["sales"], _order_values(m))
    client, csrf = sign_in(desk_app, "sales", lang=lang)
    page = client.get(f"/records/sales_order/{order.id}").text
    assert _mark(page, 0) is None and 'id="f-lines-fetch"' not in page
    _reprice(desk_app, m, "pump", "1500")
    _reprice(desk_app, m, "valve", "400")
    page = client.get(f"/records/sales_order/{order.id}").text
    first = _mark(page, 0)
    assert first is not None and words[0] in first and words[1] in first and words[2] in first
    assert "unit_price" not in re.sub(r'id="[^"]*"|formaction="[^"]*"', "", first)  # no field ids in the words
    assert words[3] in page and words[4] in page
    one = f"/records/sales_order/{order.id}/refetch-rows/lines?row=0"
    assert f'formaction="{one}"' in page
    # a stale version: refused, nothing changes
    res = client.post(one, data={"csrf_token": csrf, "version": str(order.version + 5)}, follow_redirects=False)
    assert res.status_code == 409
    assert [r["unit_price"] for r in records.get("sales_order", order.id).values["lines"]] == [Decimal("1200.00"), Decimal("350.50")]
    res = client.post(one, data={"csrf_token": csrf, "version": str(order.version)}, follow_redirects=False)
    assert res.status_code == 303
    rec = records.get("sales_order", order.id)
    assert [r["unit_price"] for r in rec.values["lines"]] == [Decimal("1500.00"), Decimal("350.50")] and rec.version == order.version + 1
    page = client.get(f"/records/sales_order/{order.id}").text
    assert _mark(page, 0) is None and _mark(page, 1) is not None
    res = client.post(f"/records/sales_order/{order.id}/refetch-rows/lines",
                      data={"csrf_token": csrf, "version": str(rec.version)}, follow_redirects=False)
    assert res.status_code == 303
    rec = records.get("sales_order", order.id)
    assert [r["unit_price"] for r in rec.values["lines"]] == [Decimal("1500.00"), Decimal("400.00")]
    assert [h["action"] for h in records.history("sales_order", order.id)][-2:] == ["edit", "edit"]
    page = client.get(f"/records/sales_order/{order.id}").text
    assert "fetch-mark" not in page


def test_a_read_only_grid_is_marked_without_a_button(desk_app: FastAPI) -> None:
    m = _masters(desk_app)
    records = desk_app.state.api.records
    order: Any = records.create("sales_order", m["who"]["sales"], _order_values(m))
    _reprice(desk_app, m, "pump", "1500")
    # cancelled: every field is read-only, the mark stays, the re-fetch buttons go
    records.transition("sales_order", order.id, "cancel", m["who"]["sales"], expected_version=order.version,
                       comment="客户取消")
    client, _csrf = sign_in(desk_app, "sales", lang="en")
    page = client.get(f"/records/sales_order/{order.id}").text
    assert _mark(page, 0) is not None and "Rows changed at the source: 1" in page
    assert "refetch-rows" not in page
