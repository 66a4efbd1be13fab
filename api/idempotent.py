"""Run a create or a transition at most once per `Idempotency-Key` (see engine/records/idempotency.py)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api.services import ApiServices
from engine.records.access import Access
from engine.records.actor import Actor
from engine.records.idempotency import fingerprint
from engine.storage.plain import JoinedExecutor

IDEMPOTENCY_HEADER = "Idempotency-Key"
Outcome = tuple[int, Any, dict[str, str]]


async def once(svc: ApiServices, request: Request, actor: Actor, key: str | None, body: Any,
               work: Callable[[Access], Outcome]) -> JSONResponse:
    """`work(access)` (a write and its answer) unless this key already ran for the same request; then the
    stored answer is replayed. The answer is stored in the write's own transaction: `work` gets an
    Access whose writes join that transaction."""
    if key is None:
        status, payload, headers = await svc.write(work)
        return JSONResponse(payload, status_code=status, headers=headers)
    digest = fingerprint(request.method, request.url.path, body)
    stored = await svc.run(svc.idempotency.begin, actor.id, key, digest)
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status_code,
                            headers={**stored.headers, "Idempotent-Replayed": "true"})

    def work_and_store(access: Access) -> Outcome:
        with access.records.executor.transaction() as tx:
            status, payload, headers = work(access.using(JoinedExecutor(tx)))
            svc.idempotency.complete(actor.id, key, status, payload, headers, tx=tx)
        return status, payload, headers

    try:
        status, payload, headers = await svc.write(work_and_store)
    except BaseException:
        await svc.run(svc.idempotency.release, actor.id, key)
        raise
    return JSONResponse(payload, status_code=status, headers=headers)
