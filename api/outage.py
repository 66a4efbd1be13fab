"""Telling "the database cannot be reached" apart from a bug, so that the client gets 503 and a retry hint.

While PostgreSQL restarts or the network to it is down, every statement fails
with a connection error (psycopg's OperationalError, asyncpg's connection
errors, refused sockets; SQLAlchemy wraps them in OperationalError /
InterfaceError and invalidates its pool, so the server reconnects by itself
once the database is back). SQLite's OperationalError also covers bugs ("no
such table"), so there only a locked, busy or unopenable file counts.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

RETRY_AFTER_SECONDS = 2
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def _one(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        if isinstance(orig, sqlite3.Error):
            return isinstance(orig, sqlite3.OperationalError) and any(w in str(orig).lower() for w in _SQLITE_TRANSIENT)
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool in time
        return True
    if isinstance(exc, sqlite3.Error):
        return isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in _SQLITE_TRANSIENT)
    module = type(exc).__module__
    if module.startswith("psycopg"):
        return type(exc).__name__ == "OperationalError" or type(exc).__name__ == "InterfaceError"
    if module.startswith("asyncpg"):
        name = type(exc).__name__
        return "Connection" in name or name in ("CannotConnectNowError", "AdminShutdownError", "CrashShutdownError",
                                                "InterfaceError", "TooManyConnectionsError")
    return isinstance(exc, (ConnectionError, TimeoutError)) or (isinstance(exc, OSError) and exc.errno is not None
                                                                and "connect" in str(exc).lower())


def is_database_outage(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database is unreachable for now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _one(current):
            return True
        current = current.__cause__ or current.__context__
    return False
