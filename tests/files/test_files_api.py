"""Attachments through the API: upload, attach, download, preview, refusals, access, history (SQLite and
PostgreSQL, folder and database stores)."""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import func, select

from engine.storage.schema import file_blobs, files
from tests.files.conftest import ELF, FilesApi, pdf_bytes, png_bytes


def _file_rows(api: FilesApi) -> int:
    with api.client.app.state.db.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(files)).scalar_one())


def _blob_count(api: FilesApi) -> int:
    store = api.client.app.state.file_store  # type: ignore[attr-defined]
    if hasattr(store, "root"):
        return sum(1 for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else 0
    with api.client.app.state.db.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(file_blobs)).scalar_one())


def test_upload_attach_download_and_preview(files_api: FilesApi) -> None:
    api = files_api
    image = png_bytes(5000)
    r = api.upload("bea", "contract", "合同 扫描件.png", image)
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["name"] == "合同 扫描件.png" and up["size"] == len(image) and up["media_type"] == "image/png"
    assert up["record_id"] is None and up["preview_url"].endswith("/preview")
    rec = api.create("bea", contract=[up["id"]])
    assert rec["values"]["contract"] == [up["id"]]

    got = api.get("bea", f"/api/files/{up['id']}/content")
    assert got.status_code == 200 and got.content == image
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"__ ___.png\"; filename*=UTF-8''%E5%90%88%E5%90%8C%20%E6%89%AB%E6%8F%8F%E4%BB%B6.png")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-type"] == "image/png"

    assert api.get("carl", f"/api/files/{up['id']}").status_code == 404  # the checker does not see drafts
    info = api.get("bob", f"/api/files/{up['id']}").json()  # another buyer does
    assert info["record_id"] == rec["id"] and info["name"] == "合同 扫描件.png"

    prev = api.get("bea", f"/api/files/{up['id']}/preview")
    assert prev.status_code == 200 and prev.content == image
    assert prev.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in prev.headers["content-security-policy"]
    assert "default-src 'none'" in prev.headers["content-security-policy"]
    assert prev.headers["x-frame-options"] == "SAMEORIGIN"


def test_several_files_and_history_names_them(files_api: FilesApi) -> None:
    api = files_api
    a = api.uploaded("bea", "contract", "a.pdf", pdf_bytes())
    b = api.uploaded("bea", "contract", "b.png", png_bytes())
    rec = api.create("bea", contract=[a])
    r = api.edit("bea", rec, contract=[a, b])
    assert r.status_code == 200, r.text
    rec = r.json()
    r = api.edit("bea", rec, contract=[b])
    assert r.status_code == 200, r.text
    assert r.json()["values"]["contract"] == [b]
    hist = api.get("bea", f"/api/flows/purchase/records/{rec['id']}/history").json()
    changes = [e["changes"]["contract"] for e in hist if e.get("changes") and "contract" in e["changes"]]
    names = [[[f["name"] for f in side or []] for side in pair] for pair in changes]
    assert names == [[[], ["a.pdf"]], [["a.pdf"], ["a.pdf", "b.png"]], [["a.pdf", "b.png"], ["b.png"]]]
    # The removed file is no longer served with the record; the one kept is.
    assert api.get("bea", f"/api/files/{a}/content").status_code == 404
    assert api.get("bea", f"/api/files/{b}/content").status_code == 200


