"""Liveness and readiness, for load balancers and orchestrators (docs/operations.md).

* `GET /health` — liveness: the process answers HTTP. Touches no database, so
  a database outage does not make an orchestrator restart healthy servers.
* `GET /ready` — readiness: the database answers, its schema is at the
  newest migration this code knows, and every flow that is live in the
  database is loaded and served by this process. 200
  `{"status": "ready", "checks": {...}}`, else 503 problem+json with the same
  `checks` (each "ok" or what is wrong, without internals) and Retry-After.

Both are open to anyone (a probe has no credentials) and name no flows.
A flow file that did not load, or a change held back for `relayflow apply`,
does not make a server unready: it serves the live revision. Those problems
are logged at start and shown to administrators (/admin/flows).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from api.errors import problem_response
from api.outage import RETRY_AFTER_SECONDS
from engine.storage.migrate import alembic_config
from engine.storage.registry import FlowRegistry
from engine.storage.revisions import live_revisions

log = logging.getLogger("relayflow.api")


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@lru_cache(maxsize=1)
def version_table() -> str:
    return alembic_config().get_main_option("version_table") or "alembic_version"


def readiness(db: Engine, registry: FlowRegistry) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with db.connect().execution_options(readonly=True) as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            versions = set(MigrationContext.configure(conn, opts={"version_table": version_table()}).get_current_heads())
            checks["migrations"] = ("ok" if versions == migration_heads()
                                    else "the database schema is not the newest: run `relayflow db upgrade`")
            live = live_revisions(conn)
        missing = sum(1 for name, rev in live.items() if name not in registry or registry.get(name).revision != rev)
        checks["flows"] = "ok" if not missing else f"{missing} live flow(s) not loaded yet"
    except Exception:  # noqa: BLE001 - the answer says what is wrong; the log has the details
        log.warning("readiness check failed", exc_info=True)
        checks.setdefault("database", "unreachable")
        checks.setdefault("migrations", "unknown")
        checks.setdefault("flows", "unknown")
    return checks


def install_probes(app: FastAPI) -> None:
    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        state = request.app.state
        checks = await state.api.run(readiness, state.db, state.registry)
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(request, 503, "not_ready", "this server cannot serve requests yet",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, checks=checks)
