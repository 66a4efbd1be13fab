"""The app class: FastAPI with a few ASGI layers in front of its own middleware stack.

FastAPI wraps every request in its error, telemetry and body-limit middleware
before the app's own middleware runs. The layers added with `add_front` run
before all of those: the flow-revision poll (every request must see the live
revision) and the lean record routes of api/hot_routes.py, which handle their
own errors, body limit and unexpected failures the way the full app does.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp


class RelayflowApp(FastAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.front_layers: list[tuple[type, dict[str, Any]]] = []

    def add_front(self, layer: type, **options: Any) -> None:
        """Add an ASGI layer in front of FastAPI's stack; the last added runs first."""
        if self.middleware_stack is not None:
            raise RuntimeError("cannot add a front layer after the application has started")
        self.front_layers.append((layer, options))

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for layer, options in self.front_layers:
            app = layer(app, **options)
        return app
