"""Users and role grants. Passwords are hashed with argon2id (argon2-cffi).

Writes go through the write executor given (engine/storage/executor.py); given a bare
Engine (the CLI, tests), each runs in a transaction of its own.
"""
from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from forms.unicode_text import nfc
from forms.local_text import Titled
from forms.messages import Message
from forms.value_checks import text_problem
from engine.records.actor import Actor
from engine.records.errors import NotFound, ValidationFailed
from engine.language.identifiers import IDENTIFIER_RE
from engine.storage.schema import api_tokens, role_grants, sessions, users
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _decoy_hash() -> str:
    """A hash no password matches, verified against when an account has none."""
    return _hasher.hash(secrets.token_urlsafe(32))


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # As slow as a real check: a quick "no" would tell which accounts have no password.
        try:
            _hasher.verify(_decoy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(db: Engine | WriteExecutor, username: str, *, display_name: str | None = None, password: str | None = None,
                email: str | None = None, is_admin: bool = False, roles: list[str] | tuple[str, ...] = (),
                locale: str | None = None) -> int:
    username, display_name, email = nfc(username), nfc(display_name), nfc(email)
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationFailed({"username": "a user name is 1 to 64 characters without spaces"})
    _check_lengths(display_name=display_name, email=email, locale=locale)
    for role in roles:
        _check_role(role)
    with executor_for(db).transaction() as tx:
        try:
            uid = tx.execute(
                insert(users).values(
                    username=username, display_name=display_name or username, email=email,
                    password_hash=hash_password(password) if password else None, locale=locale,
                    is_admin=is_admin, active=True, created_at=datetime.now(timezone.utc),
                ).returning(users.c.id)
            ).scalar_one()
        except IntegrityError:
            raise ValidationFailed({"username": f"user '{username}' already exists"}) from None
        for role in roles:
            tx.execute(insert(role_grants).values(user_id=uid, role=role))
    return int(uid)


_MAX_LENGTHS = {"display_name": 200, "email": 254, "locale": 16}  # the column sizes (engine/storage/schema.py)
MAX_ROLE = 64


def _check_lengths(**values: str | None) -> None:
    """Refuse values longer than their column, before PostgreSQL does it with a traceback."""
    errors = {k: f"at most {_MAX_LENGTHS[k]} characters" for k, v in values.items()
              if v is not None and len(v) > _MAX_LENGTHS[k]}
    for k, v in values.items():
        problem = text_problem(v, multiline=False) if v is not None and k not in errors else None
        if problem:
            errors[k] = problem
    if errors:
        raise ValidationFailed(errors)


def _check_role(role: str) -> None:
    if not IDENTIFIER_RE.match(role):
        raise ValidationFailed({"role": f"role '{role}' is not a snake_case identifier"})
    if len(role) > MAX_ROLE:
        raise ValidationFailed({"role": f"a role name is at most {MAX_ROLE} characters"})


def user_id(db: Engine | WriteExecutor, username: str) -> int:
    with executor_for(db).read() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.username == nfc(username))).scalar()
    if uid is None:
        raise NotFound(f"no user '{username}'")
    return int(uid)


def grant_role(db: Engine | WriteExecutor, username: str, role: str) -> None:
    _check_role(role)
    uid = user_id(db, username)
    with executor_for(db).transaction() as tx:
        exists = tx.execute(select(role_grants.c.role).where(role_grants.c.user_id == uid, role_grants.c.role == role)).first()
        if not exists:
            tx.execute(insert(role_grants).values(user_id=uid, role=role))


def revoke_role(db: Engine | WriteExecutor, username: str, role: str) -> None:
    uid = user_id(db, username)
    with executor_for(db).transaction() as tx:
        tx.execute(delete(role_grants).where(role_grants.c.user_id == uid, role_grants.c.role == role))


def set_password(db: Engine | WriteExecutor, username: str, password: str) -> None:
    """A new password ends everything the old one opened: the user's browser sessions are deleted and
    their API tokens revoked (a leaked password or token stops working once the password is changed)."""
    uid = user_id(db, username)
    new_hash = hash_password(password)
    now = datetime.now(timezone.utc)
    with executor_for(db).transaction() as tx:
        tx.execute(update(users).where(users.c.id == uid).values(password_hash=new_hash))
        tx.execute(delete(sessions).where(sessions.c.user_id == uid))
        tx.execute(update(api_tokens).where(api_tokens.c.user_id == uid, api_tokens.c.revoked_at.is_(None))
                   .values(revoked_at=now))


