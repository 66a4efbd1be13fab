"""Dashboard figures for one reader, as the API and the pages give them (one place for both doors).

The figures are computed by the engine (engine/records/dashboards.py) and cached per app, for
RELAYFLOW_DASHBOARD_TTL seconds, per flow, board and the reader's visibility scope; older figures are answered
at once (with their `as_of`) while they are computed again in the background. Figures are shared with the other
servers and the workers of the database (engine/records/board_store.py): a server reads what another one or a
worker computed, and a worker computes again, ahead of their expiry, the figures somebody reads.
"""
from __future__ import annotations

from typing import Any

from engine.records.actor import Actor
from engine.records.board_store import FigureStore
from engine.records.dashboards import FigureCache, board_figures, board_title, boards_for, for_reader
from engine.settings import Settings
from api.services import ApiServices


def app_cache(state: Any) -> FigureCache:
    """The app's figure cache (made on first use, with the app's settings)."""
    cache = getattr(state, "dashboard_cache", None)
    if cache is None:
        settings: Settings | None = getattr(state, "settings", None)
        cache = FigureCache(ttl=settings.dashboard_ttl if settings is not None else 60.0, background=True)
        state.dashboard_cache = cache
    return cache


def app_store(state: Any, svc: ApiServices) -> FigureStore:
    """The app's view of the shared figures (made on first use)."""
    store = getattr(state, "dashboard_store", None)
    if store is None:
        store = state.dashboard_store = FigureStore(svc.db)
    return store


def board_list(svc: ApiServices, flow_name: str, actor: Actor, lang: str | None) -> list[dict[str, Any]]:
    """The boards of a flow the reader sees: number and title."""
    flow = svc.registry.get(flow_name).flow
    return [{"board": i, "title": board_title(flow, b, lang)} for i, b in boards_for(flow, actor)]


def board_json(svc: ApiServices, state: Any, flow_name: str, board: int, actor: Actor, lang: str | None) -> dict[str, Any]:
    """One board's figures for `actor` in `lang` (NotFound when it is not theirs to see)."""
    figures = board_figures(svc.db, svc.registry, svc.records, flow_name, board, actor, cache=app_cache(state),
                           store=app_store(state, svc))
    live = svc.registry.get(flow_name)
    spec = dict(boards_for(live.flow, actor))[board]
    out = for_reader(live.flow, spec, figures, lang)
    out["fresh_for_seconds"] = app_cache(state).ttl
    return out
