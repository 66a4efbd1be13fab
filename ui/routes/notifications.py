"""The in-app notifications of the signed-in user: list (all or unread), mark read."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import MAX_ID
from engine.delivery.notifications import list_notifications, mark_read
from ui.auth import Page, checked_page, current_page
from ui.errors import PageRoute
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
MAX_IDS = 200


@router.get("/notifications")
def notifications_page(request: Request, page: Annotated[Page, Depends(current_page)], unread: bool = False,
                       before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None, msg: str = "") -> Response:
    items = list_notifications(services(request).db, page.actor.id, unread_only=unread, limit=PAGE_SIZE + 1,
                               before_id=before)
    older = items[PAGE_SIZE - 1].id if len(items) > PAGE_SIZE else None
    return render("notifications.html", page.context(items=items[:PAGE_SIZE], unread_only=unread, older=older,
                                                     msg=msg))


@router.post("/notifications/read")
def read_notifications(request: Request, page: Annotated[Page, Depends(checked_page)]) -> Response:
    """Mark the posted `id`s read, or every unread one with `all=1`; only the user's own are touched."""
    ids = [int(v) for v in page.form.getlist("id")[:MAX_IDS] if isinstance(v, str) and v.isdecimal() and len(v) < 19]
    everything = page.form.get("all") == "1"
    mark_read(services(request).db, page.actor.id, None if everything else ids)
    back = "/notifications?unread=true&msg=read" if page.form.get("unread") == "true" else "/notifications?msg=read"
    return RedirectResponse(back, status_code=303)
