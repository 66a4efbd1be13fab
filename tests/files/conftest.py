"""An API app with a flow that has file fields, a user per role and helpers to upload and download."""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings

FLOW = """
flow: purchase
title: {zh-CN: 采购申请, en: Purchase}
language: en
record_title: "{{ subject }}"
roles:
  buyer: {title: Buyer}
  checker: {title: Checker}
create_by: [buyer]
visibility: roles
fields:
  subject: {type: text, title: Subject, required: true}
  contract:
    type: file
    title: {zh-CN: 合同, en: Contract}
    multiple: true
    accept: [pdf, jpg, png]
    max_size: 64KB
  qc_report: {type: file, title: QC report, accept: [pdf], max_size: 20MB}
states:
  draft:
    owner: buyer
    edit: [subject, contract, qc_report]
  check:
    owner: checker
    edit: [qc_report]
  done:
    final: true
transitions:
  submit: {from: draft, to: check, by: buyer, require: [contract]}
  finish: {from: check, to: done, by: checker}
"""

PEOPLE = {"bea": ("buyer",), "bob": ("buyer",), "carl": ("checker",), "nobody": ()}


def png_bytes(size: int = 2000) -> bytes:
    """A real PNG image (10x10, grey), padded with a text chunk to about `size` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80" * 10 for _ in range(10))
    pad = b"Comment\x00" + b"x" * max(0, size - 120)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", pad) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(size: int = 1000) -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    return body + b"%" + b"x" * max(0, size - len(body) - 7) + b"\n%%EOF\n"


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 500


class FilesApi:
    def __init__(self, client: TestClient, tokens: dict[str, str], ids: dict[str, int]) -> None:
        self.client = client
        self.tokens = tokens
        self.ids = ids

    def h(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def upload(self, user: str, field: str, name: str, content: bytes | Any, **headers: str) -> Any:
        from urllib.parse import quote
        return self.client.post(f"/api/flows/purchase/files/{field}", content=content,
                                headers=self.h(user, **{"X-File-Name": quote(name)}, **headers))

    def uploaded(self, user: str, field: str, name: str, content: bytes) -> str:
        r = self.upload(user, field, name, content)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def create(self, user: str, **values: Any) -> dict[str, Any]:
        r = self.client.post("/api/flows/purchase/records", json={"values": {"subject": "Paper", **values}},
                             headers=self.h(user))
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def edit(self, user: str, rec: dict[str, Any], **values: Any) -> Any:
        return self.client.patch(f"/api/flows/purchase/records/{rec['id']}",
                                 json={"version": rec["version"], "values": values}, headers=self.h(user))

    def get(self, user: str, url: str) -> Any:
        return self.client.get(url, headers=self.h(user))

    def record(self, user: str, rid: int) -> dict[str, Any]:
        r = self.get(user, f"/api/flows/purchase/records/{rid}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def make_files_api(url: str, tmp: Path, *, flow_text: str = FLOW, store: str = "folder") -> tuple[TestClient, FilesApi]:
    from api.app import create_app

    flows = tmp / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "purchase.yaml").write_text(flow_text, encoding="utf-8")
    app = create_app(Settings(database_url=url, flows_dir=flows, files_dir=tmp / "files", file_store=store))
    tokens, ids = {}, {}
    for name, roles in PEOPLE.items():
        ids[name] = create_user(app.state.db, name, display_name=name.title(), roles=list(roles))
        tokens[name] = create_token(app.state.db, ids[name], "tests").secret
    client = TestClient(app, raise_server_exceptions=False)
    return client, FilesApi(client, tokens, ids)


@pytest.fixture(params=["folder", "database"])
def files_api(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[FilesApi]:
    client, api = make_files_api(database_url, tmp_path, store=request.param)
    with client:
        yield api
    client.app.state.db.dispose()  # type: ignore[attr-defined]


def stored_files(tmp: Path) -> list[Path]:
    root = tmp / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


__all__ = ["ELF", "FLOW", "FilesApi", "make_files_api", "pdf_bytes", "png_bytes", "stored_files"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "memory: measures the memory of a real server process (CI runs it; -m 'not memory' skips it)")
