"""Admin API for reminders: the outbox, its delivery log, retrying a dead-lettered message."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.deps import MAX_ID, AdminActor, Services
from api.errors import problem_responses
from engine.delivery.outbox import delivery_log, list_rows, requeue

router = APIRouter(prefix="/api/admin/outbox", tags=["admin: reminders"], responses=problem_responses(401, 403, 422))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


@router.get("", summary="Reminder messages, newest first")
async def outbox_rows(svc: Services, actor: AdminActor,
                      status: Literal["pending", "sent", "dead", "dropped", "superseded", "held"] | None = None,
                      limit: int = Query(default=100, ge=1, le=500)) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in await svc.run(list_rows, svc.db, status=status, limit=limit)]


@router.get("/log", summary="Delivery attempts with their outcome, newest first")
async def deliveries(svc: Services, actor: AdminActor, limit: int = Query(default=100, ge=1, le=500)) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in await svc.run(delivery_log, svc.db, limit=limit)]


@router.post("/{outbox_id}/retry", summary="Send a dead-lettered message again")
async def retry(outbox_id: Annotated[int, Path(ge=1, le=MAX_ID)], svc: Services, actor: AdminActor) -> dict[str, Any]:
    return {"requeued": await svc.run(requeue, svc.db, [outbox_id])}
