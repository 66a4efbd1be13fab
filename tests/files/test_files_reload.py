"""A file field removed by a reload keeps its files (retired with the field) and serves them again when a
reload restores it; the reload plan names the type by its options."""
from __future__ import annotations

from engine.evolve import apply_flow, plan_flow
from engine.language.loader import load_flow_text
from tests.files.conftest import FLOW, FilesApi, pdf_bytes, png_bytes

CONTRACT = """  contract:
    type: file
    title: {zh-CN: 合同, en: Contract}
    multiple: true
    accept: [pdf, jpg, png]
    max_size: 64KB
"""
WITHOUT = FLOW.replace(CONTRACT, "").replace("edit: [subject, contract, qc_report]", "edit: [subject, qc_report]") \
    .replace("require: [contract]", "require: [subject]")


def _reload(api: FilesApi, text: str) -> list[str]:
    db = api.client.app.state.db  # type: ignore[attr-defined]
    plan = plan_flow(db, load_flow_text(text))
    apply_flow(db, load_flow_text(text), expected=plan)
    api.client.app.state.registry.refresh(db)  # type: ignore[attr-defined]  # as the poller does within 0.5s
    return [f"{c.kind}:{c.subject}" for c in plan.changes]


def test_removed_file_field_keeps_its_files_and_restores_them(files_api: FilesApi) -> None:
    api = files_api
    assert CONTRACT in FLOW
    a = api.uploaded("bea", "contract", "a.pdf", pdf_bytes())
    b = api.uploaded("bea", "contract", "b.png", png_bytes())
    rec = api.create("bea", contract=[a, b])

    assert "field_retired:contract" in _reload(api, WITHOUT)
    assert "contract" not in api.record("bea", rec["id"])["values"]
    for fid in (a, b):  # retired with the field: not served while the field is gone, but not deleted
        assert api.get("bea", f"/api/files/{fid}/content").status_code == 404
    assert api.upload("bea", "contract", "c.pdf", pdf_bytes()).status_code == 404

    assert "field_restored:contract" in _reload(api, FLOW)
    assert api.record("bea", rec["id"])["values"]["contract"] == [a, b]
    got = api.get("bea", f"/api/files/{a}/content")
    assert got.status_code == 200 and got.content == pdf_bytes()
    assert api.get("bea", f"/api/files/{b}/content").content == png_bytes()


def test_reload_plan_describes_a_file_field() -> None:
    f = load_flow_text(FLOW).fields["contract"]
    assert f.describe_type() == "file (several files; PDF, JPEG, PNG; at most 64KB)"
