"""The outermost layer of every HTTP request: its id, its metrics, its access-log line, and the last word
on failures nothing behind it answered.

* Reader's language: the languages `?lang=` and Accept-Language ask for, kept
  while the request is answered (api/reader_language.py).
* Request id: a sane incoming `X-Request-ID` (1–128 of letters, digits and
  `._:-`, e.g. a proxy's UUID) is kept; anything else is replaced by a new one.
  It is returned in the `X-Request-ID` answer header and is in every log line
  written while the request runs (`request_id`, through a contextvar that
  worker threads inherit; see api/logging_setup.py).
* Metrics: count and latency by route template (api/metrics.py).
* Access log: one `relayflow.access` line per request when INFO is enabled
  for it (RELAYFLOW_ACCESS_LOG=off: none).
* Safety net: an exception that escapes everything behind this layer becomes
  a problem+json answer: 503 with Retry-After when the database cannot be
  reached (api/outage.py), 500 otherwise. No traceback reaches the client.

It is a plain ASGI layer and does only dictionary look-ups and a few clock
reads per request: the request path stays fast (bench/http_bench.py).
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import time
from contextvars import ContextVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, TITLES, TYPE_PREFIX
from api.metrics import RequestMetrics
from api.outage import RETRY_AFTER_SECONDS, is_database_outage
from api.reader_language import enter_reader, leave_reader

REQUEST_ID: ContextVar[str] = ContextVar("relayflow_request_id", default="-")
_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
access_log = logging.getLogger("relayflow.access")
log = logging.getLogger("relayflow.api")


_ID_PREFIX = os.urandom(6).hex()  # differs per process: ids stay unique across workers and restarts
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):012x}"


class RequestContext:
    """ASGI layer: request id, metrics, access log, last-resort error answers."""

    def __init__(self, app: ASGIApp, *, metrics: bool = True, access: bool = True) -> None:
        self.app = app
        self.metrics = RequestMetrics() if metrics else None
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = None
        accept_language = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("ascii") if _SANE_ID.fullmatch(value) else None
            elif name == b"accept-language":
                accept_language = value
        rid = rid or new_request_id()
        token = REQUEST_ID.set(rid)
        reader = enter_reader(scope.get("query_string", b""), accept_language)
        id_header = (b"x-request-id", rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the client gets an answer, the log gets the details
            if status == 0:  # else FastAPI's error handler has answered (and logged) and raised it again
                outage = is_database_outage(exc)
                if outage:
                    log.warning("database unavailable on %s %s: %s", scope["method"], scope["path"], type(exc).__name__)
                else:
                    log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                status = 503 if outage else 500
                await _problem(send_with_id, scope, status)
        finally:
            REQUEST_ID.reset(token)
            leave_reader(reader)
            elapsed = time.perf_counter() - started
            route = scope.get("relayflow.route") or _route_of(scope)
            if self.metrics is not None:
                self.metrics.record(scope["method"], route, status, elapsed)
            if self.access and access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info("%s %s %d", scope["method"], scope["path"], status, extra={
                    "request_id": rid, "method": scope["method"], "path": scope["path"], "route": route,
                    "status": status, "duration_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None})


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope["path"].startswith("/static/"):
        return "/static"
    return "unmatched"


async def _problem(send: Send, scope: Scope, status: int) -> None:
    code = "database_unavailable" if status == 503 else "internal_error"
    detail = ("the database cannot be reached just now; try again in a few seconds" if status == 503
              else "something went wrong on our side")
    body = orjson.dumps({"type": TYPE_PREFIX + code, "title": TITLES.get(status, "Error"), "status": status,
                         "detail": detail, "instance": scope["path"], "code": code})
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
