"""Every worker serves the live revision of each flow, without a restart.

A pure ASGI middleware asks the database, at most every POLL_SECONDS, which
revision of each flow is live (one cheap query, run in a worker thread so the
event loop never waits on the database) and loads what changed before the
request is handled. Several uvicorn workers or machines on one database thus
serve a newly applied revision within a second. In development mode
(`relayflow serve --reload-flows` or RELAYFLOW_RELOAD_FLOWS=1) a background
thread also applies the flow files of flows/ as they change on disk.
"""
from __future__ import annotations

import anyio
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from api.front import RelayflowApp
from engine.evolve.runtime import FlowFolderWatcher, LiveRevisionPoller
from engine.storage.registry import FlowRegistry
from engine.settings import Settings

POLL_SECONDS = 0.5


class LiveRevisionMiddleware:
    def __init__(self, app: ASGIApp, poller: LiveRevisionPoller) -> None:
        self.app = app
        self.poller = poller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.poller.due():
            await anyio.to_thread.run_sync(self.poller.poll)
        await self.app(scope, receive, send)


def serve_live_revisions(app: FastAPI, db: Engine, registry: FlowRegistry, settings: Settings) -> None:
    poller = LiveRevisionPoller(db, registry, interval=POLL_SECONDS)
    if isinstance(app, RelayflowApp):
        app.add_front(LiveRevisionMiddleware, poller=poller)  # before the lean record routes too
    else:
        app.add_middleware(LiveRevisionMiddleware, poller=poller)
    app.state.revision_poller = poller
    app.state.flow_watcher = None
    if settings.reload_flows:
        watcher = FlowFolderWatcher(db, registry, settings.flows_dir, interval=POLL_SECONDS)
        watcher.start()
        app.state.flow_watcher = watcher
