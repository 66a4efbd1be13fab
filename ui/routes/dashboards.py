"""Dashboard pages: /dashboards (the flows with a board for the reader) and /dashboards/{flow} (one board).

The figures come from the API layer (api/public.py `board_json`), embedded in the page as JSON; ui/static/dashboard.js
draws them with Chart.js (ui/static/vendor/chart.umd.min.js). Every figure is also in a table (no script needed).
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.public import board_json, board_list
from engine.records.dashboards import flows_with_boards
from ui.auth import Page, current_page
from ui.errors import PageRoute
from ui.i18n.flow_text import flow_text
from ui.services import services
from ui.sla_report_view import span_text
from ui.templating import render
from ui.timezones import local_time, viewer_timezone

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/dashboards")
def dashboards_index(request: Request, page: Annotated[Page, Depends(current_page)]) -> Response:
    svc = services(request)
    lang = page._.locale
    entries = []
    for live in flows_with_boards(svc.registry, page.actor):
        flow_title = flow_text(live.flow.spec.title, lang, live.flow) or live.flow.name
        for b in board_list(svc, live.flow.name, page.actor, lang):
            entries.append((live.flow.name, b["board"], flow_title, b["title"]))
    if len(entries) == 1:
        name, board = entries[0][0], entries[0][1]
        return RedirectResponse(f"/dashboards/{name}" + (f"?board={board}" if board else ""), status_code=303)
    return render("dashboards/index.html", page.context(entries=entries))


def _cells(widget: dict[str, Any], page: Page) -> list[list[str]]:
    """A widget's figures as table cells (what the chart draws, readable without it)."""
    _ = page._
    kind = widget["kind"]
    rows = widget["rows"]
    if kind == "cycle_time":
        return [[r["label"], str(r["visits"]), span_text(r["avg_seconds"], _) if r["avg_seconds"] is not None else "—"] for r in rows]
    if kind == "on_time_rate":
        return [[r["label"], f"{r['met']} / {r['finished']}", f"{100 * r['rate']:.0f}%" if r["rate"] is not None else "—"]
                for r in rows]
    if kind == "sum":
        return [[r["label"], r["sum"]] for r in rows]
    return [[r["label"], str(r["count"])] for r in rows]


def _headers(widget: dict[str, Any], page: Page) -> list[str]:
    _ = page._
    kind = widget["kind"]
    if kind == "cycle_time":
        return [_("Stage"), _("Visits"), _("Average time")]
    if kind == "on_time_rate":
        return [_("Stage") if widget["rows"] and "state" in widget["rows"][0] else _("Person"), _("On time"), _("Rate")]
    if kind in ("sum", "count"):
        return [_("Month") if widget.get("period") == "month" else _("Week of"), _("Total") if kind == "sum" else _("Records")]
    if kind == "wip_by_age":
        return [_("Age"), _("Records")]
    return [_("Stage"), _("Records")]


@router.get("/dashboards/{flow_name}")
def dashboard_page(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)], board: int = 0) -> Response:
    svc = services(request)
    live = svc.registry.get(flow_name)
    lang = page._.locale
    data = board_json(svc, request.app.state, flow_name, board, page.actor, lang)
    tz = viewer_timezone(svc.registry, flow_name)
    widgets = []
    for w in data["widgets"]:
        listed = w["kind"] in ("late", "soon_late")
        rows = [{**r, "due": local_time(datetime.fromisoformat(r["due_at"]), tz)} for r in w["rows"]] if listed else []
        widgets.append({"data": w, "listed": listed, "rows": rows,
                        "headers": [] if listed else _headers(w, page), "cells": [] if listed else _cells(w, page)})
    as_of = local_time(datetime.fromisoformat(data["as_of"]), tz)
    others = board_list(svc, flow_name, page.actor, lang)
    return render("dashboards/board.html", page.context(
        flow=live.flow, board=data, widgets=widgets, as_of=as_of, fresh_minutes=max(1, round(data["fresh_for_seconds"] / 60)),
        others=others, figures_json=_script_json(data)))


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `</script>` or `<!--` can come out of a record's title."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
