"""Idempotency keys for creates and transitions (the `Idempotency-Key` request header).

A key belongs to one user. The first request with a key reserves it, runs, and
stores its successful response; a retry with the same key and the same request
(method, path and body, compared by fingerprint) gets that stored response back
without running again. Policy (docs/access-control.md):

* same key, different request         → IdempotencyKeyReused (HTTP 422);
* same key while the first still runs → IdempotencyKeyInUse (HTTP 409);
* a request that fails (4xx) releases its key, so a corrected retry may reuse it;
* keys expire after `ttl` (24 h); a reservation left behind by a crashed worker
  can be taken over after `lock_timeout`;
* the stored answer is written in the same transaction as the record write
  (the caller passes that transaction to `complete`), so a write that
  committed always has its answer stored, and a crash before the commit
  leaves neither.

Its writes go through the write executor it is given (engine/storage/executor.py).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.records.errors import ValidationFailed, WorkflowError
from engine.storage.schema import idempotency_keys as keys
from engine.storage.executor import WriteExecutor, WriteTransaction
from engine.storage.plain import executor_for

TTL = timedelta(hours=24)
LOCK_TIMEOUT = timedelta(seconds=60)
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyReused(WorkflowError):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(WorkflowError):
    code = "idempotency_key_in_use"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, body: Any) -> str:
    """Stable hash of a request: JSON bodies that differ only in key order or spacing are equal."""
    canon = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                       default=str)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def check_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise ValidationFailed({"Idempotency-Key": "1 to 255 printable ASCII characters without spaces"})
    return key


class IdempotencyStore:
    def __init__(self, db: Engine | WriteExecutor, *, ttl: timedelta = TTL,
                 lock_timeout: timedelta = LOCK_TIMEOUT) -> None:
        self.executor = executor_for(db)
        self.ttl = ttl
        self.lock_timeout = lock_timeout

    def begin(self, user_id: int, key: str, request_hash: str, *, now: datetime | None = None) -> StoredResponse | None:
        """Reserve `key` (None: go ahead and run) or return the stored response of the first run."""
        now = now or datetime.now(timezone.utc)
        check_key(key)
        for _ in range(3):
            try:
                with self.executor.transaction() as tx:
                    tx.execute(insert(keys).values(user_id=user_id, key=key, request_hash=request_hash,
                                                     created_at=now, expires_at=now + self.ttl))
                return None
            except IntegrityError:
                pass
            with self.executor.transaction() as tx:
                row = tx.execute(select(keys).where(keys.c.user_id == user_id, keys.c.key == key)).mappings().first()
                if row is None:
                    continue  # released meanwhile: try again
                stale = row["status_code"] is None and row["created_at"] + self.lock_timeout <= now
                if row["expires_at"] <= now or stale:
                    tx.execute(delete(keys).where(keys.c.id == row["id"]))
                    continue
            if row["request_hash"] != request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different request; use a new key")
            if row["status_code"] is None:
                raise IdempotencyKeyInUse("a request with this Idempotency-Key is still being processed; retry later")
            stored = row["response"] or {}
            return StoredResponse(int(row["status_code"]), stored.get("body"), dict(stored.get("headers") or {}))
        raise IdempotencyKeyInUse("a request with this Idempotency-Key is still being processed; retry later")

    def complete(self, user_id: int, key: str, status_code: int, body: Any, headers: dict[str, str] | None = None,
                 *, tx: WriteTransaction | None = None) -> None:
        """Store the answer of a run; given the run's transaction `tx` it commits with the run's own
        writes, so no crash can leave a committed write without its stored answer."""
        if tx is None:
            with self.executor.transaction() as own:
                self.complete(user_id, key, status_code, body, headers, tx=own)
            return
        tx.execute(update(keys).where(keys.c.user_id == user_id, keys.c.key == key)
                   .values(status_code=status_code, response={"body": body, "headers": headers or {}}))

    def release(self, user_id: int, key: str) -> None:
        """Forget a reservation whose request failed, so that the key can be used again."""
        with self.executor.transaction() as tx:
            tx.execute(delete(keys).where(and_(keys.c.user_id == user_id, keys.c.key == key,
                                               keys.c.status_code.is_(None))))

    def purge_expired(self, *, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            return int(tx.execute(delete(keys).where(keys.c.expires_at <= now)).rowcount or 0)
