"""Data tables of a flow: views (columns, filters, sums, keyset pages), saved views, bulk actions.

    GET    /api/flows/{flow}/table/columns      the columns, filter operators and sort keys a view may use
    POST   /api/flows/{flow}/table              one page of a view: {"view": {...}, "limit", "after", "sums"}
    GET    /api/flows/{flow}/table?view_id=7    one page of a saved view (limit, after, sums=true as parameters)
    GET    /api/flows/{flow}/views              the saved views the caller may open (own + shared with a role)
    POST   /api/flows/{flow}/views              save a view: {"name", "view", "shared_role"?, "default"?}
    GET    /api/flows/{flow}/views/default      the caller's default view (null: none)
    PATCH  /api/flows/{flow}/views/{id}         rename / redefine / (un)mark default
    DELETE /api/flows/{flow}/views/{id}
    POST   /api/flows/{flow}/bulk               {"action": "transition"|"assign", "ids": [...], ...}; per-record
                                                results; with Idempotency-Key a repeat replays the first answer

The engine does the work (engine/records/data_view.py, saved_views.py, bulk_actions.py); this module
reads the request and writes the JSON. Values are JSON: decimals and money as strings, dates and
instants in ISO 8601; a reference or choice cell also has its `label` in the caller's language.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from api.body import read_json
from api.deps import RequestActor, get_services
from api.idempotent import IDEMPOTENCY_HEADER
from api.reader_language import api_message, wanted_language
from api.record_io import checked_header
from api.services import ApiServices
from engine.records.bulk_actions import BulkResult, bulk_assign, bulk_transition, check_ids
from engine.records.data_view import (
    DEFAULT_SCAN_LIMIT, ViewPage, ViewReader, ViewSpec, available_columns, run_view, sort_keys, spec_from_json,
)
from engine.records.errors import ValidationFailed
from engine.records.idempotency import fingerprint
from engine.records.saved_views import SavedView, SavedViews, may_share
from engine.records.view_filters import OP_WORDS, filterable, ops_for, system_ops, SYSTEM_FILTERS
from forms.messages import Message

router = APIRouter(prefix="/api/flows/{flow}", include_in_schema=False)
Svc = Annotated[ApiServices, Depends(get_services)]
ViewId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def scan_limit(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "list_scan_limit", DEFAULT_SCAN_LIMIT))


def _reader(request: Request, svc: ApiServices, actor: Any) -> ViewReader:
    return ViewReader(svc.db, svc.records, actor, wanted_language(), scan_limit(request))


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def page_json(page: ViewPage) -> dict[str, Any]:
    return {
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind, "summable": c.summable, "sort": c.sort_key}
                    for c in page.columns],
        "items": [{"id": r.id, "state": r.state, "version": r.version, "title": r.title,
                   "cells": {k: {"value": json_value(c.value), **({"label": c.label} if c.label is not None else {}),
                                 **({"late": True} if c.late else {})} for k, c in r.cells.items()}}
                  for r in page.rows],
        "next": page.next_cursor, "limit": page.limit, "sort": page.sort,
        "sums": None if page.sums is None else {k: json_value(v) for k, v in page.sums.items()},
        "count": page.count, "notes": [api_message(n) for n in page.notes],
    }


def _int(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit())):
        raise ValidationFailed({name: Message("whole_number", "a whole number")})
    return int(raw)


def _bool(raw: Any) -> bool:
    return raw in (True, "true", "1", "yes", "on")


@router.get("/table/columns")
async def table_columns(flow: str, svc: Svc, actor: RequestActor) -> JSONResponse:
    compiled = svc.registry.get(flow).flow
    lang = wanted_language()
    fields = filterable(compiled)
    return JSONResponse({
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind, "summable": c.summable, "sort": c.sort_key}
                    for c in available_columns(compiled, lang)],
        "filters": [{"field": n, "ops": list(ops_for(f))} for n, f in fields.items()]
        + [{"field": n, "ops": list(system_ops(n))} for n in SYSTEM_FILTERS],
        "operators": OP_WORDS, "sort": list(sort_keys(compiled)), "may_share": may_share(compiled, actor),
    })


@router.post("/table")
async def table_page(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    data = await read_json(request, empty={})
    if not isinstance(data, dict) or set(data) - {"view", "limit", "after", "sums"}:
        raise ValidationFailed({"body": Message("table_body", "give an object with view, limit, after and sums")})
    spec = spec_from_json(data.get("view"))
    after = data.get("after")
    if after is not None and not isinstance(after, str):
        raise ValidationFailed({"after": Message("bad_cursor", "invalid cursor (take `next` from the previous page, "
                                                               "with the same sort)")})
    page = await svc.run(run_view, _reader(request, svc, actor), live, spec, limit=_int(data.get("limit"), "limit", 50),
                         after=after or None, sums=_bool(data.get("sums")))
    return JSONResponse(page_json(page))


@router.get("/table")
async def saved_table_page(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    params = request.query_params
    view = await svc.run(_views(svc).get, flow, _int(params.get("view_id"), "view_id", 0), actor)
    page = await svc.run(run_view, _reader(request, svc, actor), live, view.spec,
                         limit=_int(params.get("limit"), "limit", 50), after=params.get("after") or None,
                         sums=_bool(params.get("sums")))
    return JSONResponse(page_json(page))


# --- saved views ----------------------------------------------------------------------------------------

def _views(svc: ApiServices) -> SavedViews:
    return SavedViews(svc.db, svc.executor)


def _view_body(data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) - allowed:
        raise ValidationFailed({"body": Message("view_body", "give an object with: {keys}", keys=", ".join(sorted(allowed)))})
    return data


def _role(data: dict[str, Any]) -> str | None:
    role = data.get("shared_role")
    if role is not None and not isinstance(role, str):
        raise ValidationFailed({"shared_role": Message("view_unknown_role", "not a role of this flow")})
    return role or None


@router.get("/views")
async def list_views(flow: str, svc: Svc, actor: RequestActor) -> JSONResponse:
    svc.registry.get(flow)
    views = await svc.run(_views(svc).list, flow, actor)
    return JSONResponse({"items": [v.as_json() for v in views]})


@router.get("/views/default")
async def default_view(flow: str, svc: Svc, actor: RequestActor) -> JSONResponse:
    svc.registry.get(flow)
    view: SavedView | None = await svc.run(_views(svc).default, flow, actor)
    return JSONResponse(view.as_json() if view else None)


@router.post("/views")
async def save_view(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    compiled = svc.registry.get(flow).flow
    data = _view_body(await read_json(request, empty={}), {"name", "view", "shared_role", "default"})
    spec = spec_from_json(data.get("view"))
    view = await svc.run(_views(svc).create, compiled, actor, data.get("name"), spec, shared_role=_role(data),
                         is_default=_bool(data.get("default")))
    return JSONResponse(view.as_json(), status_code=201)


@router.get("/views/{view_id}")
async def read_view(flow: str, view_id: ViewId, svc: Svc, actor: RequestActor) -> JSONResponse:
    svc.registry.get(flow)
    view = await svc.run(_views(svc).get, flow, view_id, actor)
    return JSONResponse(view.as_json())


@router.patch("/views/{view_id}")
async def change_view(flow: str, view_id: ViewId, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    compiled = svc.registry.get(flow).flow
    data = _view_body(await read_json(request, empty={}), {"name", "view", "default"})
    spec: ViewSpec | None = spec_from_json(data["view"]) if "view" in data else None
    default = None if "default" not in data else _bool(data["default"])
    view = await svc.run(_views(svc).update, compiled, view_id, actor, name=data.get("name"), spec=spec,
                         is_default=default)
    return JSONResponse(view.as_json())


@router.delete("/views/{view_id}")
async def delete_view(flow: str, view_id: ViewId, svc: Svc, actor: RequestActor) -> Response:
    svc.registry.get(flow)
    await svc.run(_views(svc).delete, flow, view_id, actor)
    return Response(status_code=204)


# --- bulk actions ---------------------------------------------------------------------------------------

def result_json(r: BulkResult) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.record_id, "outcome": r.outcome}
    if r.ok:
        out.update(version=r.version, **({"state": r.state} if r.state else {}))
    else:
        out.update(code=r.code, reason=api_message(r.reason or ""))
    return out


@router.post("/bulk")
async def bulk_action(flow: str, request: Request, svc: Svc, actor: RequestActor) -> JSONResponse:
    live = svc.registry.get(flow)
    key = checked_header(IDEMPOTENCY_HEADER, request.headers.get(IDEMPOTENCY_HEADER), 255)
    data = await read_json(request, empty={})
    if not isinstance(data, dict) or set(data) - {"action", "ids", "transition", "to_user", "comment"}:
        raise ValidationFailed({"body": Message("bulk_body", "give an object with action, ids and the action's details")})
    ids = check_ids(data.get("ids"))
    action = data.get("action")
    if action == "transition":
        name, comment = data.get("transition"), data.get("comment")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValidationFailed({"transition": Message("bulk_transition", "name the transition")})
        if comment is not None and not isinstance(comment, str):
            raise ValidationFailed({"comment": Message("bulk_comment", "a comment is text")})

        def work() -> list[BulkResult]:
            return bulk_transition(svc.access, live.flow.name, ids, name, actor, comment=comment)
    elif action == "assign":
        to_user = data.get("to_user")
        if to_user is not None and (not isinstance(to_user, int) or isinstance(to_user, bool) or not 1 <= to_user < 2**31):
            raise ValidationFailed({"to_user": Message("bulk_user", "a user number, or null for the role's queue")})

        def work() -> list[BulkResult]:
            return bulk_assign(svc.access, svc.executor, live.flow.name, ids, to_user, actor)
    else:
        raise ValidationFailed({"action": Message("bulk_action", "the action is transition or assign")})
    if key is not None:
        stored = await svc.run(svc.idempotency.begin, actor.id, key, fingerprint(request.method, request.url.path, data))
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code,
                                headers={**stored.headers, "Idempotent-Replayed": "true"})
    try:
        results = await svc.run(work)
    except BaseException:
        if key is not None:
            await svc.run(svc.idempotency.release, actor.id, key)
        raise
    body = {"results": [result_json(r) for r in results], "done": sum(r.ok for r in results),
            "refused": sum(not r.ok for r in results)}
    if key is not None:
        await svc.run(svc.idempotency.complete, actor.id, key, 200, body, {})
    return JSONResponse(body)

