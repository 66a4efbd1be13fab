"""The published JSON Schema of the events a flow sends to other systems (docs/events.md).

Open to anyone, like a public API's documentation: it names no flow, field or record."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from engine.delivery.event_schema import PAYLOAD_SCHEMA

router = APIRouter(tags=["events"])


@router.get("/api/events/schema.json", summary="The JSON Schema of an event's payload (version 1)",
            responses={200: {"content": {"application/schema+json": {}}, "description": "The JSON Schema"}})
def event_schema() -> Any:
    return JSONResponse(PAYLOAD_SCHEMA, media_type="application/schema+json")
