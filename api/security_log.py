"""Security events, logged to `relayflow.security` (WARNING) and counted in
`relayflow_security_events_total{event}`.

Events: `sign_in_failed` (wrong user name or password; the user name is
logged, never the password), `sign_in_throttled` (429), `admin_refused` (a
signed-in non-administrator called an administrators' route),
`origin_refused` (a cookie-borne change from another site),
`metrics_refused` (/metrics asked for by someone who may not read it).
Each line carries the request id and the client address (after the trusted
proxies of RELAYFLOW_TRUSTED_PROXIES).
"""
from __future__ import annotations

import logging
from typing import Any

from api.metrics import SECURITY_EVENTS

log = logging.getLogger("relayflow.security")
_counters: dict[str, Any] = {}


def security_event(event: str, message: str, *, client: str | None = None, **fields: Any) -> None:
    counter = _counters.get(event)
    if counter is None:
        counter = _counters[event] = SECURITY_EVENTS.labels(event)
    counter.inc()
    log.warning(message, extra={"event": event, "client": client, **fields})


def client_of(scope: Any) -> str | None:
    """The client address of a request (a Request or an ASGI scope)."""
    client = getattr(scope, "client", None) if not isinstance(scope, dict) else scope.get("client")
    if client is None:
        return None
    return str(client[0])
