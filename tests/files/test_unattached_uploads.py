"""Uploads never attached to a record are deleted after a while, with their content when nothing else uses it;
attached files, recent uploads and content shared with an attached file stay."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, update

from engine.files.cleanup import sweep_unattached
from engine.files.store import build_store
from engine.storage.schema import files
from tests.files.conftest import FilesApi, pdf_bytes, png_bytes

DAY = timedelta(hours=24)


def _age(api: FilesApi, file_id: str, hours: float) -> None:
    """Make an upload look `hours` old."""
    db = api.client.app.state.db  # type: ignore[attr-defined]
    with db.begin() as conn:
        conn.execute(update(files).where(files.c.id == file_id)
                     .values(uploaded_at=datetime.now(timezone.utc) - timedelta(hours=hours)))


def _file_ids(api: FilesApi) -> set[str]:
    db = api.client.app.state.db  # type: ignore[attr-defined]
    with db.connect() as conn:
        return set(conn.execute(select(files.c.id)).scalars())


def _sweep(api: FilesApi, *, later: timedelta = timedelta(0)):  # type: ignore[no-untyped-def]
    app = api.client.app
    store = build_store(app.state.settings, app.state.db)  # type: ignore[attr-defined]
    return sweep_unattached(app.state.db, store, keep_for=DAY,  # type: ignore[attr-defined]
                            now=datetime.now(timezone.utc) + later)


def test_old_unattached_uploads_go_with_their_content(files_api: FilesApi) -> None:
    old = files_api.uploaded("bea", "contract", "old.pdf", pdf_bytes(3000))
    fresh = files_api.uploaded("bea", "contract", "fresh.png", png_bytes(3000))
    _age(files_api, old, 30)
    _age(files_api, fresh, -26)  # uploaded a day after the old one's content was stored
    old_url = f"/api/files/{old}/content"
    assert files_api.get("bea", old_url).status_code == 200

    result = _sweep(files_api, later=timedelta(hours=25))  # a day on: the cut-off is after the contents were stored
    assert (result.uploads, result.contents) == (1, 1)
    assert _file_ids(files_api) == {fresh}
    assert files_api.get("bea", old_url).status_code == 404
    # the fresh one is still usable: a record can take it
    rec = files_api.create("bea", contract=[fresh])
    assert rec["values"]["contract"] == [fresh]


def test_attached_files_and_shared_content_stay(files_api: FilesApi) -> None:
    content = pdf_bytes(2500)
    kept = files_api.uploaded("bea", "contract", "signed.pdf", content)
    rec = files_api.create("bea", contract=[kept])
    twin = files_api.uploaded("bob", "contract", "copy.pdf", content)  # same bytes, never attached
    for fid in (kept, twin):
        _age(files_api, fid, 48)

    result = _sweep(files_api, later=timedelta(hours=25))
    assert result.uploads == 1 and result.contents == 0  # the content is the attached file's too
    assert _file_ids(files_api) == {kept}
    r = files_api.get("bea", f"/api/files/{kept}/content")
    assert r.status_code == 200 and r.content == content
    assert files_api.record("bea", rec["id"])["values"]["contract"] == [kept]


def test_content_stored_again_during_the_sweep_is_kept(files_api: FilesApi) -> None:
    """A new upload of the same bytes stores the content anew: a sweep whose cut-off is before that keeps it."""
    content = png_bytes(2200)
    old = files_api.uploaded("bea", "contract", "a.png", content)
    _age(files_api, old, 30)
    files_api.uploaded("bea", "contract", "b.png", content)  # content stored again now
    app = files_api.client.app
    # the sweep's cut-off (now - 24 h) is before the second put: the old row goes, the content stays
    result = sweep_unattached(app.state.db, build_store(app.state.settings, app.state.db),  # type: ignore[attr-defined]
                              keep_for=DAY)
    assert result.uploads == 1 and result.contents == 0
    ids = _file_ids(files_api)
    assert old not in ids and len(ids) == 1
    r = files_api.get("bea", f"/api/files/{ids.pop()}/content")
    assert r.status_code == 200 and r.content == content


def test_cli_sweep(files_api: FilesApi, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cli.entry import main

    app = files_api.client.app
    settings = app.state.settings  # type: ignore[attr-defined]
    old = files_api.uploaded("bea", "contract", "old.pdf", pdf_bytes(1800))
    _age(files_api, old, 100)
    monkeypatch.setenv("RELAYFLOW_FILE_STORE", settings.file_store)
    monkeypatch.setenv("RELAYFLOW_FILES_DIR", str(settings.files_dir))
    out = CliRunner().invoke(main, ["--db", settings.database_url, "files", "sweep", "--hours", "72"])
    assert out.exit_code == 0, out.output
    assert "deleted 1 unattached uploads" in out.output
    assert old not in _file_ids(files_api)
    bad = CliRunner().invoke(main, ["--db", settings.database_url, "files", "sweep", "--hours", "0"])
    assert bad.exit_code == 2
