"""FastAPI dependencies: the services, the signed-in user (bearer token or session cookie), admins only.

A request is authenticated by `Authorization: Bearer <API token>` or, for the
pages and htmx, by the session cookie. A cookie-authenticated request that
changes something (POST, PUT, PATCH, DELETE) must also carry the session's
CSRF token in the `X-CSRF-Token` header; a bearer token needs none (a browser
never sends it on its own).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator

from api.errors import ApiProblem
from api.services import ApiServices, CachedAuth
from engine.records.actor import Actor
from engine.records.errors import Forbidden, Unauthenticated
from engine.people.sessions import Session, csrf_matches, session_actor
from engine.people.tokens import authenticate, hash_secret
from forms.value_checks import ascii_whole

SESSION_COOKIE = "relayflow_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ID = 2**63 - 1  # the largest row id SQLite (and BIGINT) can hold; larger ones would overflow in the query


def digits_only(raw: Any) -> Any:
    """A whole number in a URL or a form is written with 0-9 only: "1_000", "1.0", "١٢" are not ids."""
    if isinstance(raw, str):
        value = ascii_whole(raw)
        if value is None:
            raise ValueError("must be a whole number written with the digits 0-9")
        return value
    return raw


RecordId = Annotated[int, BeforeValidator(digits_only), Path(ge=1, le=MAX_ID, description="Record id")]
FormInt = Annotated[int | None, BeforeValidator(lambda raw: None if raw == "" else digits_only(raw))]

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="apiToken",
                           description="An API token (`relayflow token create USER` or POST /api/tokens)")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="sessionCookie",
                             description="The browser session of POST /api/session; changes need X-CSRF-Token")


async def get_services(request: Request) -> ApiServices:  # async: no threadpool hop per request
    return request.app.state.api  # type: ignore[no-any-return]


Services = Annotated[ApiServices, Depends(get_services)]


@dataclass(frozen=True)
class Principal:
    actor: Actor
    via: Literal["token", "session"]
    session: Session | None = None
    token_id: int | None = None


def _token_auth(svc: ApiServices, secret: str) -> CachedAuth:
    key = "t:" + hash_secret(secret)
    hit = svc.auth_cache.get(key)
    if hit is not None:
        return hit
    auth = authenticate(svc.executor, secret)
    cached = CachedAuth(auth.actor, auth.token_id, None, auth.expires_at)
    svc.auth_cache.put(key, cached)
    return cached


def _session_auth(svc: ApiServices, secret: str) -> CachedAuth:
    key = "s:" + hash_secret(secret)
    hit = svc.auth_cache.get(key)
    if hit is not None:
        return hit
    actor, session = session_actor(svc.executor, secret)
    cached = CachedAuth(actor, None, session, session.expires_at)
    svc.auth_cache.put(key, cached)
    return cached


async def token_principal(svc: ApiServices, secret: str) -> Principal:
    """Who an API token belongs to (Unauthenticated when unknown, revoked or expired).

    A cache hit is answered on the event loop; only a miss hops to the database.
    """
    auth = svc.auth_cache.get("t:" + hash_secret(secret)) or await svc.run(_token_auth, svc, secret)
    return Principal(auth.actor, "token", token_id=auth.token_id)


async def principal_of(request: Request) -> Principal:
    """Who sent the request (bearer token first, else the session cookie); Unauthenticated otherwise."""
    svc: ApiServices = request.app.state.api
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("use `Authorization: Bearer <token>`")
        return await token_principal(svc, secret.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth = svc.auth_cache.get("s:" + hash_secret(cookie)) or await svc.run(_session_auth, svc, cookie)
        assert auth.session is not None
        if request.method not in SAFE_METHODS and not csrf_matches(auth.session, request.headers.get(CSRF_HEADER)):
            raise ApiProblem(403, "csrf_failed", f"a signed-in browser request that changes data needs the "
                                                 f"{CSRF_HEADER} header of its session")
        return Principal(auth.actor, "session", session=auth.session)
    raise Unauthenticated("sign in: send `Authorization: Bearer <API token>` or the session cookie")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """`principal_of`, declared with its security schemes so that the OpenAPI document shows them."""
    return await principal_of(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_actor(principal: CurrentPrincipal) -> Actor:
    return principal.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def admin_actor(request: Request, actor: CurrentActor) -> Actor:
    if not actor.is_admin:
        from api.security_log import client_of, security_event

        security_event("admin_refused", "administrators' route refused", client=client_of(request),
                       username=actor.username, method=request.method, path=request.url.path)
        raise Forbidden("only administrators may do this")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]


async def request_actor(request: Request) -> Actor:
    """The same as CurrentActor in one dependency (for the hot record routes, documented in api/openapi.py)."""
    return (await principal_of(request)).actor


RequestActor = Annotated[Actor, Depends(request_actor)]
