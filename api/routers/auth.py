"""Sign in and out: `POST /api/session` sets the session cookie, `DELETE /api/session` ends it."""
from __future__ import annotations

from typing import Any

import anyio.to_thread

from fastapi import APIRouter, Request, Response

from api.deps import SESSION_COOKIE, CurrentPrincipal, Services
from api.errors import ApiProblem, problem_responses
from api.schemas import LoginBody, SessionOut
from engine.records.actor import Actor
from engine.records.errors import Unauthenticated
from engine.people.sessions import LIFETIME, check_password, end_session, open_session
from engine.people.tokens import hash_secret
from forms.unicode_text import nfc

router = APIRouter(prefix="/api", tags=["session"])


def _me(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "username": actor.username, "display_name": actor.display_name,
            "roles": sorted(actor.roles), "is_admin": actor.is_admin, "locale": actor.locale}


def throttle_key(request: Request, username: str) -> str:
    client = request.client.host if request.client else "?"
    return f"{nfc(username).casefold()}|{client}"


@router.post("/session", response_model=SessionOut, summary="Sign in with a password; sets the session cookie",
             responses=problem_responses(400, 401, 422, 429))
async def sign_in(body: LoginBody, request: Request, response: Response, svc: Services) -> dict[str, Any]:
    key = throttle_key(request, body.username)
    wait = svc.throttle.retry_after(key)
    if wait > 0:
        raise ApiProblem(429, "too_many_attempts", "too many failed sign-ins; wait a little",
                         headers={"Retry-After": str(int(wait) + 1)})
    try:
        # argon2 (~100 ms of CPU) in a worker thread: failed sign-ins must not stall the event loop.
        uid = await anyio.to_thread.run_sync(check_password, svc.db, body.username, body.password)
        new = await svc.run(open_session, svc.executor, uid)
    except Unauthenticated:
        svc.throttle.failed(key)
        raise
    svc.throttle.succeeded(key)
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
