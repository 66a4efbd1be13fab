"""FastAPI application factory: the engine behind HTTP (the pages and the REST API build on it)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from api.front import RelayflowApp
from api.live_flows import serve_live_revisions
from api.setup import install_api
from api.reader_language import ReaderLanguage, api_text
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
    app = RelayflowApp(title="Relayflow", version="0.1.0", lifespan=_lifespan)
    app.state.db = db
    app.state.registry = registry
    app.state.broken_flows = [str(e) for e in broken]
    app.state.settings = settings
    install_api(app, db, registry, settings)
    # Added last, so it runs first: its headers and its origin check cover every answer, the lean routes' too.
    app.add_front(WebSecurity, allowed_origins=settings.origins)
    app.add_front(ReaderLanguage)  # titles in API answers in the client's language (api/reader_language.py)
    serve_live_revisions(app, db, registry, settings)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "flows": registry.names(), "broken_flows": app.state.broken_flows}

    @app.get("/api/flows")
    def list_flows() -> list[dict[str, Any]]:
        return [
            {"name": lf.flow.name, "title": api_text(lf.flow.spec.title, lf.flow), "revision": lf.revision,
             "states": list(lf.flow.spec.states), "transitions": list(lf.flow.spec.transitions)}
            for lf in registry.all()
        ]

    for router in routers:
        app.include_router(router)
    return app
