"""Browser-facing defences on every answer: security headers, and a same-origin check on changes.

* Headers: a Content-Security-Policy that lets a page run and style only what
  `/static` serves (no inline script or style anywhere in the pages; htmx is
  told not to inject its indicator style), `X-Content-Type-Options: nosniff`,
  `X-Frame-Options: DENY` with `frame-ancestors 'none'`, and a same-origin
  `Referrer-Policy`. An answer that sets its own CSP (the diagram SVG, the
  API docs pages) keeps it.
* Origin: a request that changes data (not GET/HEAD/OPTIONS) and carries a
  cookie must come from this site. A browser names the page that sent it in
  `Origin` (or `Referer`); a foreign one is refused with 403 before any route
  runs, so a stolen or replayed CSRF token alone is not enough. Requests with
  no cookie (API clients with a bearer token) are not browser sessions and
  are not checked. Sites reached under several names list the others in
  RELAYFLOW_ALLOWED_ORIGINS (`https://flows.example.com,https://erp.example.com`).
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.security_log import client_of, security_event

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'none'")
# FastAPI's interactive docs load Swagger UI / ReDoc from their CDN with an inline start-up script.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
               "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
_DOCS_PATHS = ("/docs", "/redoc")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin")]
_PAGE_HEADERS = [*_COMMON, (b"content-security-policy", PAGE_POLICY.encode())]
_DOCS_HEADERS = [*_COMMON, (b"content-security-policy", DOCS_POLICY.encode())]
_ORIGIN_HEADERS = frozenset({b"origin", b"referer", b"host", b"cookie"})


class WebSecurity:
    """ASGI layer: security headers on every HTTP answer, same-origin check on cookie-borne changes."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {_origin_key(o) for o in allowed_origins if o.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS:
            headers = {k: v for k, v in scope.get("headers", []) if k in _ORIGIN_HEADERS}
            if b"cookie" in headers and not self._same_origin(headers):
                security_event("origin_refused", "cross-site change refused", client=client_of(scope),
                               method=scope["method"], path=scope.get("path", ""),
                               origin=(headers.get(b"origin") or headers.get(b"referer") or b"").decode("latin-1")[:200])
                await _refuse(scope, send)
                return
        path: str = scope.get("path", "")
        added = _DOCS_HEADERS if path.startswith(_DOCS_PATHS) else _PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if any(k == b"content-security-policy" for k, _ in headers):
                    # The answer's own policy stands, and its own framing rule (a file preview: SAMEORIGIN).
                    own = {k.lower() for k, _ in headers}
                    message["headers"] = [*headers, *(h for h in _COMMON if h[0] not in own)]
                else:
                    message["headers"] = [*headers, *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _same_origin(self, headers: dict[bytes, bytes]) -> bool:
        claimed = headers.get(b"origin") or headers.get(b"referer")
        if claimed is None:
            return True  # not sent by a browser page (browsers name the page on every cross-site change)
        text = claimed.decode("latin-1").strip()
        if text == "null":
            return False  # sandboxed frames, data: URLs, some redirects: never this site's own page
        key = _origin_key(text)
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        return key[1] == host or key in self.allowed


def _origin_key(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of an origin or URL, lower-case."""
    parts = urlsplit(url.strip().lower())
    return parts.scheme, parts.netloc


async def _refuse(scope: Scope, send: Send) -> None:
    body = orjson.dumps({"type": "about:blank", "title": "Forbidden", "status": 403, "code": "cross_site_request",
                         "detail": "this change was sent from another site; open the page of this site and "
                                   "try again"})
    api = scope.get("path", "").startswith("/api/")
    content_type = b"application/problem+json" if api else b"text/plain; charset=utf-8"
    if not api:  # a clerk's browser shows this as it is: both languages of the pages
        body = ("This change was sent from another site. Open the page on this site and try again.\n"
                "此操作来自其他网站。请打开本网站的页面后重试。\n").encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            *_PAGE_HEADERS]})
    await send({"type": "http.response.body", "body": body})
