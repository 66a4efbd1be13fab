"""FastAPI application factory: the engine behind HTTP (the pages and the REST API build on it)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from engine.db import make_engine
from engine.migrate import upgrade_database
from engine.registry import FlowRegistry, install_folder
from engine.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = make_engine(settings.database_url)
    upgrade_database(db)
    registry = FlowRegistry()
    broken = install_folder(db, registry, settings.flows_dir)
    app = FastAPI(title="Relayflow", version="0.1.0")
    app.state.db = db
    app.state.registry = registry
    app.state.broken_flows = [str(e) for e in broken]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "flows": registry.names(), "broken_flows": app.state.broken_flows}

    @app.get("/api/flows")
    def list_flows() -> list[dict[str, Any]]:
        return [
            {"name": lf.flow.name, "title": lf.flow.spec.title, "revision": lf.revision,
             "states": list(lf.flow.spec.states), "transitions": list(lf.flow.spec.transitions)}
            for lf in registry.all()
        ]

    return app
