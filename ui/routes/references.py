"""The reference picker's search (an htmx fragment) and the one-click re-fetch of a fetched value."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import RecordId
from engine.records.errors import ReadOnlyField, ValidationFailed
from engine.records.references import MAX_SEARCH, fetch_statuses, search_targets, shown_targets
from ui.auth import Page, checked_page, current_page
from ui.errors import PageRoute
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/records/{flow_name}/pick/{field}")
def pick_options(request: Request, flow_name: str, field: str, page: Annotated[Page, Depends(current_page)],
                 q: str = "") -> Response:
    """Up to 20 records the reader may pick for `field` whose searchable fields contain `q`."""
    svc = services(request)
    flow = svc.registry.get(flow_name).flow
    found = search_targets(svc.db, svc.registry, flow, field, page.actor, q[:MAX_SEARCH])
    return render("records/_pick_options.html", page.context(field=field, found=found, q=q))


@router.post("/records/{flow_name}/{record_id}/refetch/{field}")
def refetch(request: Request, flow_name: str, record_id: RecordId, field: str,
            page: Annotated[Page, Depends(checked_page)]) -> Response:
    """Copy the source's value now into a fetched field: an ordinary edit (the state must allow it)."""
    svc = services(request)
    flow = svc.registry.get(flow_name).flow
    spec = flow.fields.get(field)
    if spec is None or spec.fetch is None:
        raise ReadOnlyField(f"field '{field}' is not fetched from a referenced record", field=field)
    try:
        expected = int(str(page.form.get("version")))
    except ValueError:
        raise ValidationFailed({"version": "give the version you saw"}) from None
    rec = svc.access.get(flow_name, record_id, page.actor)
    targets = shown_targets(svc.db, svc.registry, flow, rec.values, page.actor)
    mark = fetch_statuses(svc.db, svc.registry, flow, record_id, targets).get(field)
    if mark is not None and mark.changed:  # the source's value now, read here: never a value from the form
        svc.access.edit(flow_name, record_id, page.actor, {field: mark.current}, expected_version=expected)
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg=saved", status_code=303)
