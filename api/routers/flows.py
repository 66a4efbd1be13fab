"""Flows: the parsed spec of one flow and the JSON Schema of its records (the list is in api/app.py)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentActor, Services
from api.errors import problem_responses
from api.models import record_schema
from api.schemas import FlowDetail
from engine.records.access import create_fields, may_create, visibility_rule

router = APIRouter(prefix="/api/flows", tags=["flows"], responses=problem_responses(401, 404, 422))


@router.get("/{flow}", response_model=FlowDetail, summary="The parsed flow file")
async def flow_detail(flow: str, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    live = svc.registry.get(flow)
    f = live.flow
    return {"name": f.name, "revision": live.revision,
            "spec": f.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            "can_create": may_create(f, actor), "create_fields": [n for n in f.fields if n in create_fields(f)],
            "visibility": visibility_rule(f)}


@router.get("/{flow}/schema", summary="JSON Schema of one record of the flow")
async def flow_schema(flow: str, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    return record_schema(svc.registry.get(flow))
