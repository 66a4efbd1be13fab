"""Which client address a request comes from: the peer's, unless the peer is a trusted reverse proxy.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only from the peers
listed in RELAYFLOW_TRUSTED_PROXIES (addresses or CIDR networks); then the
client is the right-most address of X-Forwarded-For that is not itself a
trusted proxy. From anyone else these headers are ignored, so a client cannot
pick the address that the sign-in throttle, the logs and /metrics see. The
work is done by uvicorn's ProxyHeadersMiddleware, a maintained implementation
of exactly this rule; `relayflow serve` switches uvicorn's own copy of it off
so that the setting is the only one. The peer as it connected stays in
`scope["relayflow.peer"]`.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class TrustedProxies:
    def __init__(self, app: ASGIApp, proxies: list[str]) -> None:
        self.app = app
        self.rewrite = ProxyHeadersMiddleware(app, trusted_hosts=proxies)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        scope["relayflow.peer"] = client[0] if client else None
        await self.rewrite(scope, receive, send)  # type: ignore[arg-type]
