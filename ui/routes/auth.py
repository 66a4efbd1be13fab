"""Sign in, sign out and the language switch."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.records.errors import Unauthenticated
from api.public import client_of, refuse_throttled, security_event, sign_in_checks
from engine.people.sessions import LIFETIME, LoginThrottle, end_session, login
from ui.auth import (
    PRE_COOKIE, SESSION_COOKIE, Page, checked_page, new_pre_token, pre_token_ok, safe_next, session_cache_key,
    translator_for,
)
from ui.errors import PageRoute
from ui.i18n import LANG_COOKIE, LOCALES
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_NAME = 64
MAX_PASSWORD = 1024


def _throttles(request: Request, username: str) -> tuple[tuple[LoginThrottle, str], ...]:
    """(throttle, key) pairs checked before a sign-in: the API's, shared by both doors so that guesses cannot
    alternate between them (per user name and address, and per address: api/routers/auth.py)."""
    return sign_in_checks(services(request), request, username)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or services(request).cookie_secure


def _login_page(request: Request, *, next_url: str, username: str = "", error: str | None = None,
                status: int = 200) -> Response:
    _ = translator_for(request)
    token = request.cookies.get(PRE_COOKIE) or new_pre_token()
    resp = render("login.html", {"_": _, "locale": _.locale, "actor": None, "csrf": "", "nav_flows": [],
                                 "path": request.url.path, "full_path": request.url.path, "is_htmx": False,
                                 "pre_token": token, "next_url": next_url, "username": username,
                                 "error": error}, status_code=status)
    resp.set_cookie(PRE_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/login")
    return resp


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login_submit(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 pre_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    _ = translator_for(request)
    next_url = safe_next(next[:2000])
    username = username.strip()[:MAX_NAME]
    password = password[:MAX_PASSWORD]
    if not pre_token_ok(request, pre_token):
        return _login_page(request, next_url=next_url, username=username, status=403,
                           error=_("The sign-in form has expired. Please try again."))
    checks = _throttles(request, username)
    wait = max(t.retry_after(k) for t, k in checks)
    if wait > 0:
        refuse_throttled(request, username, wait)
        return _login_page(request, next_url=next_url, username=username, status=429,
                           error=_("Too many failed sign-ins. Try again in {n} seconds.", n=int(wait) + 1))
    try:
        new = login(services(request).executor, username, password)
    except Unauthenticated:
        for t, k in checks:
            t.failed(k)
        security_event("sign_in_failed", "sign-in failed", client=client_of(request), username=username)
        return _login_page(request, next_url=next_url, username=username, status=401,
                           error=_("Wrong user name or password."))
    checks[0][0].succeeded(checks[0][1])
    resp = RedirectResponse(next_url, status_code=303)
    resp.set_cookie(SESSION_COOKIE, new.secret, max_age=int(LIFETIME.total_seconds()), httponly=True,
                    samesite="lax", secure=_secure(request), path="/")
    resp.delete_cookie(PRE_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, page: Annotated[Page, Depends(checked_page)]) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        end_session(services(request).executor, secret)
        services(request).auth_cache.drop(session_cache_key(secret))  # the pages' and the API's cache of it
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/") -> Response:  # noqa: A002
    resp = RedirectResponse(safe_next(next), status_code=303)
    if locale in LOCALES:
        resp.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/")
    return resp
