"""The record routes an integration calls most, served without FastAPI's per-request machinery.

Creating a record and firing a transition are what a web shop or an ERP
sends all day long. FastAPI's routing, dependency solving and response
classes cost several times the engine's own work for these small requests,
so this ASGI layer answers them directly: the same authentication, body
rules, engine calls, JSON and problem+json errors as the routes in
api/routers/records.py, which stay the documented and complete version.

Only the plain case is taken here: a bearer token, no `Idempotency-Key`, no
query string, a known flow, a valid record id. Everything else (session
cookies with their CSRF check, idempotent replays, unknown paths) goes on to
the FastAPI app untouched, and is decided before the body is read.
RELAYFLOW_API_HOT_ROUTES=off turns this layer off (the parity tests use it).
"""
from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.body import check_body_headers, decode_json, read_whole_body, require_content_type
from api.deps import MAX_ID, token_principal
from api.errors import ApiProblem, crash_response, problem_response, workflow_problem
from api.record_io import create_values, record_answer, transition_request
from api.services import ApiServices
from engine.records.errors import Unauthenticated, WorkflowError
from engine.records.records import Record
from engine.settings import Settings

_CREATE = re.compile(r"/api/flows/([^/]{1,200})/records")
_TRANSITION = re.compile(r"/api/flows/([^/]{1,200})/records/([1-9][0-9]{0,18})/transitions/([^/]{1,64})")
_CREATE_ROUTE = "/api/flows/{flow}/records"
_TRANSITION_ROUTE = "/api/flows/{flow}/records/{record_id}/transitions/{transition}"
_DIVERTING_HEADERS = frozenset({b"idempotency-key", b"cookie"})
log = logging.getLogger("relayflow.api")


def hot_routes_enabled(settings: Settings) -> bool:
    return settings.api_hot_routes


class HotRecordRoutes:
    """ASGI middleware: POST .../records and POST .../records/{id}/transitions/{name}, plain case only."""

    def __init__(self, app: ASGIApp, services: ApiServices) -> None:
        self.app = app
        self.svc = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["query_string"]:
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        create = _CREATE.fullmatch(path)
        move = None if create else _TRANSITION.fullmatch(path)
        match = create or move
        if match is not None:
            scope["relayflow.route"] = _CREATE_ROUTE if create else _TRANSITION_ROUTE  # for metrics and logs
        if match is None or match.group(1) not in self.svc.registry or (move and int(move.group(2)) > MAX_ID):
            return await self.app(scope, receive, send)
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _DIVERTING_HEADERS or name in headers:
                return await self.app(scope, receive, send)  # replays, cookies, repeated headers: the full route
            headers[name] = value
        if b"authorization" not in headers:
            return await self.app(scope, receive, send)
        try:
            status, body, extra = await self._handle(scope, receive, headers, create is not None, match)
        except WorkflowError as exc:
            return await workflow_problem(Request(scope), exc)(scope, receive, send)
        except ApiProblem as exc:
            response = problem_response(Request(scope), exc.status, exc.code, exc.detail, errors=exc.errors,
                                        headers=exc.headers, **exc.extra)
            return await response(scope, receive, send)
        except Exception as exc:  # in front of FastAPI's error middleware: answer as its handler would
            return await crash_response(Request(scope), exc)(scope, receive, send)
        payload = orjson.dumps(body)
        # What starlette's Response(payload, status, extra, "application/json") sends, built directly.
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        raw += [(b"content-length", str(len(payload)).encode("latin-1")), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], create: bool,
                      match: re.Match[str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        svc = self.svc
        actor = (await token_principal(svc, _bearer_secret(headers[b"authorization"]))).actor
        ctype = headers.get(b"content-type")
        length = headers.get(b"content-length")
        check_body_headers(ctype.decode("latin-1") if ctype else None, length.decode("latin-1") if length else None)
        raw = await read_whole_body(receive)
        require_content_type(ctype.decode("latin-1") if ctype else None, raw)  # the rules of api/body_rules.py
        flow = match.group(1)
        if create:
            values = create_values(decode_json(raw))
            rec: Record = await svc.write(lambda access: access.create(flow, actor, values), touch=(flow, None))
            return record_answer(svc, flow, rec, actor, 201)
        if_match = headers.get(b"if-match")
        version, moved_values, comment = transition_request(
            decode_json(raw, empty={}), if_match.decode("latin-1") if if_match is not None else None)
        record_id = int(match.group(2))
        transition = match.group(3)
        rec = await svc.write(lambda access: access.transition(
            flow, record_id, transition, actor, expected_version=version, values=moved_values, comment=comment),
            touch=(flow, record_id))
        return record_answer(svc, flow, rec, actor)


def _bearer_secret(header: bytes) -> str:
    scheme, _, secret = header.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("use `Authorization: Bearer <token>`")
    return secret.strip()
