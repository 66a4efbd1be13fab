"""A record's print layouts over the API: the list, and each as a PDF (docs/print.md)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import RecordId, RequestActor
from api.reader_language import api_text
from api.routers.records import Svc
from api.errors import ApiProblem
from engine.language.print_templates import PrintRenderError
from engine.printing.pdf import render_pdf
from engine.printing.service import layouts_for, prepare

router = APIRouter(prefix="/api/flows/{flow}/records", include_in_schema=False)


@router.get("/{record_id}/print")
async def record_prints(flow: str, record_id: RecordId, svc: Svc, actor: RequestActor) -> JSONResponse:
    def work() -> list[dict[str, Any]]:
        rec = svc.access.get(flow, record_id, actor)
        compiled = svc.registry.get(flow).flow
        return [{"name": p.name, "title": api_text(p.title or compiled.spec.title, compiled),
                 "pdf": f"/api/flows/{flow}/records/{rec.id}/print/{p.name}.pdf"}
                for p in layouts_for(compiled, actor, rec.state)]

    return JSONResponse(await svc.run(work))


@router.get("/{record_id}/print/{name}.pdf")
async def record_pdf(flow: str, record_id: RecordId, name: str, svc: Svc, actor: RequestActor,
                     lang: str | None = Query(default=None, max_length=35)) -> Response:
    """The PDF in `?lang=` (else the reader's own language, else the flow's)."""
    data = await svc.run(prepare, svc.access, flow, record_id, actor, name, lang)
    try:
        pdf = await anyio.to_thread.run_sync(render_pdf, data)  # seconds of layout: never on the event loop
    except PrintRenderError as exc:
        raise ApiProblem(500, "print_failed", f"the print layout '{name}' could not be made: {exc}") from None
    disposition = f"attachment; filename*=UTF-8''{quote(f'{flow}-{record_id}-{name}.pdf')}"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})
