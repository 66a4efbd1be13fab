"""The OpenAPI document, with each live flow's record operations spelled out in its own typed models.

The record routes of api/routers/records.py serve every flow by name. For the
document, each flow gets "documentary" routes (never mounted) whose signatures
carry that flow's models, filters and transition names; FastAPI turns them
into paths and components. The document is rebuilt when the flows change
(keyed on each flow's name, revision and hash), so a reload shows at once.
"""
from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import WithJsonSchema
from starlette.routing import BaseRoute

from api.deps import RecordId, current_principal
from api.errors import problem_responses
from api.idempotent import IDEMPOTENCY_HEADER
from api.models import FlowModels, _value_schema, models_for
from api.schemas import HistoryEntry, TransitionList
from forms.local_text import pick
from engine.records.listing import MAX_LIMIT, MAX_SEARCH, filterable_fields, range_fields, sort_keys
from engine.storage.registry import FlowRegistry, LiveFlow

KW = inspect.Parameter.KEYWORD_ONLY
DESCRIPTION = """\
Relayflow's REST API. Sign in with `Authorization: Bearer <API token>` (make one
with `relayflow token create USER` or `POST /api/tokens`) or with the session
cookie of `POST /api/session` (then send `X-CSRF-Token` on changes).

Errors are `application/problem+json` (RFC 9457) with a stable `code`.
404: unknown, or a record you may not see. 403: visible but not allowed.
409: stale version (`current_version` tells the one now) or a state that does
not allow it. 422: invalid values, with one entry per field in `errors`.
Creates and transitions take an `Idempotency-Key` header.
"""


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, KW, annotation=annotation, default=default)


