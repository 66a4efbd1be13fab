"""Mount the REST API on an app: services, error handlers, routers and the per-flow OpenAPI document."""
from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from api.errors import install_error_handlers
from api.front import RelayflowApp
from api.hot_routes import HotRecordRoutes, hot_routes_enabled
from api.openapi import install_openapi
from api.routers import (
    approvals, auth, deliveries, events, files, flow_admin, flows, inbox, org, prints, records, references, tokens, transfer,
    users,
)
from api.routers import dashboards, data_tables
from api.services import ApiServices, build_services
from engine.files.store import build_store
from engine.settings import Settings
from engine.storage.registry import FlowRegistry


def install_api(app: FastAPI, db: Engine, registry: FlowRegistry, settings: Settings | None = None) -> ApiServices:
    """Everything under /api except /api/flows (api/app.py keeps that list); returns the shared services."""
    settings = settings or Settings.from_env()
    svc = build_services(db, registry, settings)
    app.state.api = svc
    app.state.file_store = build_store(settings, db)
    install_error_handlers(app)
    # records first: the hot routes match sooner
    for module in (records, prints, auth, users, tokens, inbox, flows, flow_admin, deliveries, files, org, references, approvals,
                   transfer, events):
        app.include_router(module.router)
    app.include_router(data_tables.router)  # views, saved views, bulk actions (issue 14)
    app.include_router(dashboards.router)
    install_openapi(app, registry)
    if hot_routes_enabled(settings):
        if isinstance(app, RelayflowApp):
            app.add_front(HotRecordRoutes, services=svc)  # ahead of FastAPI's own middleware
        else:
            app.add_middleware(HotRecordRoutes, services=svc)
    return svc
