"""Admin SLA pages: the simulation of a flow's clocks (htmx fragment) and the delivery log of the outbox."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import MAX_ID
from engine.delivery.outbox import DEAD, DROPPED, HELD, PENDING, SENT, SUPERSEDED, counts, list_rows, requeue
from ui.auth import is_htmx
from ui.errors import PageRoute
from ui.i18n import N_
from ui.routes.admin import AdminPage, AdminPost
from ui.services import services
from ui.simulation_view import simulation
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATUSES = {PENDING: N_("pending"), SENT: N_("sent"), DEAD: N_("dead-lettered"),
            DROPPED: N_("dropped: the stage had ended"), SUPERSEDED: N_("not sent: the breach came first"),
            HELD: N_("held: its URL setting is not set")}
DELIVERY_LIMIT = 100


@router.get("/admin/flows/{flow_name}/simulate")
def simulate_flow(request: Request, flow_name: str, page: AdminPage, sim_start: str = "",
                  sim_path: str = "") -> Response:
    """The timeline of a path (htmx); without htmx, the flow page with the same query."""
    live = services(request).registry.get(flow_name)
    if not is_htmx(request):
        query = urlencode({"sim_start": sim_start, "sim_path": sim_path})
        return RedirectResponse(f"/admin/flows/{flow_name}?{query}#simulation", status_code=303)
    sim = simulation(live.flow, page._, start=sim_start, path=sim_path, now=page.now)
    return render("admin/_simulation.html", page.context(flow=live.flow, sim=sim))


@router.get("/admin/deliveries")
def deliveries_page(request: Request, page: AdminPage, status: str = "", msg: str = "") -> Response:
    db = services(request).db
    bad = status not in ("", *STATUSES)
    rows = [] if bad else list_rows(db, status=status or None, limit=DELIVERY_LIMIT)
    error = page._("Unknown status '{s}'.", s=status[:40]) if bad else None
    return render("admin/deliveries.html", page.context(
        rows=rows, counts=counts(db), status=status, statuses=STATUSES, error=error, msg=msg,
        limit=DELIVERY_LIMIT), status_code=422 if bad else 200)


@router.post("/admin/deliveries/{outbox_id}/retry")
def retry_delivery(request: Request, outbox_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                   page: AdminPost) -> Response:
    done = requeue(services(request).db, [outbox_id])
    back = page.form.get("back")
    status = back if isinstance(back, str) and back in STATUSES else ""
    query = urlencode({"status": status, "msg": "requeued" if done else "not_requeued"})
    return RedirectResponse(f"/admin/deliveries?{query}", status_code=303)
