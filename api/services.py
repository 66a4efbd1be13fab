"""What the API's handlers share: the engine objects, the credential cache and how database work runs."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

import anyio.to_thread
from sqlalchemy import Engine

from api.group_commit import GroupCommit, PostgresGroupCommit, Touch
from engine.records.access import Access
from engine.records.actor import Actor
from engine.records.idempotency import IdempotencyStore
from engine.records.records import Records
from engine.storage.registry import FlowRegistry
from engine.people.sessions import LoginThrottle, Session
from engine.settings import Settings
from engine.storage.executor import WriteExecutor
from engine.storage.plain import PlainExecutor

T = TypeVar("T")
DbMode = Literal["inline", "thread"]


@dataclass(frozen=True)
class CachedAuth:
    actor: Actor
    token_id: int | None
    session: Session | None
    valid_until: datetime | None  # the credential's own expiry


class AuthCache:
    """Who a token or session cookie is, remembered for `ttl` seconds (per process).

    Revocations and role changes made through this process drop their entries
    at once; other processes see them within `ttl`.
    """

    def __init__(self, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, CachedAuth]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedAuth | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        born, auth = hit
        if time.monotonic() - born > self.ttl:
            self._entries.pop(key, None)
            return None
        if auth.valid_until is not None and auth.valid_until <= datetime.now(timezone.utc):
            self._entries.pop(key, None)
            return None
        return auth

    def put(self, key: str, auth: CachedAuth) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), auth)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_where(self, pred: Callable[[CachedAuth], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, a) in self._entries.items() if pred(a)]:
                self._entries.pop(key, None)

    def drop_user(self, user_id: int) -> None:
        self.drop_where(lambda a: a.actor.id == user_id)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class ApiServices:
    db: Engine
    registry: FlowRegistry
    records: Records
    access: Access
    idempotency: IdempotencyStore
    executor: WriteExecutor  # how writes outside a group's jobs run (sessions, tokens, claims, users)
    auth_cache: AuthCache = field(default_factory=AuthCache)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # per user name and address
    # per address, whatever the user name (password spraying): 30 failures in 5 minutes
    address_throttle: LoginThrottle = field(default_factory=lambda: LoginThrottle(limit=30, window=300.0))
    cookie_secure: bool = False
    db_mode: DbMode = "thread"
    group_commit: GroupCommit | PostgresGroupCommit | None = None

    async def write(self, fn: Callable[[Access], T], *, touch: Touch | None = None) -> T:
        """Run a record write `fn(access)`: as a job of the group commit when there is one (`access` then
        writes into the group's transaction), else like `run`, with `self.access`.

        `touch` names the record it writes (a new one: id None), for a PostgreSQL group to read ahead."""
        if self.group_commit is not None:
            access = self.access
            return await self.group_commit.run(  # type: ignore[no-any-return]
                lambda executor: fn(access.using(executor)), touch=touch)
        return await self.run(fn, self.access)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking engine work: on the event loop (SQLite: one writer anyway) or in the threadpool."""
        if self.db_mode == "inline":
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def build_services(db: Engine, registry: FlowRegistry, settings: Settings | None = None) -> ApiServices:
    """The server's engine objects, with the write executor chosen here: SQLite's group commit is also
    the executor of every other write (see GroupCommit); elsewhere writes outside a group's jobs run in
    transactions of their own."""
    settings = settings or Settings.from_env()
    group_commit = _group_commit(db, registry, settings)
    executor: WriteExecutor = group_commit if isinstance(group_commit, GroupCommit) else PlainExecutor(db)
    records = Records(db, registry, executor)
    default_mode: DbMode = "inline" if db.dialect.name == "sqlite" else "thread"
    mode = settings.api_db_calls or default_mode
    return ApiServices(
        db=db, registry=registry, records=records, access=Access(db, registry, records),
        idempotency=IdempotencyStore(executor), executor=executor,
        cookie_secure=settings.cookie_secure,
        db_mode="thread" if mode == "thread" else "inline",
        group_commit=group_commit,
    )


def _group_commit(db: Engine, registry: FlowRegistry, settings: Settings) -> GroupCommit | PostgresGroupCommit | None:
    """SQLite: on the event loop (one writer anyway). PostgreSQL: groups that read ahead and hold their
    writes back (engine/storage/write_ahead.py), on the event loop over asyncpg once the server runs; with
    RELAYFLOW_WRITE_AHEAD=off, groups in worker threads, statement by statement."""
    if not settings.group_commit:
        return None
    if db.dialect.name == "sqlite":
        return GroupCommit(db)
    if not settings.write_ahead:
        return PostgresGroupCommit(db)
    # Groups on the event loop cost no thread: more of them in flight overlap more round trips.
    return PostgresGroupCommit(db, registry, in_flight=8)