def test_one_file_field_takes_one(files_api: FilesApi) -> None:
    api = files_api
    a = api.uploaded("bea", "qc_report", "a.pdf", pdf_bytes())
    b = api.uploaded("bea", "qc_report", "b.pdf", pdf_bytes(2000))
    r = api.client.post("/api/flows/purchase/records", json={"values": {"subject": "x", "qc_report": [a, b]}},
                        headers=api.h("bea"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "takes one file only"


def test_wrong_content_is_refused_with_a_clear_message(files_api: FilesApi) -> None:
    api = files_api
    before = (_file_rows(api), _blob_count(api))
    r = api.upload("bea", "contract", "invoice.pdf", ELF)
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "this file is ELF executable, but only PDF, JPEG, PNG files are taken here"
    r = api.upload("bea", "qc_report", "report.pdf", png_bytes())  # a PNG claimed as PDF; PNG not taken here
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "this file is PNG, but only PDF files are taken here"
    r = api.upload("bea", "contract", "scan.pdf", png_bytes())  # both taken, but the name lies
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "the file name says PDF, but the file is PNG"
    r = api.upload("bea", "contract", "tool.exe", pdf_bytes())
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "the file name ends in .exe, but only PDF, JPEG, PNG files are taken here"
    r = api.upload("bea", "contract", "empty.pdf", b"")
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == "the file is empty"
    assert (_file_rows(api), _blob_count(api)) == before


def test_too_large_is_413_and_nothing_is_kept(files_api: FilesApi) -> None:
    api = files_api
    big = png_bytes(70 * 1024)  # the contract field takes 64KB
    r = api.upload("bea", "contract", "big.png", big)  # declared length: refused before reading
    assert r.status_code == 413
    assert r.json()["errors"][0]["detail"] == "this file is larger than 64KB, the most this field takes"

    def chunks():  # type: ignore[no-untyped-def]  # no length declared: refused while streaming
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    r = api.upload("bea", "contract", "big.png", chunks())
    assert r.status_code == 413
    assert (_file_rows(api), _blob_count(api)) == (0, 0)
    assert api.upload("bea", "contract", "ok.png", png_bytes(60 * 1024)).status_code == 201


def test_who_may_read_files(files_api: FilesApi) -> None:
    api = files_api
    fid = api.uploaded("bea", "contract", "a.pdf", pdf_bytes())
    # Pending: only its uploader reads it, and only they may attach it.
    assert api.get("bea", f"/api/files/{fid}/content").status_code == 200
    assert api.get("bob", f"/api/files/{fid}/content").status_code == 404
    r = api.client.post("/api/flows/purchase/records", json={"values": {"subject": "x", "contract": [fid]}},
                        headers=api.h("bob"))
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == "this file was not found; upload it again"
    rec = api.create("bea", contract=[fid])
    for url in (f"/api/files/{fid}", f"/api/files/{fid}/content", f"/api/files/{fid}/preview"):
        assert api.get("nobody", url).status_code == 404  # cannot see the record: as if there were no file
        assert api.get("bob", url).status_code == 200
    assert api.get("bea", "/api/files/" + "0" * 32 + "/content").status_code == 404
    assert api.get("bea", "/api/files/not-an-id/content").status_code in (404, 422)
    # A file of one record cannot be put on another.
    other = api.create("bea")
    r = api.edit("bea", other, contract=[fid])
    assert r.status_code == 422
    assert api.record("bea", other["id"])["values"]["contract"] is None
    assert api.record("bea", rec["id"])["values"]["contract"] == [fid]


def test_nobody_without_a_role_may_upload(files_api: FilesApi) -> None:
    r = files_api.upload("nobody", "contract", "a.pdf", pdf_bytes())
    assert r.status_code == 403
    assert files_api.upload("bea", "subject", "a.pdf", pdf_bytes()).status_code == 404
    assert files_api.upload("bea", "nothing", "a.pdf", pdf_bytes()).status_code == 404


def test_required_file_and_a_failed_write_attaches_nothing(files_api: FilesApi) -> None:
    api = files_api
    rec = api.create("bea")
    r = api.client.post(f"/api/flows/purchase/records/{rec['id']}/transitions/submit", json={"version": rec["version"]},
                        headers=api.h("bea"))
    assert r.status_code == 422  # the contract is required to submit
    fid = api.uploaded("bea", "contract", "a.pdf", pdf_bytes())
    r = api.edit("bea", {**rec, "version": 99}, contract=[fid])  # stale: refused, nothing attached
    assert r.status_code == 409
    with api.client.app.state.db.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(select(files.c.record_id).where(files.c.id == fid)).scalar() is None
    r = api.client.post(f"/api/flows/purchase/records/{rec['id']}/transitions/submit",
                        json={"version": rec["version"], "values": {"contract": [fid]}}, headers=api.h("bea"))
    assert r.status_code == 200, r.text
    assert api.get("carl", f"/api/files/{fid}/content").status_code == 200


def test_same_content_is_stored_once(files_api: FilesApi) -> None:
    api = files_api
    data = pdf_bytes(3000)
    a = api.uploaded("bea", "contract", "a.pdf", data)
    b = api.uploaded("bob", "contract", "copy of a.pdf", data)
    assert a != b and _blob_count(api) == 1
    assert api.get("bob", f"/api/files/{b}").json()["name"] == "copy of a.pdf"


def test_name_header_is_cleaned(files_api: FilesApi) -> None:
    r = files_api.upload("bea", "contract", "../../etc/\u202epasswd.pdf", pdf_bytes())
    assert r.status_code == 201 and r.json()["name"] == "passwd.pdf"
    r = files_api.client.post("/api/flows/purchase/files/contract?name=" + quote("报告.pdf"), content=pdf_bytes(),
                              headers=files_api.h("bea"))
    assert r.status_code == 201 and r.json()["name"] == "报告.pdf"
