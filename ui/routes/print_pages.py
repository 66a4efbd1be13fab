"""The print view of a record (HTML with print CSS and a "Download PDF" link) and its PDF (docs/print.md)."""
from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.public import RecordId
from engine.language.print_templates import PrintRenderError
from engine.printing.layout import print_css
from engine.printing.service import print_html, print_pdf
from engine.printing.words import language_of, words
from ui.auth import Page, current_page
from ui.errors import PageRoute, error_page
from ui.i18n import N_
from ui.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)
log = logging.getLogger("relayflow.ui")
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


@router.get("/print/style/{lang}.css")
def print_style(lang: str) -> Response:
    """The print stylesheet, page numbers in `lang` (zh or en)."""
    return Response(print_css(language_of(lang)), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _failed(request: Request, exc: PrintRenderError) -> Response:
    log.warning("print of %s failed: %s", request.url.path, exc)
    return error_page(request, 500, N_("The print could not be made"),
                      N_("This print layout has a mistake. Tell the person who maintains the flow; the record itself is fine."))


def _file_name(flow: str, record_id: int, name: str) -> str:
    return f"{flow}-{record_id}-{name}.pdf"


@router.get("/records/{flow_name}/{record_id}/print/{name}.pdf")
def print_record_pdf(request: Request, flow_name: str, record_id: RecordId, name: str,
                     page: Annotated[Page, Depends(current_page)]) -> Response:
    try:
        pdf = print_pdf(services(request).access, flow_name, record_id, page.actor, name, page._.locale)
    except PrintRenderError as exc:
        return _failed(request, exc)
    disposition = f"attachment; filename*=UTF-8''{quote(_file_name(flow_name, record_id, name))}"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition,
                                                                 "Cache-Control": "private, no-store"})


@router.get("/records/{flow_name}/{record_id}/print/{name}")
def print_view(request: Request, flow_name: str, record_id: RecordId, name: str,
               page: Annotated[Page, Depends(current_page)]) -> Response:
    lang = page._.locale
    try:
        html = print_html(services(request).access, flow_name, record_id, page.actor, name, lang)
    except PrintRenderError as exc:
        return _failed(request, exc)
    w = words(lang)
    base = f"/records/{quote(flow_name)}/{record_id}"
    toolbar = (
        '<link rel="icon" href="data:,">'  # no favicon request
        f'<link rel="stylesheet" href="/print/style/{language_of(lang)}.css">'
        f'<script src="/static/print.js" defer></script>'
        f'<nav class="print-toolbar"><a href="{base}" id="print-back">{escape(w["back"])}</a>'
        f'<a href="{base}/print/{quote(name)}.pdf" id="print-pdf" download>{escape(w["download"])}</a>'
        f'<button type="button" id="print-now">{escape(w["print"])}</button></nav>'
    )
    found = _BODY.search(html)
    html = html[:found.end()] + toolbar + html[found.end():] if found else toolbar + html
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})
