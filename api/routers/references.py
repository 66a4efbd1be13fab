"""The picker's search: records a reference field may point at, for the person asking."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import RequestActor, get_services
from api.errors import problem_responses
from api.services import ApiServices
from engine.records.references import MAX_SEARCH, SEARCH_LIMIT, search_targets

router = APIRouter(prefix="/api/flows/{flow}/fields/{field}", tags=["references"],
                   responses=problem_responses(401, 404, 422))
Svc = Annotated[ApiServices, Depends(get_services)]


@router.get("/options", summary="Records a reference field may point at: visible to you, passing its filter, "
                                "whose searchable fields contain q")
async def reference_options(flow: str, field: str, svc: Svc, actor: RequestActor,
                            q: Annotated[str, Query(max_length=MAX_SEARCH)] = "",
                            limit: Annotated[int, Query(ge=1, le=50)] = SEARCH_LIMIT) -> dict[str, Any]:
    live = svc.registry.get(flow)
    found = await svc.run(search_targets, svc.db, svc.registry, live.flow, field, actor, q, limit)
    return {"items": [{"id": t.id, "title": t.title, "flow": t.flow} for t in found]}
