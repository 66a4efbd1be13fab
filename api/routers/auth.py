"""Sign in and out: `POST /api/session` sets the session cookie, `DELETE /api/session` ends it."""
from __future__ import annotations

from typing import Any

import anyio.to_thread

from fastapi import APIRouter, Request, Response

from api.deps import SESSION_COOKIE, CurrentPrincipal, Services
from api.errors import ApiProblem, problem_responses
from api.schemas import LoginBody, SessionOut
from api.security_log import client_of, security_event
from api.services import ApiServices
from engine.records.actor import Actor
from engine.records.errors import Unauthenticated
from engine.people.sessions import LIFETIME, LoginThrottle, check_password, end_session, open_session
from engine.people.tokens import hash_secret
from forms.unicode_text import nfc

router = APIRouter(prefix="/api", tags=["session"])


def _me(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "username": actor.username, "display_name": actor.display_name,
            "roles": sorted(actor.roles), "is_admin": actor.is_admin, "locale": actor.locale}


def throttle_key(request: Request, username: str) -> str:
    client = request.client.host if request.client else "?"
    return f"{nfc(username).casefold()}|{client}"


def address_key(request: Request) -> str:
    """The key of the per-address throttle: many user names tried from one address (password spraying).
    The address is the peer's, or the one a trusted proxy names (RELAYFLOW_TRUSTED_PROXIES)."""
    return "ip:" + (request.client.host if request.client else "?")


def sign_in_checks(svc: ApiServices, request: Request, username: str) -> tuple[tuple[LoginThrottle, str], ...]:
    """(throttle, key) pairs a sign-in must pass, shared by the API and the sign-in page: per user name and
    address (guessing one password), and per address (spraying many user names)."""
    return ((svc.throttle, throttle_key(request, username)), (svc.address_throttle, address_key(request)))


def refuse_throttled(request: Request, username: str, wait: float) -> None:
    security_event("sign_in_throttled", "sign-in refused: too many failures", client=client_of(request),
                   username=username[:64], retry_after=int(wait) + 1)


@router.post("/session", response_model=SessionOut, summary="Sign in with a password; sets the session cookie",
             responses=problem_responses(400, 401, 422, 429))
async def sign_in(body: LoginBody, request: Request, response: Response, svc: Services) -> dict[str, Any]:
    checks = sign_in_checks(svc, request, body.username)
    wait = max(t.retry_after(k) for t, k in checks)
    if wait > 0:
        refuse_throttled(request, body.username, wait)
        raise ApiProblem(429, "too_many_attempts", "too many failed sign-ins; wait a little",
                         headers={"Retry-After": str(int(wait) + 1)})
    try:
        # argon2 (~100 ms of CPU) in a worker thread: failed sign-ins must not stall the event loop.
        uid = await anyio.to_thread.run_sync(check_password, svc.db, body.username, body.password)
        new = await svc.run(open_session, svc.executor, uid)
    except Unauthenticated:
        for throttle, key in checks:
            throttle.failed(key)
        security_event("sign_in_failed", "sign-in failed", client=client_of(request), username=body.username[:64])
        raise
    svc.throttle.succeeded(checks[0][1])
    response.set_cookie(SESSION_COOKIE, new.secret, max_age=int(LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", secure=svc.cookie_secure or request.url.scheme == "https", path="/")
    return {"user": _me(new.actor), "via": "session", "csrf_token": new.session.csrf_token,
            "expires_at": new.session.expires_at}


@router.get("/session", response_model=SessionOut, summary="The current sign-in",
            responses=problem_responses(401))
async def current_session(principal: CurrentPrincipal) -> dict[str, Any]:
    s = principal.session
    return {"user": _me(principal.actor), "via": principal.via, "csrf_token": s.csrf_token if s else None,
            "expires_at": s.expires_at if s else None}


@router.delete("/session", status_code=204, summary="Sign out: the session ends everywhere",
               responses=problem_responses(401, 403))
async def sign_out(request: Request, principal: CurrentPrincipal, svc: Services) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and cookie:
        await svc.run(end_session, svc.executor, cookie)
        svc.auth_cache.drop("s:" + hash_secret(cookie))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=svc.cookie_secure)
    return response
