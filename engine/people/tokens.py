"""API tokens: random bearer secrets tied to a user, stored hashed, revocable, optionally expiring.

A token is `rf_` + 43 url-safe characters (256 random bits), shown once when it
is made. The database keeps its SHA-256 (a fast hash is enough for a secret of
that entropy: there is nothing to guess) and its first characters, so a person
can tell their tokens apart. `last_used_at` is written at most once a minute
per token, so authenticating does not turn every read into a write.

Writes go through the write executor given (engine/storage/executor.py): the server passes its
own, so that a write on the event loop never waits on a group commit the loop holds open; given a
bare Engine, each runs in a transaction of its own.
"""
from __future__ import annotations

from typing import Any

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Engine, Select, insert, select, update

from forms.unicode_text import nfc
from forms.value_checks import text_problem
from engine.records.actor import Actor
from engine.records.errors import NotFound, Unauthenticated, ValidationFailed
from engine.storage.schema import api_tokens, users
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.people.users import roles_of

TOKEN_PREFIX = "rf_"
LAST_USED_EVERY = timedelta(seconds=60)
MAX_NAME = 100


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    secret: str  # shown once; only its hash is stored


@dataclass(frozen=True)
class TokenAuth:
    """What a valid token proves: the actor, and until when the proof holds."""

    actor: Actor
    token_id: int
    expires_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, `90m`, an ISO date (end of that day, UTC) or an ISO date-time."""
    now = now or datetime.now(timezone.utc)
    s = text.strip()
    m = re.fullmatch(r"([1-9][0-9]{0,5})([dhm])", s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now + {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
    try:
        if len(s) == 10:
            return datetime.combine(date.fromisoformat(s), time.max, tzinfo=timezone.utc)
        value = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({"expires": f"'{text}' is not a duration (30d, 12h, 90m) or an ISO date"}) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _info(row) -> TokenInfo:  # type: ignore[no-untyped-def]
    return TokenInfo(id=row["id"], user_id=row["user_id"], username=row["username"], name=row["name"],
                     prefix=row["prefix"], created_at=row["created_at"], expires_at=row["expires_at"],
                     last_used_at=row["last_used_at"], revoked_at=row["revoked_at"])


def _select() -> Select[Any]:
    return select(api_tokens, users.c.username).join(users, users.c.id == api_tokens.c.user_id)


def create_token(db: Engine | WriteExecutor, user_id: int, name: str, *, expires_at: datetime | None = None,
                 created_by: int | None = None, now: datetime | None = None) -> NewToken:
    now = now or datetime.now(timezone.utc)
    name = nfc((name or "").strip())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed({"name": f"a token name is 1 to {MAX_NAME} characters"})
    problem = text_problem(name, multiline=False)
    if problem:
        raise ValidationFailed({"name": problem})
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationFailed({"expires_at": "give a time zone (e.g. 2027-01-01T00:00:00Z)"})
        if expires_at <= now:
            raise ValidationFailed({"expires_at": "must be in the future"})
        try:
            expires_at.astimezone(timezone.utc)  # what the column stores; year 9999 minus an offset overflows
        except OverflowError:
            raise ValidationFailed({"expires_at": "too far in the future"}) from None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with executor_for(db).transaction() as tx:
        if tx.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise NotFound(f"no user {user_id}")
        token_id = tx.execute(insert(api_tokens).values(
            user_id=user_id, name=name, token_hash=hash_secret(secret), prefix=secret[:8], created_at=now,
            created_by=created_by, expires_at=expires_at).returning(api_tokens.c.id)).scalar_one()
        row = tx.execute(_select().where(api_tokens.c.id == token_id)).mappings().one()
    return NewToken(_info(row), secret)


def list_tokens(db: Engine | WriteExecutor, user_id: int | None = None) -> list[TokenInfo]:
    q = _select().order_by(api_tokens.c.id)
    if user_id is not None:
        q = q.where(api_tokens.c.user_id == user_id)
    with executor_for(db).read() as conn:
        return [_info(r) for r in conn.execute(q).mappings()]


def get_token(db: Engine | WriteExecutor, token_id: int) -> TokenInfo:
    with executor_for(db).read() as conn:
        row = conn.execute(_select().where(api_tokens.c.id == token_id)).mappings().first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    return _info(row)


def revoke_token(db: Engine | WriteExecutor, token_id: int, *, now: datetime | None = None) -> TokenInfo:
    """Revoke a token (idempotent: revoking twice keeps the first time)."""
    now = now or datetime.now(timezone.utc)
    with executor_for(db).transaction() as tx:
        res = tx.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                           .values(revoked_at=now))
        if res.rowcount == 0 and tx.execute(select(api_tokens.c.id).where(api_tokens.c.id == token_id)).first() is None:
            raise NotFound(f"no token {token_id}")
    return get_token(db, token_id)


def authenticate(db: Engine | WriteExecutor, secret: str, *, now: datetime | None = None) -> TokenAuth:
    """The actor behind a bearer token; Unauthenticated when it is unknown, expired, revoked or the user inactive."""
    now = now or datetime.now(timezone.utc)
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("invalid token")
    q = (select(api_tokens.c.id, api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at,
                users.c.id.label("uid"), users.c.username, users.c.display_name, users.c.is_admin,
                users.c.active, users.c.locale)
         .join(users, users.c.id == api_tokens.c.user_id)
         .where(api_tokens.c.token_hash == hash_secret(secret)))
    with executor_for(db).read() as conn:
        row = conn.execute(q).mappings().first()
        if row is None or row["revoked_at"] is not None or not row["active"]:
            raise Unauthenticated("invalid token")
        if row["expires_at"] is not None and row["expires_at"] <= now:
            raise Unauthenticated("the token has expired")
        roles = roles_of(conn, row["uid"])
    if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_EVERY:
        with executor_for(db).transaction() as tx:
            tx.execute(update(api_tokens).where(api_tokens.c.id == row["id"]).values(last_used_at=now))
    actor = Actor(id=row["uid"], username=row["username"], display_name=row["display_name"],
                  roles=roles, is_admin=bool(row["is_admin"]), locale=row["locale"])
    return TokenAuth(actor, int(row["id"]), row["expires_at"])
