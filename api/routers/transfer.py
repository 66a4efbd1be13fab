"""Spreadsheets in and out of a flow over HTTP (engine/transfer does the work).

    GET  /api/flows/{flow}/export?format=xlsx|csv&...   the list (same filters, search and sort as
                                                        GET /api/flows/{flow}/records) as a download:
                                                        XLSX, CSV, or a ZIP of CSVs when there are line items
    POST /api/flows/{flow}/imports                      the body is the file (X-File-Name: its name);
                                                        201 with the job, its sheets and a guessed mapping
    GET  /api/flows/{flow}/imports/{id}                 the job: status, done/total, counts, problems
    PUT  /api/flows/{flow}/imports/{id}/mapping         {"columns": {header: field}, "key": field, "tables": ...}
    POST /api/flows/{flow}/imports/{id}/dry-run         202: runs in the background, rolled back at the end
    POST /api/flows/{flow}/imports/{id}/run             202: runs in batches in the background

Only people who may create records of the flow may import; exports carry only what the reader may see.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote, unquote

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.body import read_json
from api.deps import RequestActor, get_services
from api.errors import ApiProblem
from api.reader_language import api_message, wanted_languages
from api.routers.files import NAME_HEADER, stream_body
from api.services import ApiServices
from engine.records.access import may_create
from engine.records.actor import Actor
from engine.records.errors import Forbidden, ValidationFailed
from engine.records.listing import ListQuery, parse_filters
from engine.storage.registry import LiveFlow
from engine.transfer.export import export_chunks
from engine.transfer.import_jobs import Job, create_job, get_job, job_file, save_mapping, start_job
from engine.transfer.import_plan import ImportMapping, guess_mapping, mapping_problems, remembered_mapping
from engine.transfer.list_export import ListExport
from engine.transfer.upload import MAX_BYTES, UploadRefused, check_size, read_upload
from forms.messages import Message
from forms.message_text import message_in

router = APIRouter(prefix="/api/flows/{flow}", include_in_schema=False)
Svc = Annotated[ApiServices, Depends(get_services)]
JobId = Annotated[int, Path(ge=1, le=2**62)]
LIST_PARAMS = frozenset({"state", "sort", "q", "format", "lang"})


def list_query(live: LiveFlow, params: Any) -> ListQuery:
    """The list query of an export's parameters: the list's filters, search and sort (no paging)."""
    filters = parse_filters(live.flow, {k: params.getlist(k) for k in params if k not in LIST_PARAMS})
    return ListQuery(states=tuple(s for s in params.getlist("state") if s), filters=filters,
                     search=params.get("q") or None, sort=params.get("sort") or "-id")


def download_name(title: str, suffix: str) -> str:
    return f"attachment; filename=\"export{suffix}\"; filename*=UTF-8''{quote(title + suffix)}"


def _lang(request: Request) -> str | None:
    wanted = wanted_languages(request.url.query, request.headers.get("accept-language"))
    return wanted[0] if wanted else None


@router.get("/export")
async def export_list(flow: str, request: Request, svc: Svc, actor: RequestActor) -> StreamingResponse:
    live = svc.registry.get(flow)
    fmt = request.query_params.get("format") or "xlsx"
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed({"format": Message("bad_format", "xlsx or csv")})
    query = list_query(live, request.query_params)
    source = ListExport(svc.db, svc.records, live, actor, query, _lang(request), live.flow.timezone)
    chunks, media, suffix = export_chunks(source, fmt)  # type: ignore[arg-type]
    first = await anyio.to_thread.run_sync(lambda: next(chunks, b""))  # a bad filter is a 422, not a broken download

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    return StreamingResponse(rest(), media_type=media,
                             headers={"Content-Disposition": download_name(source.title, suffix)})


def _importer(live: LiveFlow, actor: Actor) -> None:
    if not may_create(live.flow, actor):
        raise Forbidden("only people who may create records of this flow may import them")


def _refused(exc: UploadRefused) -> ApiProblem:
    return ApiProblem(413 if exc.message.code == "import_too_big" else 422, exc.message.code, str(exc.message))


def job_answer(job: Job, live: LiveFlow, sheets: Any = None) -> dict[str, Any]:
    body = job.to_json()
    if sheets is not None:
        body["sheets"] = [{"name": s.name, "headers": s.headers, "rows": len(s.rows)} for s in sheets]
    return body


@router.post("/imports", status_code=201)
async def upload_import(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    _importer(live, actor)
    name = unquote(request.headers.get(NAME_HEADER) or request.query_params.get("name") or "upload")[:255]
    length = request.headers.get("content-length")
    try:
        if length and length.isdigit():
            check_size(int(length))

        def read(chunks: Iterator[bytes]) -> bytes:
            data = bytearray()
            for chunk in chunks:
                data += chunk
                check_size(len(data), MAX_BYTES)
            return bytes(data)

        data = await stream_body(request, read)
        upload = await anyio.to_thread.run_sync(lambda: read_upload(name, data))
    except UploadRefused as exc:
        raise _refused(exc) from None

    def work() -> dict[str, Any]:
        job_id = create_job(svc.db, flow, actor.id, name, data)
        job = get_job(svc.db, job_id, actor, flow)
        with svc.db.connect() as conn:
            remembered = remembered_mapping(conn, flow, actor.id)
        mapping = guess_mapping(live.flow, upload, remembered)
        save_mapping(svc.db, job, mapping)
        return job_answer(job, live, upload.sheets)

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


@router.get("/imports/{job_id}")
async def read_import(flow: str, job_id: JobId, svc: Svc, actor: RequestActor) -> JSONResponse:
    job = await anyio.to_thread.run_sync(lambda: get_job(svc.db, job_id, actor, flow))
    return JSONResponse(job.to_json())


@router.put("/imports/{job_id}/mapping")
async def put_mapping(flow: str, job_id: JobId, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiProblem(422, "invalid_body", "send the mapping as an object")
    mapping = ImportMapping.from_json(body)

    def work() -> dict[str, Any]:
        job = get_job(svc.db, job_id, actor, flow)
        problems = mapping_problems(live.flow, job_file(svc.db, job), mapping, actor, None)
        if problems:
            raise ValidationFailed({"mapping": api_message(problems[0])},
                                   "; ".join(api_message(p) for p in problems))
        save_mapping(svc.db, job, mapping)
        return job.to_json()

    return JSONResponse(await anyio.to_thread.run_sync(work))


async def _start(flow: str, job_id: int, request: Request, svc: ApiServices, actor: Actor, dry_run: bool) -> JSONResponse:
    live = svc.registry.get(flow)
    _importer(live, actor)
    lang = _lang(request)

    def work() -> dict[str, Any]:
        job = get_job(svc.db, job_id, actor, flow)
        if not start_job(svc.db, svc.records, live, actor, job, dry_run=dry_run, lang=lang,
                         translate=lambda m: message_in(m, lang)):
            raise ApiProblem(409, "import_running", "this import is running already")
        return get_job(svc.db, job_id, actor, flow).to_json()

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=202)


@router.post("/imports/{job_id}/dry-run")
async def dry_run_import(flow: str, job_id: JobId, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    return await _start(flow, job_id, request, svc, actor, True)


@router.post("/imports/{job_id}/run")
async def run_import(flow: str, job_id: JobId, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    return await _start(flow, job_id, request, svc, actor, False)
