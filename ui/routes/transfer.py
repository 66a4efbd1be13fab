"""Pages to get a list out as a spreadsheet and to bring one in: upload → map → dry run → run, with progress.

The list page links here (an Export menu and an Import link). The work is engine/transfer's; the dry run and
the run go on in a thread of their own while the page polls the job's counts with htmx.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from engine.records.access import may_create
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.records.listing import ListQuery, parse_filters
from engine.storage.registry import LiveFlow
from engine.transfer.export import export_chunks
from engine.transfer.import_jobs import Job, create_job, get_job, job_file, save_mapping, start_job
from engine.transfer.import_plan import (
    STATE, ImportMapping, TableMapping, guess_mapping, importable_fields, importable_tables, key_candidates,
    mapping_problems, remembered_mapping, row_inputs,
)
from engine.transfer.list_export import ExportWords, ListExport
from engine.transfer.upload import MAX_BYTES, UploadRefused, check_size, read_upload
from ui.auth import Page, checked_page, current_page
from ui.errors import PageRoute
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NOT_FILTERS = frozenset({"state", "q", "sort", "after", "format"})


def _export_query(request: Request, live: LiveFlow) -> ListQuery:
    params = request.query_params
    raw = {k: [v for v in params.getlist(k) if v.strip()] for k in params if k not in NOT_FILTERS}
    state = params.get("state") or ""
    return ListQuery(states=(state,) if state else (), filters=parse_filters(live.flow, {k: v for k, v in raw.items() if v}),
                     search=(params.get("q") or "").strip() or None, sort=params.get("sort") or "-id")


@router.get("/lists/{flow_name}/export")
def export_page(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    """The list as shown (state tab, filters, search, sort) as a download."""
    svc = services(request)
    live = svc.registry.get(flow_name)
    fmt = request.query_params.get("format") or "xlsx"
    if fmt not in ("xlsx", "csv"):
        fmt = "xlsx"
    words = ExportWords(number=page._("No."), state=page._("State"))
    source = ListExport(svc.db, svc.records, live, page.actor, _export_query(request, live), page._.locale,
                        live.flow.timezone, words)
    chunks, media, suffix = export_chunks(source, fmt)  # type: ignore[arg-type]
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    disposition = f"attachment; filename=\"export{suffix}\"; filename*=UTF-8''{quote(source.title + suffix)}"
    return StreamingResponse(rest(), media_type=media, headers={"Content-Disposition": disposition})


def _importer(live: LiveFlow, page: Page) -> None:
    if not may_create(live.flow, page.actor):
        raise Forbidden(page._("Only people who may create records here may import them."))


def _upload_page(page: Page, live: LiveFlow, error: str | None = None, status: int = 200) -> Response:
    return render("transfer/upload.html", page.context(flow=live.flow, error=error, max_mb=MAX_BYTES // (1024 * 1024)),
                  status_code=status)


@router.get("/lists/{flow_name}/import")
def upload_form(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    live = services(request).registry.get(flow_name)
    _importer(live, page)
    return _upload_page(page, live)


@router.post("/lists/{flow_name}/import")
async def upload(request: Request, flow_name: str, page: Annotated[Page, Depends(checked_page)]) -> Response:
    svc = services(request)
    live = svc.registry.get(flow_name)
    _importer(live, page)
    item = page.form.get("file")
    if not isinstance(item, UploadFile) or not item.filename:
        return _upload_page(page, live, page._("Choose a file to upload."), 422)
    name = item.filename
    try:
        check_size(item.size or 0)
        data = await item.read(MAX_BYTES + 1)
        upload_file = await anyio.to_thread.run_sync(lambda: read_upload(name, data))  # parsing takes a while
    except UploadRefused as exc:
        return _upload_page(page, live, translate_message(page._, exc.message), 422)

    def keep() -> int:
        job_id = create_job(svc.db, flow_name, page.actor.id, name, data)
        job = get_job(svc.db, job_id, page.actor, flow_name)
        with svc.db.connect() as conn:
            remembered = remembered_mapping(conn, flow_name, page.actor.id)
        save_mapping(svc.db, job, guess_mapping(live.flow, upload_file, remembered))
        return job_id

    job_id = await anyio.to_thread.run_sync(keep)
    return RedirectResponse(f"/lists/{flow_name}/import/{job_id}", status_code=303)


def _job(request: Request, flow_name: str, job_id: int, page: Page) -> tuple[LiveFlow, Job]:
    live = services(request).registry.get(flow_name)
    _importer(live, page)
    if not 1 <= job_id <= 2**62:
        raise NotFound("no such import")
    return live, get_job(services(request).db, job_id, page.actor, flow_name)


def _mapping_context(page: Page, live: LiveFlow, job: Job, upload_file: Any) -> dict[str, Any]:
    flow, loc = live.flow, page._.locale
    mapping = job.mapping or ImportMapping()

    def title(f: Any, name: str) -> str:
        return flow_text(f.title, loc, flow) or name

    targets = [(n, title(f, n)) for n, f in importable_fields(flow).items()]
    if page.actor.is_admin:
        targets.append((STATE, page._("State (records land in the state named)")))
    tables = []
    for tname in importable_tables(flow):
        tm = mapping.tables.get(tname) or TableMapping("", "")
        sheet = upload_file.sheet(tm.sheet) if tm.sheet else None
        tables.append({"name": tname, "title": title(flow.fields[tname], tname), "mapping": tm,
                       "sheets": [s.name for s in upload_file.sheets[1:]],
                       "headers": sheet.headers if sheet else [],
                       "targets": [(n, title(f, n)) for n, f in row_inputs(flow, tname).items()]})
    return {"flow": flow, "job": job, "mapping": mapping, "main": upload_file.sheets[0], "targets": targets,
            "keys": [(n, title(flow.fields[n], n)) for n in key_candidates(flow)], "tables": tables}


@router.get("/lists/{flow_name}/import/{job_id}")
def mapping_page(request: Request, flow_name: str, job_id: int, page: Annotated[Page, Depends(current_page)]) -> Response:
    live, job = _job(request, flow_name, job_id, page)
    upload_file = job_file(services(request).db, job)
    return render("transfer/mapping.html", page.context(**_mapping_context(page, live, job, upload_file), problems=[]))


def _posted_mapping(page: Page, main_headers: list[str], tables: list[str]) -> ImportMapping:
    form = page.form
    columns = {}
    for i, header in enumerate(main_headers):
        target = form.get(f"col-{i}")
        if isinstance(target, str) and target:
            columns[header] = target
    key = form.get("key")
    mapping = ImportMapping(columns, key if isinstance(key, str) and key else None)
    for tname in tables:
        sheet = form.get(f"sheet-{tname}")
        if not isinstance(sheet, str) or not sheet:
            continue
        key_column = form.get(f"key-{tname}")
        cols = {}
        for name, value in form.multi_items():
            if name.startswith(f"tcol-{tname}-") and isinstance(value, str) and value:
                header = form.get(f"thead-{tname}-{name.rsplit('-', 1)[1]}")
                if isinstance(header, str):
                    cols[header] = value
        mapping.tables[tname] = TableMapping(sheet, key_column if isinstance(key_column, str) else "", cols)
    return mapping


@router.post("/lists/{flow_name}/import/{job_id}")
def post_mapping(request: Request, flow_name: str, job_id: int, page: Annotated[Page, Depends(checked_page)]) -> Response:
    svc = services(request)
    live, job = _job(request, flow_name, job_id, page)
    upload_file = job_file(svc.db, job)
    if page.form.get("use_saved") and job.mapping is not None:  # "Import now" after a dry run
        mapping = job.mapping
    else:
        mapping = _posted_mapping(page, upload_file.sheets[0].headers, importable_tables(live.flow))
    action = page.form.get("action")
    problems = mapping_problems(live.flow, upload_file, mapping, page.actor, page._.locale)
    if problems:
        job.mapping = mapping
        ctx = _mapping_context(page, live, job, upload_file)
        return render("transfer/mapping.html", page.context(**ctx, problems=[translate_message(page._, p) for p in problems]),
                      status_code=422)
    save_mapping(svc.db, job, mapping)
    if action in ("dry_run", "run"):
        try:
            start_job(svc.db, svc.records, live, page.actor, job, dry_run=action == "dry_run", lang=page._.locale,
                      translate=lambda m: translate_message(page._, m))
        except ValidationFailed as exc:
            ctx = _mapping_context(page, live, job, upload_file)
            return render("transfer/mapping.html", page.context(
                **ctx, problems=[translate_message(page._, v) for v in exc.field_errors.values()]), status_code=422)
        return RedirectResponse(f"/lists/{flow_name}/import/{job_id}/progress", status_code=303)
    return RedirectResponse(f"/lists/{flow_name}/import/{job_id}", status_code=303)


@router.get("/lists/{flow_name}/import/{job_id}/progress")
def progress_page(request: Request, flow_name: str, job_id: int, page: Annotated[Page, Depends(current_page)]) -> Response:
    live, job = _job(request, flow_name, job_id, page)
    template = "transfer/_progress.html" if request.headers.get("hx-request") == "true" else "transfer/progress.html"
    return render(template, page.context(flow=live.flow, job=job))
