"""Export and import over HTTP: a download with the list's filters, an upload checked by its content, the
mapping, a dry run and a run polled to the end, and clear errors for files that are not spreadsheets."""
from __future__ import annotations

import io
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings
from engine.transfer.upload import MAX_BYTES
from tests.excel.desk import FOLDER
from tests.excel.helpers import workbook


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


class Client:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.c, self.tokens = client, tokens

    def h(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def upload(self, user: str, name: str, data: bytes) -> Any:
        return self.c.post("/api/flows/sales_order/imports", content=data,
                           headers=self.h(user, **{"X-File-Name": quote(name), "Content-Type": "application/octet-stream"}))

    def wait(self, user: str, job: int) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body: dict[str, Any] = self.c.get(f"/api/flows/sales_order/imports/{job}", headers=self.h(user)).json()
            if body["status"] in ("done", "failed"):
                return body
            time.sleep(0.1)
        raise AssertionError("the import did not finish")


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Client]:
    from api.app import create_app

    flows = tmp_path / "flows"
    shutil.copytree(FOLDER, flows, ignore=shutil.ignore_patterns("*.tests.yaml", "fixtures"))
    app = create_app(Settings(database_url=database_url, flows_dir=flows))
    db = app.state.db
    tokens = {}
    for name, roles in (("sales", ["sales"]), ("clerk", ["clerk"]), ("pm", ["product_manager"])):
        tokens[name] = create_token(db, create_user(db, name, display_name=name.title(), roles=roles), "t").secret
    with TestClient(app, raise_server_exceptions=False) as client:
        c = Client(client, tokens)
        for body in ({"code": "HD-2000", "name": "液压泵", "list_price": "1200"},):
            assert client.post("/api/flows/product/records", json={"values": body}, headers=c.h("pm")).status_code == 201
        assert client.post("/api/flows/customer/records", json={"values": {"name": "宁波华东机电"}},
                           headers=c.h("sales")).status_code == 201
        yield c
    db.dispose()


ORDERS = workbook({"订单": [["订单号", "客户", "交期"], ["SO-000001", "宁波华东机电", "2026-11-20"],
                            ["SO-000002", "宁波华东机电", "2026-11-21"], ["SO-000003", "无此客户", "2026-11-21"]],
                   "订单明细": [["订单号", "产品", "数量"], ["SO-000001", "HD-2000", 2], ["SO-000002", "HD-2000", 1],
                            ["SO-000003", "HD-2000", 1]]})


def test_upload_map_dry_run_run_and_export(api: Client) -> None:
    r = api.upload("sales", "订单.xlsx", ORDERS)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["mapping"]["columns"] == {"订单号": "order_no", "客户": "customer", "交期": "delivery_date"}
    assert [s["name"] for s in job["sheets"]] == ["订单", "订单明细"]
    url = f"/api/flows/sales_order/imports/{job['id']}"
    assert api.c.post(url + "/dry-run", headers=api.h("sales")).status_code == 202
    dry = api.wait("sales", job["id"])
    assert dry["counts"]["created"] == 2 and dry["counts"]["failed"] == 1
    assert [(p["sheet"], p["row"], p["column"]) for p in dry["problems"]] == [("订单", 4, "客户")]
    listed = api.c.get("/api/flows/sales_order/records", headers=api.h("sales")).json()["items"]
    assert listed == []  # nothing kept
    assert api.c.post(url + "/run", headers=api.h("sales")).status_code == 202
    done = api.wait("sales", job["id"])
    assert done["counts"]["created"] == 2 and done["counts"]["lines_added"] == 2
    # somebody else's job is not there for another person
    assert api.c.get(url, headers=api.h("clerk")).status_code == 404

    r = api.c.get("/api/flows/sales_order/export?format=xlsx&order_no=SO-000002&lang=en", headers=api.h("sales"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert [row[2] for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["SO-000002"]
    r = api.c.get("/api/flows/sales_order/export?format=csv", headers=api.h("sales"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    bad = api.c.get("/api/flows/sales_order/export?format=xlsx&sort=nope", headers=api.h("sales"))
    assert bad.status_code == 422  # a bad list parameter: an error, not a broken download


def test_the_mapping_is_remembered_per_person_and_checked(api: Client) -> None:
    renamed = workbook({"Orders": [["No", "Who", "When"], ["SO-000001", "宁波华东机电", "2026-11-20"]]})
    job = api.upload("sales", "o.xlsx", renamed).json()
    assert job["mapping"]["columns"] == {}  # nothing to guess from these headers
    url = f"/api/flows/sales_order/imports/{job['id']}/mapping"
    for shapeless in ({"columns": [1]}, {"columns": {"No": ""}, "tables": 3}):  # the wrong shape: nothing mapped
        r = api.c.put(url, json=shapeless, headers=api.h("sales"))
        assert r.status_code == 422 and "at least one column" in r.text, r.text
    twice = {"columns": {"No": "order_no", "Who": "order_no"}, "key": "order_no"}
    r = api.c.put(url, json=twice, headers=api.h("sales"))
    assert r.status_code == 422 and "two columns" in r.text
    good = {"columns": {"No": "order_no", "Who": "customer", "When": "delivery_date"}, "key": "order_no"}
    assert api.c.put(url, json=good, headers=api.h("sales")).status_code == 200
    again = api.upload("sales", "o.xlsx", renamed).json()  # the same headers next time: mapped as chosen
    assert again["mapping"]["columns"] == good["columns"] and again["mapping"]["key"] == "order_no"
    assert api.upload("clerk", "o.xlsx", renamed).status_code == 403  # the clerk may not create orders


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("photo.xlsx", _png(), 422, "not a CSV or Excel"),
    ("empty.xlsx", b"", 422, "empty"),
    ("blank.csv", b"  \r\n ", 422, "empty"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 200, 422, "not a CSV or Excel"),
    ("huge.csv", b"a,b\r\n" + b"1,2\r\n" * (MAX_BYTES // 5 + 10), 413, "larger than 20 MB"),
])
def test_malformed_uploads_get_a_clear_error(api: Client, name: str, data: bytes, status: int, words: str) -> None:
    r = api.upload("sales", name, data)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
