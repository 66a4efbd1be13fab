"""Attachments over HTTP: a streamed upload per file field, and the files back (download, safe preview).

    POST /api/flows/{flow}/files/{field}   the request body is the file (any Content-Type), its name in
                                           `X-File-Name` (percent-encoded UTF-8) or `?name=`; 201 with the
                                           pending file; a record write then names its id in the field
    GET  /api/files/{id}                   what is known of a file (name, size, media type, record)
    GET  /api/files/{id}/content           the file, as a download (`Content-Disposition: attachment`)
    GET  /api/files/{id}/preview           images and PDFs whose content was recognised as such, inline,
                                           under a policy that lets them run nothing

The body is read chunk by chunk as it arrives and handed to the store from a worker thread: nothing
holds the whole file, and the upload stops with 413 as soon as it passes the field's `max_size` (a
declared Content-Length that already does is refused before anything is read). Files someone may not
read answer 404, the same as files that do not exist (engine/files/serving.py).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, TypeVar
from urllib.parse import quote, unquote

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.deps import RequestActor, get_services
from api.errors import field_error, problem_response, problem_responses
from api.services import ApiServices
from engine.files.content import PREVIEWABLE
from engine.files.serving import readable_file
from engine.files.store import FileStore
from engine.files.uploads import FileInfo, FileTooLarge, file_field, receive
from engine.records.errors import NotFound
from engine.storage.plain import PlainExecutor
from forms.file_field import human_size
from forms.messages import Message

T = TypeVar("T")
router = APIRouter(tags=["files"])
Svc = Annotated[ApiServices, Depends(get_services)]
FileId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$", description="File id")]
NAME_HEADER = "X-File-Name"
# An inline image may not run or load anything; a PDF is shown by the browser's own viewer, framed by
# this site's pages only.
IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"
PDF_POLICY = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"


def file_store(request: Request) -> FileStore:
    return request.app.state.file_store  # type: ignore[no-any-return]


def file_json(info: FileInfo) -> dict[str, object]:
    body: dict[str, object] = {**info.to_json(), "url": f"/api/files/{info.id}/content"}
    if info.media_type in PREVIEWABLE:
        body["preview_url"] = f"/api/files/{info.id}/preview"
    return body


def _too_large(request: Request, exc: FileTooLarge) -> JSONResponse:
    return problem_response(request, 413, exc.code, exc.message,
                            errors=[field_error(k, v) for k, v in exc.field_errors.items()],
                            headers={"Connection": "close"})


async def stream_body(request: Request, work: Callable[[Iterator[bytes]], T]) -> T:
    """Run `work` in a worker thread over the request body's chunks, each fetched from the event loop as
    `work` asks for it: the body is never held whole, and `work` may stop reading at any chunk."""
    body: AsyncIterator[bytes] = request.stream().__aiter__()

    def chunks() -> Iterator[bytes]:
        while True:
            try:
                yield anyio.from_thread.run(body.__anext__)
            except StopAsyncIteration:
                return

    return await anyio.to_thread.run_sync(lambda: work(chunks()))


_BYTES = {200: {"description": "The file", "content": {m: {} for m in (
    "application/octet-stream", "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")}}}


@router.post("/api/flows/{flow}/files/{field}", status_code=201, responses=problem_responses(401, 403, 404, 413, 422))
async def upload_file(flow: str, field: str, request: Request, svc: Svc, actor: RequestActor,
                      name: Annotated[str | None, Query(max_length=1000)] = None) -> JSONResponse:
    compiled = svc.registry.get(flow).flow
    spec = file_field(compiled, field)
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > spec.max_bytes:
        return _too_large(request, FileTooLarge({field: Message(
            "file_too_large", "this file is larger than {limit}, the most this field takes",
            limit=human_size(spec.max_bytes))}))
    header = request.headers.get(NAME_HEADER)
    shown = unquote(header, errors="replace") if header else name
    store = file_store(request)
    try:
        info = await stream_body(request, lambda chunks: receive(
            PlainExecutor(svc.db), store, compiled, field, actor, shown, chunks))
    except FileTooLarge as exc:
        return _too_large(request, exc)
    return JSONResponse(file_json(info), status_code=201, headers={"Location": f"/api/files/{info.id}"})


@router.get("/api/files/{file_id}", responses=problem_responses(401, 404, 422))
async def file_info(file_id: FileId, svc: Svc, actor: RequestActor) -> JSONResponse:
    info = await svc.run(readable_file, svc.access, file_id, actor)
    return JSONResponse(file_json(info))


def disposition(kind: str, name: str) -> str:
    """`attachment` or `inline` with the name twice: plain ASCII for old clients, and RFC 5987 `filename*`."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _stream(request: Request, info: FileInfo, kind: str, media_type: str, extra: dict[str, str]) -> Response:
    try:
        chunks = file_store(request).open(info.sha256)
    except FileNotFoundError:
        raise NotFound("no such file") from None
    headers = {"Content-Disposition": disposition(kind, info.name), "Content-Length": str(info.size),
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache", **extra}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


@router.get("/api/files/{file_id}/content", response_class=Response,
            responses={**_BYTES, **problem_responses(401, 404, 422)})
async def download_file(file_id: FileId, request: Request, svc: Svc, actor: RequestActor) -> Response:
    info = await svc.run(readable_file, svc.access, file_id, actor)
    # Only a content we recognised is named as what it is; anything else is opaque bytes to a browser.
    media = info.media_type if info.media_type in PREVIEWABLE else "application/octet-stream"
    return _stream(request, info, "attachment", media,
                   {"Content-Security-Policy": "default-src 'none'; sandbox"})


@router.get("/api/files/{file_id}/preview", response_class=Response,
            responses={**_BYTES, **problem_responses(401, 404, 422)})
async def preview_file(file_id: FileId, request: Request, svc: Svc, actor: RequestActor) -> Response:
    info = await svc.run(readable_file, svc.access, file_id, actor)
    if info.media_type not in PREVIEWABLE:
        raise NotFound("this file has no preview")
    policy = PDF_POLICY if info.media_type == "application/pdf" else IMAGE_POLICY
    return _stream(request, info, "inline", info.media_type,
                   {"Content-Security-Policy": policy, "X-Frame-Options": "SAMEORIGIN"})