def _endpoint(params: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    async def endpoint(**_: Any) -> Any:  # pragma: no cover - documentation only, never mounted
        raise NotImplementedError

    endpoint.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    return endpoint


def _record_id() -> inspect.Parameter:
    return _param("record_id", RecordId)


def _filter_params(live: LiveFlow) -> list[inspect.Parameter]:
    flow = live.flow
    params = []
    ranged = range_fields(flow)
    for name, f in filterable_fields(flow).items():
        schema = _value_schema(f, nullable=False)
        kinds = [("", "equal to")]
        if name in ranged:
            kinds += [(".gte", "at least"), (".lte", "at most")]
        for suffix, words in kinds:
            alias = name + suffix
            py = "q_" + alias.replace(".", "_")
            ann = Annotated[Any, WithJsonSchema(schema),
                            Query(alias=alias, description=f"{pick(f.title, None, flow.spec.language) or name} {words} this value")]
            params.append(_param(py, ann, None))
    return params


def _flow_routes(live: LiveFlow) -> list[BaseRoute]:
    flow = live.flow
    name = flow.name
    m: FlowModels = models_for(live)
    label = pick(flow.spec.title, None, flow.spec.language) or name
    router = APIRouter(prefix=f"/api/flows/{name}/records", tags=[f"flow: {name}"],
                       dependencies=[Depends(current_principal)])
    idem = _param("idempotency_key", Annotated[str | None, Header(
        alias=IDEMPOTENCY_HEADER, pattern=r"^[!-~]{1,255}$", description="Retry-safe key: a replay returns the first result")],
        None)
    if_match = _param("if_match", Annotated[str | None, Header(
        alias="If-Match", pattern=r'^(\*|(W/)?"[0-9]{1,10}")$', description='The record\'s ETag, e.g. "3" (or send `version`)')], None)
    body_errors = (400, 401, 403, 404, 409, 413, 415, 422)

    router.add_api_route(
        "", _endpoint([_param("body", Annotated[m.create_request, Body()]), idem], m.record),
        methods=["POST"], response_model=m.record, status_code=201, operation_id=f"{name}__create",
        summary=f"Create a {label} record", responses=problem_responses(*body_errors))

    sorts = [*sort_keys(flow), *("-" + k for k in sort_keys(flow))]
    states = tuple(flow.spec.states)
    list_params = [
        _param("state", Annotated[list[Literal[states]] | None, Query(  # type: ignore[valid-type]
            description="Only records in these states (repeat the parameter)")], None),
        _param("sort", Annotated[Literal[tuple(sorts)], Query(  # type: ignore[valid-type]
            description="Sort key, '-' for descending; ties by id")], "-id"),
        _param("limit", Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")], 50),
        _param("after", Annotated[str | None, Query(max_length=500, description="`next` of the previous page")],
               None),
        _param("q", Annotated[str | None, Query(max_length=MAX_SEARCH, description="Text search in indexed text fields")],
               None),
        _param("assignee", Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Assigned to this user id")],
               None),
        _param("created_by", Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Created by this user id")],
               None),
        *_filter_params(live),
    ]
    router.add_api_route(
        "", _endpoint(list_params, m.page), methods=["GET"], response_model=m.page,
        operation_id=f"{name}__list", summary=f"List {label} records you may see",
        responses=problem_responses(401, 404, 422))
    router.add_api_route(
        "/{record_id}", _endpoint([_record_id()], m.record), methods=["GET"], response_model=m.record,
        operation_id=f"{name}__read", summary=f"Read a {label} record (ETag: its version)",
        responses=problem_responses(401, 404, 422))
    router.add_api_route(
        "/{record_id}", _endpoint([_record_id(), _param("body", Annotated[m.edit_request, Body()]), if_match],
                                  m.record),
        methods=["PATCH"], response_model=m.record, operation_id=f"{name}__edit",
        summary=f"Edit a {label} record within its state's rules", responses=problem_responses(*body_errors, 428),
        description="Needs the version you saw: `version` in the body or an `If-Match` header with the record's "
                    "ETag. Without either the answer is **428** (`version_required`); with an old one, 409.")
    router.add_api_route(
        "/{record_id}/history", _endpoint([_record_id()], list[HistoryEntry]), methods=["GET"],
        response_model=list[HistoryEntry], operation_id=f"{name}__history", summary="History of a record",
        responses=problem_responses(401, 404, 422))
    router.add_api_route(
        "/{record_id}/transitions", _endpoint([_record_id()], TransitionList), methods=["GET"],
        response_model=TransitionList, operation_id=f"{name}__transitions",
        summary="Transitions from the record's state, with the reasons the others cannot fire",
        responses=problem_responses(401, 404, 422))
    names = tuple(flow.spec.transitions)
    if names:
        lines = []
        for tname, t in flow.spec.transitions.items():
            cond = f"; when {t.when}" if t.when else ""
            shown = pick(t.title, None, flow.spec.language) or tname
            lines.append(f"* `{tname}` — {shown}: {', '.join(t.from_)} → {t.to}; by {', '.join(t.by)}{cond}")
        router.add_api_route(
            "/{record_id}/transitions/{transition}",
            _endpoint([_record_id(), _param("transition", Annotated[Literal[names], Path(  # type: ignore[valid-type]
                description="Transition id")]),
                _param("body", Annotated[m.transition_request | None, Body()], None), if_match, idem], m.record),
            methods=["POST"], response_model=m.record, operation_id=f"{name}__fire",
            summary=f"Fire a transition of a {label} record", description="\n".join(lines),
            responses=problem_responses(*body_errors))
    return list(router.routes)


def _flows_key(registry: FlowRegistry) -> tuple[tuple[str, int, str], ...]:
    return tuple(sorted((lf.flow.name, lf.revision, lf.flow.sha256) for lf in registry.all()))


def build_openapi(app: FastAPI, registry: FlowRegistry, names: frozenset[str] | None = None) -> dict[str, Any]:
    """The document with the typed operations of the flows named in `names` (None: every flow); cached
    per set of flows and rebuilt when a flow changes."""
    cache: dict[Any, Any] = app.state.__dict__.setdefault("_openapi_cache", {})
    lock: threading.Lock = app.state.__dict__.setdefault("_openapi_lock", threading.Lock())
    flows_key = _flows_key(registry)
    key = (flows_key, len(app.routes), names)
    hit = cache.get(names)
    if hit is not None and hit[0] == key:
        return hit[1]  # type: ignore[no-any-return]
    with lock:
        routes: list[BaseRoute] = [r for r in app.routes if not (isinstance(r, APIRoute) and not r.include_in_schema)]
        for live in sorted(registry.all(), key=lambda lf: lf.flow.name):
            if names is None or live.flow.name in names:
                routes.extend(_flow_routes(live))
        doc = get_openapi(title=app.title, version=app.version, description=DESCRIPTION, routes=routes)
        if len(cache) > 64:  # one entry per distinct set of visible flows; keep the newest few
            cache.clear()
        cache[names] = (key, doc)
        return doc


def install_openapi(app: FastAPI, registry: FlowRegistry) -> None:
    """Replace app.openapi with one that adds every flow's typed operations and follows reloads (the
    whole document, for tools and tests in-process; over HTTP, api/api_docs.py serves each reader theirs)."""

    def openapi() -> dict[str, Any]:
        doc = build_openapi(app, registry)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
