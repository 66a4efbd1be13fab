"""Records of any live flow: create, read, edit, list, history, transitions.

These routes serve every flow by its name; /openapi.json documents them once
per flow with that flow's typed models (api/openapi.py), so they are left out
of the schema here.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from forms.value_checks import ascii_whole
from api.body import EditBody, expected_version, parse_body, read_json
from api.deps import RecordId, RequestActor, get_services
from api.errors import ApiProblem
from api.idempotent import IDEMPOTENCY_HEADER, Outcome, once
from api.reader_language import api_message, api_text
from api.reference_io import reference_parts
from api.record_io import checked_header, create_values, record_answer, transition_request
from api.serialize import etag, history_json, record_json
from api.services import ApiServices
from engine.records.access import Access
from engine.records.errors import ValidationFailed
from engine.records.listing import ListQuery, list_records, parse_filters

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=100)]
LIST_PARAMS = frozenset({"state", "sort", "limit", "after", "q", "assignee", "created_by"})

router = APIRouter(prefix="/api/flows/{flow}/records", include_in_schema=False)
Svc = Annotated[ApiServices, Depends(get_services)]




def _header(request: Request, name: str, limit: int) -> str | None:
    """A header read directly (cheaper than a declared parameter on the hot routes)."""
    return checked_header(name, request.headers.get(name), limit)


@router.post("")
async def create_record(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    idempotency_key = _header(request, IDEMPOTENCY_HEADER, 255)
    data = await read_json(request)
    values = create_values(data)
    svc.registry.get(flow)

    def work(access: Access) -> Outcome:
        return record_answer(svc, flow, access.create(flow, actor, values), actor, 201)

    return await once(svc, request, actor, idempotency_key, data, work)


@router.get("/{record_id}")
async def read_record(flow: str, record_id: RecordId, svc: Svc, actor: RequestActor) -> JSONResponse:
    rec = await svc.run(svc.access.get, flow, record_id, actor)
    status, body, headers = record_answer(svc, flow, rec, actor)
    body.update(await svc.run(reference_parts, svc, rec, actor))
    return JSONResponse(body, status_code=status, headers=headers)


@router.patch("/{record_id}")
async def edit_record(flow: str, record_id: RecordId, request: Request, svc: Svc, actor: RequestActor,
                      if_match: IfMatch = None) -> JSONResponse:
    body = parse_body(EditBody, await read_json(request))
    version = expected_version(body.version, if_match)
    if version is None:
        raise ApiProblem(428, "version_required", 'send the version you saw: "version" in the body or If-Match')
    rec = await svc.write(lambda access: access.edit(flow, record_id, actor, body.values, expected_version=version,
                                                     comment=body.comment), touch=(flow, record_id))
    status, payload, headers = record_answer(svc, flow, rec, actor)
    return JSONResponse(payload, status_code=status, headers=headers)


@router.get("")
async def list_flow_records(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    params = request.query_params
    single = {k: params.getlist(k) for k in params if k in LIST_PARAMS and k != "state"}
    for key, values in single.items():
        if len(values) > 1:
            raise ValidationFailed({key: "give this parameter once"})
    filters = parse_filters(live.flow, {k: params.getlist(k) for k in params if k not in LIST_PARAMS})
    limit = _int_param(params.get("limit"), "limit")
    query = ListQuery(states=tuple(params.getlist("state")), filters=filters, search=params.get("q"),
                      assignee_id=_int_param(params.get("assignee"), "assignee"),
                      created_by=_int_param(params.get("created_by"), "created_by"),
                      sort=params.get("sort") or "-id", limit=50 if limit is None else limit,
                      after=params.get("after") or None)
    page = await svc.run(list_records, svc.db, svc.records, live, actor, query)
    items = [record_json(live.flow, r, actor) for r in page.records]
    return JSONResponse({"items": items, "next": page.next_cursor, "limit": page.limit, "sort": page.sort})


def _int_param(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    magnitude = ascii_whole(raw.removeprefix("-"))
    if magnitude is None:
        raise ValidationFailed({name: "a whole number"})
    value = -magnitude if raw.startswith("-") else magnitude
    if name != "limit" and not 1 <= value <= 2**31 - 1:
        raise ValidationFailed({name: "a user id"})
    return value


@router.get("/{record_id}/history")
async def record_history(flow: str, record_id: RecordId, svc: Svc, actor: RequestActor) -> JSONResponse:
    entries = await svc.run(svc.access.history, flow, record_id, actor)
    return JSONResponse([history_json(e) for e in entries])


@router.get("/{record_id}/transitions")
async def record_transitions(flow: str, record_id: RecordId, svc: Svc, actor: RequestActor) -> JSONResponse:
    def work() -> dict[str, Any]:
        rec = svc.access.get(flow, record_id, actor)
        views = svc.access.transitions(rec, actor)
        compiled = svc.registry.get(flow).flow
        return {"flow": flow, "record_id": rec.id, "state": rec.state, "version": rec.version, "transitions": [
            {"name": v.option.name, "title": api_text(v.option.title, compiled), "to": v.option.to,
             "visible": v.visible, "allowed": v.allowed, "reasons": [api_message(r) for r in v.option.reasons],
             "comment": v.option.comment, "confirm": api_text(v.option.confirm, compiled),
             "require": list(v.option.require)} for v in views]}

    payload = await svc.run(work)
    return JSONResponse(payload, headers={"ETag": etag(payload["version"])})


@router.post("/{record_id}/transitions/{transition}")
async def fire_transition(flow: str, record_id: RecordId, transition: Annotated[str, Path(max_length=64)],
                          request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    idempotency_key = _header(request, IDEMPOTENCY_HEADER, 255)
    data = await read_json(request, empty={})
    version, values, comment = transition_request(data, request.headers.get("If-Match"))

    def work(access: Access) -> Outcome:
        rec = access.transition(flow, record_id, transition, actor, expected_version=version,
                                values=values, comment=comment)
        return record_answer(svc, flow, rec, actor)

    return await once(svc, request, actor, idempotency_key, data, work)
