"""The record page's forms for an approval task and the actions around it: approve / reject with a comment,
hand over (转交), add an approver (加签), return (回退), urge (催办).

Each form posts here, the engine does the work (engine/records/approvals.py, engine/records/task_actions.py)
and checks everything again; a refusal draws the record page again with the reason on top and nothing lost
(the typed comment or reason is kept in its box).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import RecordId
from engine.records.approvals import decide
from engine.records.errors import Forbidden, TransitionNotAllowed, ValidationFailed
from engine.records.task_actions import add_approver, hand_over, return_record, urge
from ui.auth import Page, checked_page
from ui.errors import PageRoute
from ui.i18n import translate_message
from ui.routes.records import _record_page
from ui.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ACTIONS = ("approve", "reject", "hand_over", "add_approver", "return", "urge")


def _text(page: Page, name: str) -> str:
    raw = page.form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


@router.post("/records/{flow_name}/{record_id}/task/{what}")
def act_on_task(request: Request, flow_name: str, record_id: RecordId, what: str,
                page: Annotated[Page, Depends(checked_page)]) -> Response:
    svc = services(request)
    rec = svc.access.get(flow_name, record_id, page.actor)  # 404 for a record the reader may not see
    if what not in ACTIONS:
        return _record_page(request, page, rec, status=404, banner=page._("This action does not exist."))
    reason = _text(page, "reason")
    to = _text(page, "to")
    try:
        if what in ("approve", "reject"):
            decide(svc.records, flow_name, record_id, page.actor, what, reason or None, now=page.now)
        elif what == "hand_over":
            hand_over(svc.records, flow_name, record_id, page.actor, to, reason, now=page.now)
        elif what == "add_approver":
            position = _text(page, "position") or "before"
            add_approver(svc.records, flow_name, record_id, page.actor, to, position, reason, now=page.now)
        elif what == "return":
            return_record(svc.records, flow_name, record_id, page.actor, to, reason, now=page.now)
        else:
            urge(svc.records, flow_name, record_id, page.actor, reason or None, now=page.now)
    except ValidationFailed as exc:
        words = "; ".join(translate_message(page._, m) for m in exc.field_errors.values())
        return _record_page(request, page, svc.access.get(flow_name, record_id, page.actor), status=422, banner=words,
                            task_form=(what, reason, to))
    except (Forbidden, TransitionNotAllowed) as exc:
        status = 403 if isinstance(exc, Forbidden) else 409
        return _record_page(request, page, svc.access.get(flow_name, record_id, page.actor), status=status,
                            banner=translate_message(page._, exc.message), task_form=(what, reason, to))
    if not svc.access.may_see(flow_name, record_id, page.actor):  # handed over to someone else, out of sight now
        return RedirectResponse(f"/?msg={what}", status_code=303)
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg={what}", status_code=303)
