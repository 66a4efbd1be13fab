"""Who is looking at a page: the session cookie, the CSRF check, the page's language.

Sessions are the engine's (engine/people/sessions.py): server-side rows with a CSRF
token each. Like the API (api/deps.py), the pages remember who a session is
for a few seconds (the API's AuthCache, under the same key, so both doors
share one entry): signing out, deactivating a user or changing their roles in
this process drops the entry at once; other processes see it within the TTL. Every state-changing request of the pages carries that token in
a hidden `csrf_token` field or, for htmx, the `X-CSRF-Token` header (set once
on <body> with hx-headers). The sign-in form, before any session exists, uses
a double-submit cookie instead.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request

from api.public import session_auth
from engine.records.actor import Actor
from engine.records.errors import Unauthenticated
from engine.delivery.notifications import unread_count
from engine.people.sessions import Session, csrf_matches
from engine.people.tokens import hash_secret
from ui.i18n import LANG_COOKIE, Translator, choose_locale, translate_message
from engine.records.dashboards import flows_with_boards
from ui.i18n.flow_text import flow_text
from ui.timezones import local_time, viewer_timezone

try:  # the API defines the cookie both doors share
    from api.public import SESSION_COOKIE
except ImportError:  # pragma: no cover - until api/deps.py exists
    SESSION_COOKIE = "relayflow_session"

PRE_COOKIE = "rf_pre"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: the page redirects to the sign-in page."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


def translator_for(request: Request, actor: Actor | None = None) -> Translator:
    locale = choose_locale(request.cookies.get(LANG_COOKIE), actor.locale if actor else None,
                           request.headers.get("accept-language"))
    return Translator(locale)


@dataclass
class Page:
    """A signed-in request: the user, their session and the page's language."""

    request: Request
    actor: Actor
    session: Session
    _: Translator
    now: datetime
    form: FormData = field(default_factory=FormData)  # the posted form of a state-changing request

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def context(self, **extra: Any) -> dict[str, Any]:
        """What every page template gets."""
        registry = self.request.app.state.registry
        flows = sorted(((lf.flow.name, flow_text(lf.flow.spec.title, self._.locale, lf.flow) or lf.flow.name)
                        for lf in registry.all()),
                       key=lambda x: x[1])
        ctx: dict[str, Any] = {
            "_": self._, "locale": self._.locale, "actor": self.actor, "csrf": self.csrf,
            "nav_flows": flows, "path": self.request.url.path, "full_path": _full_path(self.request),
            "now": self.now, "is_htmx": is_htmx(self.request),
            "translate": lambda message: translate_message(self._, message),
            # The header's unread badge: one indexed count, run only when a full page is drawn.
            "unread_count": lambda: unread_count(self.request.app.state.db, self.actor.id),
            # The header's Dashboard entry: for the people a flow's dashboards name (engine/records/dashboards.py).
            "has_dashboards": lambda: bool(flows_with_boards(registry, self.actor)),
            # A time in the viewer's zone, named: the flow's when it belongs to one, else the server's.
            "when": lambda instant, flow=None: local_time(instant, viewer_timezone(registry, flow)),
        }
        ctx.update(extra)
        return ctx


def _full_path(request: Request) -> str:
    q = request.url.query
    return request.url.path + (f"?{q}" if q else "")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def login_url(request: Request) -> str:
    return "/login?next=" + quote(_full_path(request), safe="/")


def current_page(request: Request) -> Page:
    """The signed-in page context; LoginRequired without a valid session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise LoginRequired()
    try:
        actor, session = cached_session(request, secret)
    except Unauthenticated:
        raise LoginRequired() from None
    return Page(request, actor, session, translator_for(request, actor), datetime.now(timezone.utc))


def session_cache_key(secret: str) -> str:
    """The AuthCache key of a session cookie (the API's `_session_auth` uses the same)."""
    return "s:" + hash_secret(secret)


def cached_session(request: Request, secret: str) -> tuple[Actor, Session]:
    """Who the session cookie is: the API's own lookup (api/deps.py), from its short per-process cache
    or else the database."""
    auth = session_auth(request.app.state.api, secret)
    assert auth.session is not None
    return auth.actor, auth.session


async def checked_page(request: Request) -> Page:
    """`current_page` plus the CSRF check of a state-changing request."""
    page = current_page(request)
    page.form = await request.form()
    token = request.headers.get(CSRF_HEADER)
    if not token:
        value = page.form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_matches(page.session, token):
        raise CsrfFailed()
    return page


def new_pre_token() -> str:
    return secrets.token_urlsafe(24)


def pre_token_ok(request: Request, posted: str | None) -> bool:
    cookie = request.cookies.get(PRE_COOKIE) or ""
    return bool(cookie) and bool(posted) and hmac.compare_digest(cookie, posted or "")


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
