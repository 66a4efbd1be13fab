"""The record form's uploads: a picked file streamed to the file store, answered with its id or a message.

The page's script (ui/static/files.js) sends each picked file as the request
body, with the session's CSRF token in `X-CSRF-Token`; the answer is the
pending file (its id goes into the form, to be attached by the save) or the
reason it was refused, in the reader's language. The engine does the checks
(engine/files/uploads.py), the same as for the API's upload.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.requests import Request

from api.public import NAME_HEADER, stream_body
from engine.files.uploads import FileTooLarge, file_field, receive
from engine.records.errors import ValidationFailed
from engine.storage.plain import PlainExecutor
from forms.file_field import human_size
from ui.auth import CSRF_HEADER, CsrfFailed, Page, current_page
from ui.errors import PageRoute
from ui.file_views import file_view
from ui.i18n import translate_message
from ui.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/records/{flow_name}/files/{field}")
async def upload_from_page(request: Request, flow_name: str, field: str,
                           page: Annotated[Page, Depends(current_page)]) -> JSONResponse:
    from engine.people.sessions import csrf_matches

    if not csrf_matches(page.session, request.headers.get(CSRF_HEADER)):
        raise CsrfFailed()
    svc = services(request)
    flow = svc.registry.get(flow_name).flow
    spec = file_field(flow, field)
    header = request.headers.get(NAME_HEADER)
    name = unquote(header, errors="replace") if header else None
    declared = request.headers.get("content-length", "")
    try:
        if declared.isdecimal() and int(declared) > spec.max_bytes:
            return _refused(page, 413, page._("this file is larger than {limit}, the most this field takes",
                                              limit=human_size(spec.max_bytes)))
        store = request.app.state.file_store
        info = await stream_body(request, lambda chunks: receive(
            PlainExecutor(svc.db), store, flow, field, page.actor, name, chunks))
    except FileTooLarge as exc:
        return _refused(page, 413, next(iter(exc.field_errors.values())))
    except ValidationFailed as exc:
        return _refused(page, 422, next(iter(exc.field_errors.values())))
    view = file_view(info)
    return JSONResponse({"id": view.id, "name": view.name, "size": view.size, "url": view.url,
                         "preview_url": view.preview_url, "image": view.image}, status_code=201)


def _refused(page: Page, status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": translate_message(page._, message)}, status_code=status,
                        headers={"Connection": "close"} if status == 413 else None)
