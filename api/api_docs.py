"""What the API says about the flows, only to people signed in: /openapi.json, /docs, /redoc, /api/flows.

Flow names, fields, states, transitions and who may fire them are business
information. Anonymous callers get 401 (problem+json) on all four. A signed-in
user sees the flows they have a role in (a role granted to them that the flow
names in `roles:`); an administrator sees every flow. The generic parts of the
document (sign-in, tokens, inbox, the admin routes) are the same for everyone.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import CurrentActor, principal_of
from api.openapi import build_openapi
from api.reader_language import api_text
from engine.records.actor import Actor
from engine.storage.registry import FlowRegistry, LiveFlow


def may_see_flow(actor: Actor, live: LiveFlow) -> bool:
    return actor.is_admin or bool(actor.roles & live.flow.roles_of_flow)


def install_api_docs(app: FastAPI, registry: FlowRegistry) -> None:
    """Mount the four routes (the app is created with FastAPI's own docs routes switched off)."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        actor = (await principal_of(request)).actor
        names = frozenset(lf.flow.name for lf in registry.all() if may_see_flow(actor, lf))
        return JSONResponse(build_openapi(app, registry, names))

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        await principal_of(request)
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        await principal_of(request)
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} API")

    @app.get("/api/flows", summary="The flows you have a role in (administrators: all)", tags=["flows"])
    async def list_flows(actor: CurrentActor) -> list[dict[str, Any]]:
        return [
            {"name": lf.flow.name, "title": api_text(lf.flow.spec.title, lf.flow), "revision": lf.revision,
             "states": list(lf.flow.spec.states), "transitions": list(lf.flow.spec.transitions)}
            for lf in registry.all() if may_see_flow(actor, lf)
        ]
