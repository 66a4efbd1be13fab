"""The caller's inbox: records waiting on them or on one of their roles, most urgent first."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentActor, Services
from api.errors import problem_responses
from api.schemas import InboxEntry
from api.serialize import inbox_json
from engine.records.inbox import inbox

router = APIRouter(prefix="/api", tags=["inbox"], responses=problem_responses(401, 422))


@router.get("/inbox", response_model=list[InboxEntry], summary="What waits on me, most urgent first")
async def my_inbox(svc: Services, actor: CurrentActor,
                   limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[dict[str, Any]]:
    items = await svc.run(inbox, svc.db, svc.registry, actor, limit=limit)
    return [inbox_json(i, svc.registry.get(i.flow).flow) for i in items]
