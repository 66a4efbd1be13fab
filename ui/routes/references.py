"""The reference picker's search (an htmx fragment) and the one-click re-fetch of a fetched value, or of the
fetched cells of line-item rows whose source changed since."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import RecordId
from engine.records.errors import ReadOnlyField, ValidationFailed
from engine.records.references import MAX_SEARCH, fetch_statuses, search_targets, shown_targets
from engine.records.row_fetches import row_fetch_statuses
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
    expected = _version_seen(page)
    rec = svc.access.get(flow_name, record_id, page.actor)
    targets = shown_targets(svc.db, svc.registry, flow, rec.values, page.actor)
    mark = fetch_statuses(svc.db, svc.registry, flow, record_id, targets).get(field)
    if mark is not None and mark.changed:  # the source's value now, read here: never a value from the form
        svc.access.edit(flow_name, record_id, page.actor, {field: mark.current}, expected_version=expected)
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg=saved", status_code=303)


@router.post("/records/{flow_name}/{record_id}/refetch-rows/{table}")
def refetch_rows(request: Request, flow_name: str, record_id: RecordId, table: str,
                 page: Annotated[Page, Depends(checked_page)], row: int | None = None) -> Response:
    """Copy the sources' values now into the fetched cells of row `row` of table field `table` (of every row
    whose source changed, without `row`): one ordinary edit of the table, with its history and version check."""
    svc = services(request)
    flow = svc.registry.get(flow_name).flow
    if table not in flow.tables:
        raise ReadOnlyField(f"field '{table}' is not a table", field=table)
    expected = _version_seen(page)
    rec = svc.access.get(flow_name, record_id, page.actor)
    with svc.db.connect().execution_options(readonly=True) as conn:
        found = row_fetch_statuses(conn, svc.registry, flow, record_id, rec.values, page.actor, [table])
    changed = [s for s in found.values() if row is None or s.row == row]
    if changed:  # the sources' values now, read here: never values from the form
        rows = [dict(r) for r in rec.values[table]]
        for status in changed:
            rows[status.row][status.column] = status.current
        svc.access.edit(flow_name, record_id, page.actor, {table: rows}, expected_version=expected)
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg=saved", status_code=303)


def _version_seen(page: Page) -> int:
    try:
        return int(str(page.form.get("version")))
    except ValueError:
        raise ValidationFailed({"version": "give the version you saw"}) from None
