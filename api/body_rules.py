"""One rule for request bodies on every route under /api/, applied before any route runs.

For POST, PUT, PATCH and DELETE:

* a body must be JSON: a `Content-Type` that is not `application/json` (or
  `application/<x>+json`), or a non-empty body without a Content-Type, is a
  415; `multipart/form-data` is left to the routes that take uploads;
* a body larger than api/body.py's MAX_BODY is a 413;
* a file upload (`POST /api/flows/<flow>/files/<field>`: the file itself is the
  body, streamed to the file store with its own size limit), a spreadsheet import
  (`POST /api/flows/<flow>/imports`) and the org chart's CSV import
  (`POST /api/departments/import`) are left to their routes;
* malformed JSON, NaN/Infinity, nesting too deep, and an object with the same
  key twice (`{"a": 1, "a": 2}`: no silent last-one-wins) are a 400;
* well-formed JSON that does not fit the route (wrong members, not an object)
  is the route's 422.

The lean record routes (api/hot_routes.py) run in front of this layer and apply
the same rules themselves (they read the body once, for speed). The body is parsed here once; the routes (api/body.py `read_json`, the lean
routes) take the parsed value from the scope instead of parsing again. An
empty body passes through: routes that need one say so (400).
"""
from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body import JSON_TYPE, MAX_BODY, decode_json, read_whole_body, require_content_type
from api.errors import ApiProblem, problem_response

PARSED = "relayflow.json"  # scope key of the parsed body
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PASS_TYPES = ("multipart/form-data",)
# Routes whose body is not JSON by design: a file upload (api/routers/files.py: the raw file, streamed) and the
# org chart's CSV import (api/routers/org.py), a spreadsheet import's upload (api/routers/transfer.py).
_UPLOAD = re.compile(r"^/api/(flows/[^/]+/files/[^/]+|flows/[^/]+/imports|departments/import)/?$")


class JsonBodyRules:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or scope["method"] not in _WITH_BODY or not path.startswith("/api/")
                or (("/files/" in path or path.endswith(("/imports", "/imports/")) or path.startswith("/api/departments/"))
                    and _UPLOAD.match(path))):
            await self.app(scope, receive, send)
            return
        ctype = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                ctype = value.decode("latin-1").strip()
            elif name == b"content-length":
                length = value
        if ctype is not None and ctype.lower().startswith(_PASS_TYPES):
            await self.app(scope, receive, send)
            return
        try:
            if ctype is not None and not JSON_TYPE.match(ctype):
                raise ApiProblem(415, "unsupported_media_type", "send the body as application/json")
            if length is not None and length.isdigit() and int(length) > MAX_BODY:
                raise ApiProblem(413, "body_too_large", f"the body may be at most {MAX_BODY} bytes")
            raw = await read_whole_body(receive)
            require_content_type(ctype, raw)
            if raw.strip():
                scope[PARSED] = decode_json(raw)
        except ApiProblem as exc:
            await problem_response(Request(scope), exc.status, exc.code, exc.detail)(scope, receive, send)
            return
        await self.app(scope, _replay(raw, receive), send)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()  # a disconnect, when the client goes away

    return again


def parsed_body(scope: Scope) -> Any:
    """The body as JsonBodyRules parsed it (None: no body, or the layer is not installed)."""
    return scope.get(PARSED)
