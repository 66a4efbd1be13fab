"""Measurements the engine reports without knowing who listens (the server turns them into metrics).

The engine has no web or metrics code; where something worth watching happens
(an SLA scheduler pass) it calls `report(name, value)`, and whoever assembled
the program subscribes a function to the name (api/metrics.py). No subscriber:
nothing happens. A failing subscriber is logged and never breaks the engine's work.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("relayflow.observers")
_subscribers: dict[str, list[Callable[[float], object]]] = {}


def subscribe(name: str, fn: Callable[[float], object]) -> None:
    _subscribers.setdefault(name, []).append(fn)


def report(name: str, value: float) -> None:
    for fn in _subscribers.get(name, ()):
        try:
            fn(value)
        except Exception:  # noqa: BLE001 - a measurement must not break the work it measures
            log.warning("observer of %s failed", name, exc_info=True)
