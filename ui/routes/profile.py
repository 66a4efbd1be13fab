"""My profile: out-of-office delegation (who handles my tasks from a day until a day)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.people.delegation import clear_delegation, day_span, get_delegation, set_delegation
from engine.people.users import list_users
from engine.records.errors import ValidationFailed
from ui.auth import Page, checked_page, current_page
from ui.errors import PageRoute
from ui.services import services
from ui.templating import render
from ui.timezones import server_timezone

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _show(request: Request, page: Page, form: dict[str, str], errors: dict[str, str], msg: str = "",
          status: int = 200) -> Response:
    svc = services(request)
    people = [(u["username"], u["display_name"]) for u in list_users(svc.db)
              if u["active"] and u["id"] != page.actor.id]
    current = get_delegation(svc.db, page.actor.username)
    tz = server_timezone()
    shown = None
    if current is not None:
        shown = {"name": current.delegate_name, "from": current.starts_at.astimezone(tz).date().isoformat(),
                 "until": (current.ends_at.astimezone(tz) - timedelta(microseconds=1)).date().isoformat(),
                 "active": current.active(page.now)}
    return render("profile.html", page.context(people=people, current=shown, form=form, errors=errors, msg=msg),
                  status_code=status)


@router.get("/profile")
def profile_page(request: Request, page: Annotated[Page, Depends(current_page)], msg: str = "") -> Response:
    return _show(request, page, {}, {}, msg)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.post("/profile/delegation")
def save_delegation(request: Request, page: Annotated[Page, Depends(checked_page)]) -> Response:
    form = {k: str(page.form.get(k) or "") for k in ("delegate", "from", "until")}
    errors: dict[str, str] = {}
    first, last = _day(form["from"]), _day(form["until"])
    if not form["delegate"]:
        errors["delegate"] = "this field is required"
    if first is None:
        errors["from"] = "must be a date like 2026-10-01, not {v}".format(v=form["from"] or "''")
    if last is None:
        errors["until"] = "must be a date like 2026-10-01, not {v}".format(v=form["until"] or "''")
    if not errors and first is not None and last is not None:
        if last < first:
            errors["until"] = "the last day must not come before the first"
        else:
            start, end = day_span(first, last, server_timezone())
            try:
                set_delegation(services(request).executor, page.actor.username, form["delegate"], start, end)
            except ValidationFailed as exc:
                errors.update({("delegate" if k in ("user", "delegate") else k): v for k, v in exc.field_errors.items()})
    if errors:
        return _show(request, page, form, errors, status=422)
    return RedirectResponse("/profile?msg=delegation_saved", status_code=303)


@router.post("/profile/delegation/clear")
def end_delegation(request: Request, page: Annotated[Page, Depends(checked_page)]) -> Response:
    clear_delegation(services(request).executor, page.actor.username)
    return RedirectResponse("/profile?msg=delegation_cleared", status_code=303)
