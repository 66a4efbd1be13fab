"""Errors as `application/problem+json` (RFC 9457).

Every error answer has `type`, `title`, `status`, `detail`, `instance` and our
stable `code`; validation errors add `errors` (one entry per field, with a JSON
pointer into the request body), a stale version adds `current_version`.

Statuses: 400 malformed request, 401 no valid credentials, 403 visible but not
allowed (role, read-only field, CSRF), 404 unknown or invisible, 409 stale
version or a state that does not allow the action (and an idempotency key still
in use), 413 body too large, 422 invalid values (and an idempotency key reused
for another request), 428 an edit without a version, 429 too many sign-in
failures. Anything unexpected is a 500 without internals.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.reader_language import api_message
from engine.records import errors as E
from engine.records.idempotency import IdempotencyKeyInUse, IdempotencyKeyReused

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:relayflow:problem:"
log = logging.getLogger("relayflow.api")

_STATUS: tuple[tuple[type[E.WorkflowError], int], ...] = (
    (E.Unauthenticated, 401),
    (E.NotFound, 404),
    (E.UnknownTransition, 404),
    (E.Forbidden, 403),  # ReadOnlyField too
    (E.StaleVersion, 409),
    (E.MissingRequired, 422),
    (E.CommentRequired, 422),
    (E.TransitionNotAllowed, 409),  # wrong state, closed record, condition not met
    (E.ValidationFailed, 422),
    (IdempotencyKeyReused, 422),
    (IdempotencyKeyInUse, 409),
)

TITLES = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Request too large", 415: "Unsupported media type",
          422: "Invalid values", 428: "Version required", 429: "Too many attempts",
          500: "Internal error", 503: "Service unavailable"}


class FieldError(BaseModel):
    field: str = Field(description="Field id (or request part) the message is about")
    pointer: str = Field(description="JSON pointer into the request body or a parameter name")
    detail: str


class Problem(BaseModel):
    """An error, as RFC 9457 describes it."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str = Field(description="Stable machine-readable error code")
    errors: list[FieldError] | None = None
    current_version: int | None = Field(default=None, description="On a stale version: the record's version now")


class ApiProblem(Exception):
    """An error found by the HTTP layer itself (malformed body, missing version, ...)."""

    def __init__(self, status: int, code: str, detail: str, *, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors, self.headers, self.extra = errors, headers or {}, extra


def field_error(field: str, detail: str, *, pointer: str | None = None) -> dict[str, str]:
    return {"field": field, "pointer": pointer or f"/values/{field}", "detail": detail}


def problem_response(request: Request | None, status: int, code: str, detail: str, *,
                     errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail, "instance": request.url.path if request is not None else None,
                            "code": code}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def status_of(exc: E.WorkflowError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def workflow_problem(request: Request | None, exc: E.WorkflowError) -> JSONResponse:
    status = status_of(exc)
    errors: list[dict[str, str]] | None = None
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, E.ValidationFailed):
        errors = [field_error(k, api_message(v), pointer=_field_pointer(k)) for k, v in exc.field_errors.items()]
    elif isinstance(exc, E.MissingRequired):
        errors = [field_error(f, "required before this transition") for f in exc.fields]
    elif isinstance(exc, E.CommentRequired):
        errors = [field_error("comment", "a comment is required", pointer="/comment")]
    elif isinstance(exc, E.ReadOnlyField):
        name = str(exc.details.get("field", ""))
        errors = [field_error(name, "read-only in this state for you")]
    elif isinstance(exc, E.StaleVersion):
        extra["current_version"] = exc.current_version
        headers["ETag"] = f'"{exc.current_version}"'
    elif isinstance(exc, E.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return problem_response(request, status, exc.code, api_message(exc.message), errors=errors, headers=headers, **extra)


_PARAMS = frozenset({"sort", "limit", "after", "q", "state", "assignee", "created_by", "comment", "version",
                     "expires", "expires_at", "name", "username", "role", "password", "record"})


def _field_pointer(key: str) -> str:
    """A flow field points into `values`; anything else is a top-level member or a parameter."""
    if "[" in key:  # a place inside a table field's rows: lines[2].quantity → /values/lines/2/quantity
        return "/values/" + key.replace("[", "/").replace("]", "").replace(".", "/")
    if key in _PARAMS or "." in key or key[:1].isupper():
        return "/" + key
    return f"/values/{key}"


def _pointer(loc: tuple[Any, ...]) -> tuple[str, str]:
    parts = [str(p) for p in loc]
    where = parts[0] if parts else ""
    rest = parts[1:]
    if where == "body":
        return (rest[-1] if rest else "body"), "/" + "/".join(rest)
    return (rest[-1] if rest else where), (rest[-1] if rest else where)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(E.WorkflowError)
    async def _workflow(request: Request, exc: E.WorkflowError) -> JSONResponse:
        return workflow_problem(request, exc)

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(request, exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers,
                                **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            field, pointer = _pointer(tuple(err.get("loc", ())))
            errors.append({"field": field, "pointer": pointer, "detail": str(err.get("msg", "invalid"))})
        return problem_response(request, 422, "validation_failed", "the request has invalid values", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        return problem_response(request, exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return crash_response(request, exc)


def crash_response(request: Request, exc: Exception) -> JSONResponse:
    """An unexpected failure: 503 with Retry-After while the database cannot be reached, else 500."""
    from api.outage import RETRY_AFTER_SECONDS, is_database_outage

    if is_database_outage(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(request, 503, "database_unavailable",
                                "the database cannot be reached just now; try again in a few seconds",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal_error", "something went wrong on our side")


# OpenAPI `responses=` for the routes: every error status with the Problem schema.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "description": TITLES.get(s, "Error"),
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}
