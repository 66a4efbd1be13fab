"""The web application with its pages: the API app plus the page routers and ui/static.

    relayflow serve            # runs ui.app:served_app (create_app, then startup's objects frozen)
"""
from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.public import create_app as create_api_app
from engine.settings import Settings
from ui.routes import data_table  # the data-table list pages (issue 14)
from ui.routes import (
    admin, admin_departments, admin_editor, admin_sla, approval_pages, auth, files, inbox, lists, notifications, print_pages, profile,
    records, references, transfer,
)
from ui.routes import dashboards
from ui.timezones import set_server_timezone

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    # The editor's /admin/flows/new before admin's /admin/flows/{flow_name}.
    routers = [m.router for m in (auth, inbox, transfer, lists, files, references, print_pages, records, approval_pages, notifications,
                                    profile, admin_editor, admin_sla, admin_departments, admin)]
    routers.append(data_table.router)
    routers.append(dashboards.router)
    app = create_api_app(settings, routers=routers)
    set_server_timezone(app.state.settings.timezone)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def served_app() -> FastAPI:
    """The app as `relayflow serve` runs it (uvicorn's factory, in each worker process): `ui.app:create_app`, then
    everything made while starting (flows compiled, catalogues, tables, the libraries' own data) set aside from
    Python's cyclic garbage collector with `gc.freeze()`. A full collection otherwise walks those millions of
    objects again every few dozen requests: a 200-line order page took 110-140 ms once in 20 requests
    (bench/record_lines_page.py measured 170 ms p99 against 35 ms p50; after the freeze, 55 ms p99). Only a
    served process does it: frozen objects are never collected, which a test process making hundreds of apps
    could not afford."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
