"""FastAPI application factory: the engine behind HTTP (the pages and the REST API build on it)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from fastapi import APIRouter, FastAPI

from api.api_docs import install_api_docs
from api.body_rules import JsonBodyRules
from api.front import RelayflowApp
from api.metrics import install_metrics
from api.options import AllowOptions
from api.probes import install_probes
from api.request_context import RequestContext
from api.trusted_proxies import TrustedProxies
from api.live_flows import serve_live_revisions
from api.setup import install_api
from api.web_security import WebSecurity
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_folder
from engine.settings import Settings
from engine.delivery.worker import start_worker_thread, worker_enabled


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs: the SLA worker thread (RELAYFLOW_WORKER=off: not in this process), and
    PostgreSQL group commits on the serving event loop (api/group_commit.py)."""
    settings: Settings = app.state.settings
    handle = (start_worker_thread(app.state.db, app.state.registry, interval=settings.worker_interval)
              if worker_enabled(settings) else None)
    group_commit = getattr(app.state.api.group_commit, "start", None) and app.state.api.group_commit
    try:
        if group_commit is not None:
            await group_commit.start()
        yield
    finally:
        if group_commit is not None:
            await group_commit.stop()
        if handle is not None:
            handle.shutdown()


def create_app(settings: Settings | None = None, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The app: engine, REST API (api/setup.py), then `routers` from the layers above (the pages)."""
    settings = settings or Settings.from_env()
    db = make_engine(settings.database_url)
    upgrade_database(db)
    registry = FlowRegistry()
    broken = install_folder(db, registry, settings.flows_dir)
    # FastAPI's own /openapi.json, /docs and /redoc would describe the flows to anyone: api/api_docs.py serves them.
    app = RelayflowApp(title="Relayflow", version="0.1.0", lifespan=_lifespan, openapi_url=None, docs_url=None,
                       redoc_url=None)
    app.state.db = db
    app.state.registry = registry
    app.state.broken_flows = [str(e) for e in broken]
    app.state.settings = settings
    app.add_front(JsonBodyRules)  # innermost front layer: the lean record routes (install_api) check their own bodies
    install_api(app, db, registry, settings)
    install_probes(app)
    install_api_docs(app, registry)
    install_metrics(app, db, settings)
    # Front layers: the last added runs first. In the order they run: trusted proxies (the client address),
    # request id / reader's language / metrics / access log / last-resort answers, the flow-revision poll, security headers and
    # origin check, OPTIONS, the lean record routes (install_api), the JSON body rules, FastAPI.
    app.add_front(AllowOptions, router=app.router)
    app.add_front(WebSecurity, allowed_origins=settings.origins)
    serve_live_revisions(app, db, registry, settings)
    app.add_front(RequestContext, metrics=settings.metrics, access=settings.access_log)
    if settings.proxies:
        app.add_front(TrustedProxies, proxies=settings.proxies)

    for router in routers:
        app.include_router(router)
    return app
