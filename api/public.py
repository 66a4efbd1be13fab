"""What the pages (ui/) may use of the API layer: one public module, so that the API's routers,
dependencies and services can change without breaking the pages (an import-linter contract keeps ui
to this module).
"""
from __future__ import annotations

from api.app import create_app
from api.dashboard_data import board_json, board_list
from api.deps import MAX_ID, SESSION_COOKIE, FormInt, RecordId
from api.deps import _session_auth as _cached_session_auth
from api.editor_work import editor_work
from api.routers.auth import refuse_throttled, sign_in_checks, throttle_key
from api.routers.files import NAME_HEADER, stream_body
from api.security_log import client_of, security_event
from api.services import ApiServices, CachedAuth

__all__ = ["MAX_ID", "NAME_HEADER", "SESSION_COOKIE", "ApiServices", "CachedAuth", "FormInt", "RecordId", "client_of",
           "create_app", "editor_work", "refuse_throttled", "security_event", "session_auth", "sign_in_checks",
           "stream_body", "throttle_key", "board_json", "board_list"]


def session_auth(services: ApiServices, secret: str) -> CachedAuth:
    """Who a session cookie belongs to, through the API's credential cache (Unauthenticated when the
    session is unknown, expired or idle too long)."""
    return _cached_session_auth(services, secret)
