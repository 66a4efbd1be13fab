"""Reading request bodies: JSON only, size-limited, numbers kept exact, shapes checked strictly.

Malformed JSON, a body that is not an object, NaN/Infinity, an integer with
thousands of digits or nesting deep enough to overflow the parser are a 400;
a well-formed body with wrong members is a 422 with one error per member.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from starlette.types import Receive
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from api.errors import ApiProblem
from engine.records.records import MAX_COMMENT

MAX_BODY = 1_000_000
MAX_VERSION = 2**31 - 1
M = TypeVar("M", bound=BaseModel)
JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.I)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: `{"a": 1, "a": 2}` is refused, not read as `{"a": 2}`."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"the key {key[:100]!r} appears twice in one object")
            seen.add(key)
    return obj


# One decoder for every body: `json.loads` with options builds a new decoder (and its scanner) per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_unique_keys)


async def read_json(request: Request, *, empty: Any = None) -> Any:
    """The parsed body; `empty` (when not None) stands for a missing body. The body rules in front of the
    app (api/body_rules.py) have usually parsed it already."""
    parsed = request.scope.get("relayflow.json")
    if parsed is not None:
        return parsed
    check_body_headers(request.headers.get("content-type"), request.headers.get("content-length"))
    return decode_json(await request.body(), empty=empty)


async def read_whole_body(receive: Receive) -> bytes:
    """The whole request body from the ASGI channel, refused (413) as soon as it grows past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiProblem(400, "malformed_json", "the client went away before the body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiProblem(413, "body_too_large", f"the body may be at most {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def require_content_type(ctype: str | None, raw: bytes) -> None:
    """A body without a Content-Type is refused (415) rather than guessed at; an empty one passes."""
    if ctype is None and raw.strip():
        raise ApiProblem(415, "unsupported_media_type", "send the body as application/json "
                                                        "(with Content-Type: application/json)")


def check_body_headers(ctype: str | None, length: str | None) -> None:
    """Refuse a body that is not JSON or announces more than MAX_BODY bytes, before reading it."""
    if ctype and not JSON_TYPE.match(ctype.strip()):
        raise ApiProblem(415, "unsupported_media_type", "send the body as application/json")
    if length and length.isdecimal() and int(length) > MAX_BODY:
        raise ApiProblem(413, "body_too_large", f"the body may be at most {MAX_BODY} bytes")


def decode_json(raw: bytes, *, empty: Any = None) -> Any:
    """Bytes read from the request as JSON: decimals kept exact, NaN/Infinity refused."""
    if len(raw) > MAX_BODY:
        raise ApiProblem(413, "body_too_large", f"the body may be at most {MAX_BODY} bytes")
    if not raw.strip():
        if empty is not None:
            return empty
        raise ApiProblem(400, "malformed_json", "a JSON body is needed")
    try:
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw)
    except DuplicateKey as exc:
        raise ApiProblem(400, "duplicate_key", f"the body is not valid here: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(400, "malformed_json", f"the body is not valid JSON: {str(exc)[:200]}") from None


def parse_body(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ApiProblem(422, "validation_failed", "the body must be a JSON object",
                         errors=[{"field": "body", "pointer": "", "detail": "must be a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err.get("loc", ())]
            errors.append({"field": loc[-1] if loc else "body", "pointer": "/" + "/".join(loc),
                           "detail": str(err.get("msg", "invalid"))})
        raise ApiProblem(422, "validation_failed", "the request body has invalid members", errors=errors) from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Version = StrictInt


class CreateBody(_Body):
    values: dict[str, Any] = Field(default_factory=dict)


class EditBody(_Body):
    version: Version | None = Field(default=None, ge=1, le=MAX_VERSION)
    values: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


class TransitionBody(_Body):
    version: Version | None = Field(default=None, ge=1, le=MAX_VERSION)
    values: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


_IF_MATCH = re.compile(r'^\s*(?:W/)?"([0-9]{1,10})"\s*$')


def expected_version(body_version: int | None, if_match: str | None) -> int | None:
    """The version the client saw: the body's `version` or an `If-Match: "N"` header (they must agree)."""
    header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        m = _IF_MATCH.match(if_match)
        if not m:
            raise ApiProblem(400, "bad_if_match", 'If-Match must be the record\'s ETag, such as "3"')
        header = int(m.group(1))
    if header is not None and body_version is not None and header != body_version:
        raise ApiProblem(422, "version_mismatch", "If-Match and the body's version disagree",
                         errors=[{"field": "version", "pointer": "/version", "detail": "differs from If-Match"}])
    return body_version if body_version is not None else header
