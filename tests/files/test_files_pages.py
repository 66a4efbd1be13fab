"""Attachments through the pages: the record form's upload, save, listing, preview and download (chromium),
refusals in English and Chinese, and a failed save that attaches nothing."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.people.users import create_user, load_actor
from engine.settings import Settings
from engine.storage.schema import files
from tests.files.conftest import ELF, FLOW, pdf_bytes, png_bytes
from tests.ui.live import PASSWORD, LiveServer


def make_app(tmp: Path) -> FastAPI:
    from ui.app import create_app

    (tmp / "flows").mkdir(parents=True, exist_ok=True)
    (tmp / "flows" / "purchase.yaml").write_text(FLOW, encoding="utf-8")
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=tmp / "flows",
                              files_dir=tmp / "files", worker=False))
    for name, roles in {"bea": ["buyer"], "carl": ["checker"], "nobody": []}.items():
        create_user(app.state.db, name, display_name=name.title(), password=PASSWORD, roles=roles)
    return app


def sign_in(app: FastAPI, username: str, lang: str = "en") -> tuple[TestClient, str]:
    client = TestClient(app, headers={"Accept-Language": lang})
    page = client.get("/login")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    res = client.post("/login", data={"username": username, "password": PASSWORD, "pre_token": token, "next": "/"},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    return client, csrf


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(Path(tmp_path_factory.mktemp("files-pages")))
    yield app
    app.state.db.dispose()


def _upload(client: TestClient, csrf: str, name: str, content: bytes, field: str = "contract") -> Any:
    from urllib.parse import quote
    return client.post(f"/records/purchase/files/{field}", content=content,
                       headers={"X-CSRF-Token": csrf, "X-File-Name": quote(name)})


def test_page_upload_refusals_are_translated(app: FastAPI) -> None:
    client, csrf = sign_in(app, "bea", "zh-CN")
    r = _upload(client, csrf, "发票.pdf", ELF)
    assert r.status_code == 422 and r.json() == {"error": "此文件是 ELF executable，此处只接受 PDF, JPEG, PNG 文件"}
    r = _upload(client, csrf, "big.png", png_bytes(70 * 1024))
    assert r.status_code == 413 and r.json() == {"error": "文件大于 64KB，超出了此字段允许的大小"}
    client, csrf = sign_in(app, "bea", "en")
    r = _upload(client, csrf, "report.pdf", png_bytes(), field="qc_report")
    assert r.status_code == 422 and r.json() == {"error": "this file is PNG, but only PDF files are taken here"}
    assert _upload(client, "wrong", "a.pdf", pdf_bytes()).status_code == 403  # the session's CSRF token is needed


def test_a_failed_save_attaches_nothing_and_a_good_one_does(app: FastAPI) -> None:
    client, csrf = sign_in(app, "bea")
    bea = load_actor(app.state.db, username="bea")
    rec = app.state.api.records.create("purchase", bea, {"subject": "Chairs"})
    fid = _upload(client, csrf, "quote.pdf", pdf_bytes()).json()["id"]
    app.state.api.records.edit("purchase", rec.id, bea, {"subject": "Desks"}, expected_version=1)  # someone else
    form = {"csrf_token": csrf, "version": "1", "action": "save", "subject": "Desks", "contract": ["", fid]}
    r = client.post(f"/records/purchase/{rec.id}", data=form)
    assert r.status_code == 409 and "Nothing was saved" in r.text
    with app.state.db.connect() as conn:
        assert conn.execute(select(files.c.record_id).where(files.c.id == fid)).scalar() is None
    r = client.post(f"/records/purchase/{rec.id}", data={**form, "version": "2"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/records/purchase/{rec.id}").text
    assert "quote.pdf" in page and f"/api/files/{fid}/content" in page
    # Unticking every file (only the empty value is posted) removes them, and the history names the file.
    r = client.post(f"/records/purchase/{rec.id}", data={**form, "version": "3", "contract": [""]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/records/purchase/{rec.id}").text
    assert f"/api/files/{fid}/content" not in page
    history = page[page.index('id="history-h"'):]
    assert "quote.pdf" in history and fid not in history


def test_someone_who_cannot_see_the_record_gets_404(app: FastAPI) -> None:
    client, csrf = sign_in(app, "bea")
    fid = _upload(client, csrf, "a.png", png_bytes()).json()["id"]
    bea = load_actor(app.state.db, username="bea")
    app.state.api.records.create("purchase", bea, {"subject": "x", "contract": [fid]})
    assert client.get(f"/api/files/{fid}/content").status_code == 200
    other, _ = sign_in(app, "nobody")
    assert other.get(f"/api/files/{fid}/content").status_code == 404
    assert other.get(f"/api/files/{fid}/preview").status_code == 404


def test_pick_save_see_and_download_in_chromium(browser: Any, app: FastAPI) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    image = png_bytes(3000)
    with LiveServer(app) as server:
        ctx = browser.new_context(locale="en-US", accept_downloads=True)
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not (r.status == 422 and "/files/contract" in r.url) else None)
        page.goto(server.url + "/login")
        page.fill("#username", "bea")
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(server.url + "/")

        page.goto(server.url + "/records/purchase/new")
        page.fill("#f-subject", "Printer paper")
        page.set_input_files("#f-contract", files=[{"name": "bad.pdf", "mimeType": "application/pdf", "buffer": ELF}])
        expect(page.locator("#wrap-contract [data-upload-error]")).to_have_text(
            "this file is ELF executable, but only PDF, JPEG, PNG files are taken here")
        page.set_input_files("#f-contract", files=[{"name": "合同.png", "mimeType": "image/png", "buffer": image}])
        expect(page.locator("#f-contract-files li.file")).to_have_count(1)
        expect(page.locator("#f-contract-files li.file")).to_contain_text("合同.png")
        expect(page.locator("#wrap-contract [data-upload-error]")).to_be_hidden()
        page.click("button[type=submit].primary")
        page.wait_for_url(re.compile(r".*/records/purchase/\d+\?msg=created"))

        item = page.locator("#f-contract-files li.file")
        expect(item).to_contain_text("合同.png")
        preview = item.locator("img.file-preview")
        expect(preview).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth === 10", arg=preview.element_handle())
        with page.expect_download() as info:
            item.locator("a", has_text="Download").click()
        download = info.value
        assert download.suggested_filename == "合同.png"
        assert Path(download.path()).read_bytes() == image
        ctx.close()
    assert problems == [], problems