def set_active(db: Engine | WriteExecutor, username: str, active: bool) -> None:
    uid = user_id(db, username)
    with executor_for(db).transaction() as tx:
        tx.execute(update(users).where(users.c.id == uid).values(active=active))


def load_actor(db: Engine | WriteExecutor, *, username: str | None = None, uid: int | None = None) -> Actor:
    """The active user with their roles; NotFound for unknown or deactivated users."""
    # the columns it needs, not `select(users)`: an actor is loaded by code that runs before later migrations too
    q = select(users.c.id, users.c.username, users.c.display_name, users.c.active, users.c.is_admin, users.c.locale)
    q = q.where(users.c.username == nfc(username)) if username is not None else q.where(users.c.id == uid)
    with executor_for(db).read() as conn:
        row = conn.execute(q).mappings().first()
        if row is None or not row["active"]:
            raise NotFound(f"no active user '{username or uid}'")
        roles = roles_of(conn, row["id"])
    return Actor(id=row["id"], username=row["username"], display_name=row["display_name"],
                 roles=roles, is_admin=bool(row["is_admin"]), locale=row["locale"])


def list_users(db: Engine) -> list[dict[str, object]]:
    with executor_for(db).read() as conn:
        rows = conn.execute(select(users).order_by(users.c.id)).mappings().all()
        grants = conn.execute(select(role_grants)).all()
    by_user: dict[int, list[str]] = {}
    for uid, role in grants:
        by_user.setdefault(uid, []).append(role)
    return [
        {"id": r["id"], "username": r["username"], "display_name": r["display_name"], "email": r["email"],
         "phone": r["phone"], "im_id": r["im_id"],
         "is_admin": r["is_admin"], "active": r["active"], "roles": sorted(by_user.get(r["id"], []))}
        for r in rows
    ]


def roles_of(conn: Connection, uid: int) -> frozenset[str]:
    """The roles granted to a user."""
    return frozenset(conn.execute(select(role_grants.c.role).where(role_grants.c.user_id == uid)).scalars().all())


def assignable_problem(conn: Connection, uid: int, role: str | None, *, roles: Mapping[str, Any] | None = None,
                       language: str | None = None) -> str | None:
    """Why user `uid` may not be given a record (or a user field) limited to `role`; None when they may.

    With a role: the user must be an active member of it; without one: any active user. The message
    names the person by their display name and the role by its title in the flow (`roles`: the flow's
    role specs, `language`: the flow's language), never by ids.
    """
    q = select(users.c.id).where(users.c.id == uid, users.c.active.is_(True))
    if role:
        q = q.join(role_grants, role_grants.c.user_id == users.c.id).where(role_grants.c.role == role)
        if conn.execute(q).first() is None:
            spec = (roles or {}).get(role)
            title = Titled(getattr(spec, "title", None) or role, language)
            return Message("user_not_in_role", "{person} is not an active member of role '{role}'",
                           person=_person(conn, uid), role=title)
    elif conn.execute(q).first() is None:
        return Message("no_active_user", "{person} is not an active user", person=_person(conn, uid))
    return None


def _person(conn: Connection, uid: int) -> str:
    """A user as people know them (display name), or a neutral phrase for an id that names nobody."""
    name = conn.execute(select(users.c.display_name).where(users.c.id == uid)).scalar()
    return str(name) if name else Message("unknown_person", "an unknown user (#{uid})", uid=uid)


def role_members(conn: Connection, role: str) -> list[int]:
    """Active members of a role, by id (the order round-robin follows)."""
    q = (select(users.c.id).join(role_grants, role_grants.c.user_id == users.c.id)
         .where(role_grants.c.role == role, users.c.active.is_(True)).order_by(users.c.id))
    return [int(x) for x in conn.execute(q).scalars().all()]


def update_user(db: Engine | WriteExecutor, username: str, *, display_name: str | None = None, email: str | None = None,
                is_admin: bool | None = None) -> None:
    """Change a user's name, e-mail or admin flag (None leaves a value as it is)."""
    display_name, email = nfc(display_name), nfc(email)
    _check_lengths(display_name=display_name, email=email)
    uid = user_id(db, username)
    values: dict[str, object] = {}
    if display_name is not None:
        values["display_name"] = display_name
    if email is not None:
        values["email"] = email or None
    if is_admin is not None:
        values["is_admin"] = is_admin
    if values:
        with executor_for(db).transaction() as tx:
            tx.execute(update(users).where(users.c.id == uid).values(**values))
