"""Browser sessions: server-side, revocable, with a CSRF token per session.

The cookie holds a random secret; the `sessions` table holds its SHA-256, the
user, a CSRF token and two clocks: an absolute expiry (`lifetime`) and an idle
timeout (`idle`, counted from `last_seen_at`, which is refreshed at most once a
minute). Logging out deletes the row, so a stolen cookie dies with it;
deactivating a user or changing a password should call `end_user_sessions`.

Pages compare the CSRF token of a form or an `X-CSRF-Token` header with the
session's (`csrf_matches`). `LoginThrottle` slows down password guessing.

Writes go through the write executor given (engine/storage/executor.py): the server passes its
own, so that a write on the event loop never waits on a group commit the loop holds open; given a
bare Engine, each runs in a transaction of its own.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, insert, select, update

from engine.records.actor import Actor
from engine.records.errors import NotFound, Unauthenticated
from engine.storage.schema import sessions, users
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.people.tokens import hash_secret
from engine.people.users import hash_password, load_actor, verify_password
from forms.unicode_text import nfc

LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(seconds=60)
_DUMMY_HASH = hash_password("relayflow-timing-equaliser")


@dataclass(frozen=True)
class Session:
    token_hash: str
    user_id: int
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class NewSession:
    secret: str  # the cookie value
    session: Session
    actor: Actor


def _session(row) -> Session:  # type: ignore[no-untyped-def]
    return Session(row["token_hash"], row["user_id"], row["csrf_token"], row["created_at"], row["expires_at"],
                   row["last_seen_at"])


def create_session(db: Engine | WriteExecutor, user_id: int, *, lifetime: timedelta = LIFETIME,
                   now: datetime | None = None) -> tuple[str, Session]:
    now = now or datetime.now(timezone.utc)
    secret = secrets.token_urlsafe(32)
    session = Session(token_hash=hash_secret(secret), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
                      created_at=now, expires_at=now + lifetime, last_seen_at=now)
    with executor_for(db).transaction() as tx:
        tx.execute(insert(sessions).values(**asdict(session)))
    return secret, session


def login(db: Engine | WriteExecutor, username: str, password: str, *, lifetime: timedelta = LIFETIME,
          now: datetime | None = None) -> NewSession:
    """Check a password and open a session; Unauthenticated (always the same message) otherwise."""
    return open_session(db, check_password(db, username, password), lifetime=lifetime, now=now)


def check_password(db: Engine | WriteExecutor, username: str, password: str) -> int:
    """The id of the active user with this password; Unauthenticated (always the same message, and the
    same argon2 work) otherwise. Reads only, and takes ~100 ms of CPU on purpose: a server runs it off
    its event loop."""
    with executor_for(db).read() as conn:
        row = conn.execute(select(users.c.id, users.c.password_hash, users.c.active)
                           .where(users.c.username == nfc(username))).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)  # same work for unknown users: no user-name oracle
        raise Unauthenticated("wrong user name or password")
    if not verify_password(row.password_hash, password) or not row.active:
        raise Unauthenticated("wrong user name or password")
    return int(row.id)


def open_session(db: Engine | WriteExecutor, uid: int, *, lifetime: timedelta = LIFETIME,
                 now: datetime | None = None) -> NewSession:
    """A new session for user `uid` (whose password was checked)."""
    secret, session = create_session(db, uid, lifetime=lifetime, now=now)
    return NewSession(secret, session, load_actor(db, uid=uid))


def get_session(db: Engine | WriteExecutor, secret: str, *, idle: timedelta = IDLE, now: datetime | None = None) -> Session:
    """The live session of a cookie value; Unauthenticated when unknown, expired or idle too long."""
    now = now or datetime.now(timezone.utc)
    if not secret or len(secret) > 200:
        raise Unauthenticated("no session")
    token_hash = hash_secret(secret)
    with executor_for(db).read() as conn:
        row = conn.execute(select(sessions).where(sessions.c.token_hash == token_hash)).mappings().first()
    if row is None:
        raise Unauthenticated("no session")
    session = _session(row)
    if session.expires_at <= now or session.last_seen_at + idle <= now:
        end_session(db, secret)
        raise Unauthenticated("the session has expired; sign in again")
    if now - session.last_seen_at >= TOUCH_EVERY:
        with executor_for(db).transaction() as tx:
            tx.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now))
    return session


def session_actor(db: Engine | WriteExecutor, secret: str, *, idle: timedelta = IDLE, now: datetime | None = None) -> tuple[Actor, Session]:
    session = get_session(db, secret, idle=idle, now=now)
    try:
        return load_actor(db, uid=session.user_id), session
    except NotFound:
        end_session(db, secret)
        raise Unauthenticated("the user is no longer active") from None


def end_session(db: Engine | WriteExecutor, secret: str) -> None:
    """Log out: the session is deleted and its cookie is worthless from now on."""
    with executor_for(db).transaction() as tx:
        tx.execute(delete(sessions).where(sessions.c.token_hash == hash_secret(secret)))


def end_user_sessions(db: Engine | WriteExecutor, user_id: int) -> int:
    """Log a user out everywhere (deactivation, password change). Returns how many sessions ended."""
    with executor_for(db).transaction() as tx:
        return int(tx.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount or 0)


def purge_expired(db: Engine | WriteExecutor, *, idle: timedelta = IDLE, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    with executor_for(db).transaction() as tx:
        res = tx.execute(delete(sessions).where(
            (sessions.c.expires_at <= now) | (sessions.c.last_seen_at <= now - idle)))
        return int(res.rowcount or 0)


def csrf_matches(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf_token, token or "")


class LoginThrottle:
    """At most `limit` failed sign-ins per key (user name, client address) per `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < self.window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def retry_after(self, key: str) -> float:
        """Seconds to wait before the next attempt is accepted (0: go ahead)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - times[-self.limit]))

    def failed(self, key: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            self._failures.setdefault(key, []).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
