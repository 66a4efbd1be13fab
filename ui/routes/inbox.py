"""The inbox (home page): what waits on me or my roles, most urgent first; claim and reassign."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import FormInt, RecordId
from engine.records.claims import claim, may_claim
from engine.records.inbox import InboxItem, inbox
from ui.auth import Page, checked_page, current_page, is_htmx
from ui.errors import PageRoute
from ui.i18n.flow_text import flow_text, reader_record_title
from ui.services import services
from ui.sla_view import SlaBadge, age_text, sla_badge
from ui.templating import render
from ui.values import display

router = APIRouter(route_class=PageRoute, include_in_schema=False)

INBOX_LIMIT = 50


@dataclass(frozen=True)
class InboxRow:
    item: InboxItem
    sla: SlaBadge | None
    age: str
    mine: bool
    queue: str | None  # the role title of an unassigned record
    can_claim: bool
    flow_title: str = ""  # in the reader's language
    record_title: str = ""
    state_title: str = ""
    keys: tuple[tuple[str, str], ...] = ()  # the flow's inbox_fields: (label, value) in the reader's language

    @property
    def url(self) -> str:
        return f"/records/{self.item.flow}/{self.item.record_id}"


def _rows(request: Request, page: Page, items: list[InboxItem]) -> list[InboxRow]:
    registry = services(request).registry
    out = []
    for it in items:
        flow = registry.get(it.flow).flow
        role = flow.spec.roles.get(it.assignee_role or "")
        out.append(InboxRow(
            item=it, sla=sla_badge(flow, it.state, it.sla_status, it.sla_due_at, it.sla_warn_at, page.now, page._),
            age=age_text(it.created_at, page.now, page._), mine=it.assignee_id == page.actor.id,
            queue=(flow_text(role.title, page._.locale, flow) if role and role.title else it.assignee_role)
            if it.assignee_id is None else None,
            can_claim=may_claim(flow, it.state, it.assignee_id, page.actor),
            flow_title=flow_text(it.flow_title, page._.locale, flow), state_title=flow_text(it.state_title, page._.locale, flow),
            record_title=reader_record_title(it.title, it.record_id, page._.locale, flow),
            keys=tuple((flow_text(flow.fields[n].title, page._.locale, flow) or n, display(flow.fields[n], v, flow.timezone, page._))
                       for n, v in it.key_values)))
    return out


@router.get("/")
def inbox_page(request: Request, page: Annotated[Page, Depends(current_page)], msg: str = "") -> Response:
    svc = services(request)
    items = inbox(svc.db, svc.registry, page.actor, limit=INBOX_LIMIT)
    rows = _rows(request, page, items)
    creatable = [(lf.flow.name, flow_text(lf.flow.spec.title, page._.locale, lf.flow) or lf.flow.name) for lf in svc.registry.all()
                 if page.actor.roles & lf.flow.creator_roles]
    return render("inbox.html", page.context(rows=rows, creatable=creatable, msg=msg))


@router.post("/records/{flow}/{record_id}/claim")
def claim_record(request: Request, flow: str, record_id: RecordId, page: Annotated[Page, Depends(checked_page)],
                 version: Annotated[FormInt, Form()] = None) -> Response:
    svc = services(request)
    claim(svc.executor, svc.registry, flow, record_id, page.actor, expected_version=version)
    if is_htmx(request):
        items = [i for i in inbox(svc.db, svc.registry, page.actor, limit=INBOX_LIMIT)
                 if i.flow == flow and i.record_id == record_id]
        return render("_inbox_row.html", page.context(row=_rows(request, page, items)[0] if items else None))
    return RedirectResponse(f"/records/{flow}/{record_id}?msg=claimed", status_code=303)
