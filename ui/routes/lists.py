"""The per-flow list: state tabs with counts, filters on indexed fields, search, sort, keyset pages."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from engine.language.flow import CompiledFlow
from engine.records.access import may_create
from engine.records.errors import ValidationFailed
from engine.records.listing import (
    DEFAULT_LIMIT, ListQuery, filterable_fields, list_records, parse_filters, range_fields,
    search_fields, sort_keys,
)
from engine.records.records import Record
from engine.storage.registry import LiveFlow
from engine.records.tab_counts import DEFAULT_CAP, capped_counts
from ui.auth import Page, current_page
from ui.errors import PageRoute
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text, reader_options
from ui.services import services
from ui.sla_view import SlaBadge, sla_badge
from ui.templating import render
from ui.values import display

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RESERVED = frozenset({"state", "q", "sort", "after"})
COUNT_TTL = 5.0  # seconds: state counts are "as of a few seconds ago"


class _CountCache:
    """Per-process cache of state counts keyed by flow revision, visibility and filters."""

    def __init__(self) -> None:
        self._data: dict[tuple[Any, ...], tuple[float, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, int] | None:
        hit = self._data.get(key)
        if hit is None or time.monotonic() - hit[0] > COUNT_TTL:
            return None
        return hit[1]

    def put(self, key: tuple[Any, ...], counts: dict[str, int]) -> None:
        with self._lock:
            if len(self._data) > 1000:
                self._data.clear()
            self._data[key] = (time.monotonic(), counts)


_counts = _CountCache()


@dataclass(frozen=True)
class ListRow:
    rec: Record
    state_title: str
    sla: SlaBadge | None
    summary: list[tuple[str, str]]


def _visibility_key(page: Page) -> tuple[Any, ...]:
    a = page.actor
    return ("admin",) if a.is_admin else (a.id, tuple(sorted(a.roles)))


def _counts_for(request: Request, live: LiveFlow, page: Page, query: ListQuery) -> dict[str, int]:
    key = (live.flow.name, live.revision, _visibility_key(page), query.filters, query.search)
    hit = _counts.get(key)
    if hit is None:
        hit = capped_counts(services(request).db, live, page.actor, query, cap=DEFAULT_CAP)
        _counts.put(key, hit)
    return hit


def _query(request: Request, live: LiveFlow) -> tuple[ListQuery, dict[str, str]]:
    """The list query of the URL, and the filter values to show back in the form."""
    params = request.query_params
    flow = live.flow
    allowed = filterable_fields(flow)
    raw: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for key in params.keys():
        if key in RESERVED:
            continue
        values = [v for v in params.getlist(key) if v.strip()]
        name = key.partition(".")[0]
        if values and name in allowed:
            raw[key] = values[:1]
            shown[key] = values[0]
    state = params.get("state") or ""
    sort = params.get("sort") or "-id"
    search = (params.get("q") or "").strip() or None
    query = ListQuery(states=(state,) if state else (), filters=parse_filters(flow, raw), search=search,
                      sort=sort, limit=DEFAULT_LIMIT, after=params.get("after") or None)
    return query, shown


def _rows(live: LiveFlow, recs: list[Record], page: Page, names: dict[int, str] | None = None) -> list[ListRow]:
    flow = live.flow
    shown = [n for n in filterable_fields(flow)][:4]
    out = []
    for rec in recs:
        hidden = flow.hidden_fields(rec.state)
        sys = rec.system
        sla_state = sys.get("sla_state") or rec.state
        out.append(ListRow(
            rec=rec, state_title=flow_text(flow.state(rec.state).title, page._.locale, flow) or rec.state,
            sla=sla_badge(flow, sla_state if sla_state in flow.spec.states else rec.state, sys.get("sla_status"),
                          sys.get("sla_due_at"), sys.get("sla_warn_at"), page.now, page._)
            if rec.state not in flow.final_states else None,
            summary=[(flow_text(flow.fields[n].title, page._.locale, flow) or n,
                      display(flow.fields[n], rec.values.get(n), flow.timezone, page._, names))
                     for n in shown if n not in hidden and rec.values.get(n) is not None]))
    return out


@router.get("/lists/{flow_name}")
def list_page(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    svc = services(request)
    live = svc.registry.get(flow_name)
    flow = live.flow
    error: str | None = None
    status = 200
    recs: list[Record] = []
    cursor: str | None = None
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    query = ListQuery()
    try:
        query, shown = _query(request, live)
        result = list_records(svc.db, svc.records, live, page.actor, query)
        recs, cursor = result.records, result.next_cursor
        counts = _counts_for(request, live, page, query)
    except ValidationFailed as exc:
        error = "; ".join(f"{_param_title(flow, k, page)}: {translate_message(page._, v)}" for k, v in exc.field_errors.items())
        status = 422
    state = query.states[0] if query.states else ""
    base = {k: v for k, v in request.query_params.items() if k not in ("after", "state") and v.strip()}
    ctx = page.context(
        flow=flow, rows=_rows(live, recs, page), cursor=cursor, counts={k: _count_text(v) for k, v in counts.items()},
        total=_total_text(counts),
        state=state, states=[(n, flow_text(s.title, page._.locale, flow) or n) for n, s in flow.spec.states.items()],
        error=error,
        filters=[(n, flow_text(f.title, page._.locale, flow) or n, f.filter_input, n in range_fields(flow),
                  reader_options(f, f.widget_options(), page._.locale, flow))
                 for n, f in filterable_fields(flow).items()
                 if n not in search_fields(flow)],
        shown=shown, q=query.search or "", sort=query.sort, sorts=_sort_options(live, page), base=base,
        searchable=bool(search_fields(flow)), can_create=may_create(flow, page.actor),
        first_page=bool(request.query_params.get("after")))
    return render("list.html", ctx, status_code=status)


def _param_title(flow: CompiledFlow, key: str, page: Page) -> str:
    """What a person calls a list parameter with a bad value: a field's title, else the search box, sort, ..."""
    name = key.partition(".")[0]
    if name in flow.fields:
        return flow_text(flow.fields[name].title, page._.locale, flow) or name
    words = {"q": "Search", "sort": "Sort by", "state": "State", "after": "Page", "limit": "Number"}
    return page._(words[name]) if name in words else name


def _count_text(n: int) -> str:
    """A tab's count: exact up to the cap, then "1000+"."""
    return f"{DEFAULT_CAP}+" if n > DEFAULT_CAP else str(n)


def _total_text(counts: dict[str, int]) -> str:
    total = sum(min(n, DEFAULT_CAP) for n in counts.values())
    return f"{total}+" if any(n > DEFAULT_CAP for n in counts.values()) else str(total)


def _sort_options(live: LiveFlow, page: Page) -> list[tuple[str, str]]:
    _ = page._
    flow = live.flow
    labels = {"id": _("Number"), "created_at": _("Creation time"), "updated_at": _("Last change"), "sla_due_at": _("Due")}
    out = []
    for key in sort_keys(flow):
        label = labels.get(key) or (flow_text(flow.fields[key].title, _.locale, flow) or key)
        out.append((f"-{key}", f"{label} ↓"))
        out.append((key, f"{label} ↑"))
    return out
