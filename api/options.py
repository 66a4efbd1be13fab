"""`OPTIONS` on any path the app serves: 204 with an `Allow` header listing every method of that path.

FastAPI declares no OPTIONS routes, so without this layer OPTIONS is a 405
whose Allow header names only the methods of the first route that matched the
path (a path with a GET route and a POST route would show only GET). Here the
methods of every route whose pattern matches are added up (HEAD with GET,
OPTIONS always). A path no route matches goes on to the app (404).
"""
from __future__ import annotations

from re import Pattern

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.routing import Router


class AllowOptions:
    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._table: tuple[int, list[tuple[Pattern[str], frozenset[str]]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        methods = self.allowed_methods(scope["path"])
        if not methods:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"})).encode()
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", allow), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def allowed_methods(self, path: str) -> set[str]:
        table = self._table
        if table is None or table[0] != len(self.router.routes):
            rows = []
            for ctx in iter_route_contexts(self.router.routes):  # the routes of included routers too
                if ctx.methods:
                    rows.append((compile_path(ctx.path)[0], frozenset(ctx.methods)))
            table = self._table = (len(self.router.routes), rows)
        found: set[str] = set()
        for pattern, methods in table[1]:
            if pattern.match(path):
                found |= methods
        return found
