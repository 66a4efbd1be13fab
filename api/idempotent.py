"""Run a create or a transition at most once per `Idempotency-Key` (see engine/idempotency.py)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api.services import ApiServices
from engine.actor import Actor
from engine.idempotency import fingerprint

IDEMPOTENCY_HEADER = "Idempotency-Key"
Outcome = tuple[int, Any, dict[str, str]]


async def once(svc: ApiServices, request: Request, actor: Actor, key: str | None, body: Any,
               run: Callable[[], Awaitable[Outcome]]) -> JSONResponse:
    """`run()` unless this key already ran for the same request; then the stored answer is replayed."""
    if key is None:
        status, payload, headers = await run()
        return JSONResponse(payload, status_code=status, headers=headers)
    digest = fingerprint(request.method, request.url.path, body)
    stored = await svc.run(svc.idempotency.begin, actor.id, key, digest)
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status_code,
                            headers={**stored.headers, "Idempotent-Replayed": "true"})
    try:
        status, payload, headers = await run()
    except BaseException:
        await svc.run(svc.idempotency.release, actor.id, key)
        raise
    await svc.run(svc.idempotency.complete, actor.id, key, status, payload, headers)
    return JSONResponse(payload, status_code=status, headers=headers)
