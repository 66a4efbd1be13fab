"""What the pages (ui/) may use of the API layer: one public module, so that the API's routers,
dependencies and services can change without breaking the pages (an import-linter contract keeps ui
to this module).
"""
from __future__ import annotations

from api.app import create_app
from api.deps import MAX_ID, SESSION_COOKIE, RecordId
from api.deps import _session_auth as _cached_session_auth
from api.routers.auth import refuse_throttled, sign_in_checks, throttle_key
from api.security_log import client_of, security_event
from api.services import ApiServices, CachedAuth

__all__ = ["MAX_ID", "SESSION_COOKIE", "ApiServices", "CachedAuth", "RecordId", "client_of", "create_app",
           "refuse_throttled", "security_event", "session_auth", "sign_in_checks", "throttle_key"]


def session_auth(services: ApiServices, secret: str) -> CachedAuth:
    """Who a session cookie belongs to, through the API's credential cache (Unauthenticated when the
    session is unknown, expired or idle too long)."""
    return _cached_session_auth(services, secret)
