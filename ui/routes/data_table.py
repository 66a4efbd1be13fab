"""The data-table page of a flow's list: chosen columns, a filter row, sums, pages, saved views, bulk actions.

    GET  /lists/{flow}/table                  the table (the URL holds the view: col, op.<key>, v.<key>, sort)
    GET  /lists/{flow}/table/sums             the sums row (loaded by htmx after the table: a big set's sums
                                              never hold the rows back)
    POST /lists/{flow}/table/views            save the view of the URL under a name (personal or shared)
    POST /lists/{flow}/table/views/{id}/...   rename, default, delete
    POST /lists/{flow}/table/bulk             a transition or a hand-over for the ticked records

The page works as plain forms and links; htmx swaps only the table area when the filters change.
Paging is keyset (engine/records/data_view.py): "next" carries the cursor, "previous" the stack of
earlier cursors in the URL (`back`), so a page is always one indexed read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.language.flow import CompiledFlow
from engine.people.users import list_users
from engine.records.bulk_actions import BulkResult, bulk_assign, bulk_transition, check_ids
from engine.records.claims import may_reassign
from engine.records.data_view import (
    DEFAULT_SCAN_LIMIT, ColumnInfo, ViewPage, ViewReader, ViewSpec, available_columns, default_columns, run_view,
    sort_keys, view_columns, view_sums,
)
from engine.records.errors import Forbidden, ValidationFailed, WorkflowError
from engine.records.saved_views import SavedView, SavedViews, may_share
from engine.records.view_filters import OP_WORDS, SYSTEM_FILTERS, ViewFilter, filterable, ops_for, system_ops
from engine.storage.registry import LiveFlow
from ui.auth import Page, checked_page, current_page
from ui.errors import PageRoute
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text
from ui.services import services
from ui.sla_view import age_text, sla_badge
from ui.templating import render
from ui.values import display

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
MAX_BACK = 20  # earlier pages the "previous" link remembers
DEFAULT_OPS = {"text": "contains", "email": "contains", "phone": "contains", "url": "contains", "longtext": "contains",
               "choice": "in", "user": "is", "reference": "is", "boolean": "is", "@state": "in", "@assignee": "is",
               "@late": "is"}
FILTER_OF_COLUMN = {"@state": "@state", "@assignee": "@assignee", "@sla": "@late"}


@dataclass
class FilterCell:
    key: str  # the filter's field (a field id, @state, @assignee, @late)
    ops: list[tuple[str, str]]
    op: str
    values: list[str]
    options: list[tuple[str, str]]  # a fixed list to pick from (choices, states, people, yes/no); [] = typed
    input_type: str


def _settings_limit(request: Request) -> int:
    return int(getattr(getattr(request.app.state, "settings", None), "list_scan_limit", DEFAULT_SCAN_LIMIT))


def _views(request: Request) -> SavedViews:
    svc = services(request)
    return SavedViews(svc.db, svc.executor)


def _filter_keys(flow: CompiledFlow) -> list[str]:
    return [*filterable(flow), *SYSTEM_FILTERS]


def _ops(flow: CompiledFlow, key: str) -> tuple[str, ...]:
    return system_ops(key) if key in SYSTEM_FILTERS else ops_for(flow.fields[key])


def spec_from_params(flow: CompiledFlow, params: QueryParams, base: ViewSpec | None) -> ViewSpec:
    """The view of the URL: columns `col`, filters `op.<key>` / `v.<key>` (/ `v2.<key>` for between), `sort`;
    missing parts from `base` (a saved or default view)."""
    known = {c.key for c in available_columns(flow)}
    cols = tuple(c for c in params.getlist("col") if c in known)
    touched = "col" in params or any(k.startswith(("op.", "v.")) for k in params)
    if base is None:
        base = ViewSpec(default_columns(flow))
    filters: list[ViewFilter] = []
    if touched:
        for key in _filter_keys(flow):
            op = params.get(f"op.{key}") or ""
            values = [v.strip() for v in params.getlist(f"v.{key}") if v.strip()]
            if op not in _ops(flow, key):
                continue
            if op in ("empty", "not_empty"):
                filters.append(ViewFilter(key, op))
            elif not values:
                continue
            elif op == "between":
                high = (params.get(f"v2.{key}") or "").strip()
                if high:
                    filters.append(ViewFilter(key, op, [values[0], high]))
                else:
                    filters.append(ViewFilter(key, "ge", values[0]))
            elif op == "in":
                filters.append(ViewFilter(key, op, values))
            else:
                filters.append(ViewFilter(key, op, values[0]))
    sort = params.get("sort") or base.sort
    q = (params.get("q") or "").strip() or None
    return ViewSpec(cols or base.columns, tuple(filters) if touched else base.filters, sort, q if touched else base.search)


def spec_params(spec: ViewSpec) -> list[tuple[str, str]]:
    """The URL parameters of a view (the inverse of spec_from_params)."""
    out: list[tuple[str, str]] = [("col", c) for c in spec.columns]
    for f in spec.filters:
        out.append((f"op.{f.field}", f.op))
        if isinstance(f.value, list):
            if f.op == "between":
                out += [(f"v.{f.field}", str(f.value[0])), (f"v2.{f.field}", str(f.value[1]))]
            else:
                out += [(f"v.{f.field}", str(v)) for v in f.value]
        elif f.value is not None:
            out.append((f"v.{f.field}", str(f.value).lower() if isinstance(f.value, bool) else str(f.value)))
    out.append(("sort", spec.sort))
    if spec.search:
        out.append(("q", spec.search))
    return out


def _people(request: Request) -> list[tuple[str, str]]:
    return [(str(u["id"]), str(u["display_name"])) for u in list_users(services(request).db) if u["active"]]


def _filter_cells(request: Request, flow: CompiledFlow, spec: ViewSpec, page: Page) -> dict[str, FilterCell]:
    """The filter row: one cell under each column that can be filtered."""
    _ = page._
    given = {f.field: f for f in spec.filters}
    people: list[tuple[str, str]] | None = None
    out = {}
    for col in spec.columns:
        key = FILTER_OF_COLUMN.get(col, col)
        if key not in _filter_keys(flow):
            continue
        field = flow.fields.get(key)
        kind = field.type if field is not None else key
        if kind == "reference":
            continue  # the picker's search is on the record page; the API filters references by id
        ops = [(o, _(OP_WORDS[o])) for o in _ops(flow, key)]
        flt = given.get(key)
        values: list[str] = []
        if flt is not None:
            raw = flt.value if isinstance(flt.value, list) else [flt.value] if flt.value is not None else []
            values = [str(v).lower() if isinstance(v, bool) else str(v) for v in raw]
        options: list[tuple[str, str]] = []
        if kind == "choice" and field is not None:
            options = [(k, flow_text(v, page._.locale, flow) or k) for k, v in getattr(field, "choices", {}).items()]
        elif key == "@state":
            options = [(n, flow_text(s.title, page._.locale, flow) or n) for n, s in flow.spec.states.items()]
        elif kind in ("user", "@assignee"):
            people = people if people is not None else _people(request)
            options = people
        elif kind in ("boolean", "@late"):
            options = [("true", _("Yes")), ("false", _("No"))]
        input_type = getattr(field, "filter_input", "text") if field is not None else "text"
        if kind in ("integer", "decimal", "money"):
            input_type = "text"
        out[col] = FilterCell(key, ops, flt.op if flt is not None else DEFAULT_OPS.get(kind, "eq"), values, options,
                              input_type)
    return out


def _cell_text(live: LiveFlow, col: ColumnInfo, row: Any, rec: Any, page: Page) -> tuple[str, str]:
    """(text, css class) of one cell for the reader."""
    flow = live.flow
    cell = row.cells[col.key]
    _ = page._
    if col.key == "@sla":
        if rec.state in flow.final_states:
            return "", ""
        sys = rec.system
        sla_state = sys.get("sla_state") or rec.state
        badge = sla_badge(flow, sla_state if sla_state in flow.spec.states else rec.state, sys.get("sla_status"),
                          sys.get("sla_due_at"), sys.get("sla_warn_at"), page.now, _)
        return (f"{badge.label} · {badge.due_local}" if badge and badge.due_local else badge.label if badge else "",
                f"sla sla-{badge.status}" if badge else "")
    if col.key == "@stage_age":
        return ("" if cell.value is None else age_text(page.now - timedelta(seconds=cell.value), page.now, _)), "num"
    if col.key in ("@created_at", "@updated_at"):
        return (cell.value.astimezone(flow.timezone).strftime("%Y-%m-%d %H:%M") if cell.value else ""), ""
    if cell.label is not None:
        return cell.label, ""
    if col.kind == "count":
        return str(cell.value), "num"
    if cell.value is None or col.key not in flow.fields:
        return "", ""
    css = "num" if col.kind in ("integer", "decimal", "money") else ""
    return display(flow.fields[col.key], cell.value, flow.timezone, _), css


def _column_title(col: ColumnInfo, page: Page) -> str:
    return page._(col.title) if col.system else col.title


def _sum_texts(live: LiveFlow, sums: dict[str, Any], page: Page) -> dict[str, str]:
    flow = live.flow
    return {k: display(flow.fields[k], v, flow.timezone, page._) or "0" for k, v in sums.items()}


def _error_text(exc: ValidationFailed, page: Page) -> str:
    return "; ".join(translate_message(page._, v) for v in exc.field_errors.values())


def _table_context(request: Request, flow_name: str, page: Page, *, status: int = 200,
                   results: list[tuple[int, str, str, bool]] | None = None, banner: str | None = None) -> Response:
    svc = services(request)
    live = svc.registry.get(flow_name)
    flow = live.flow
    params = request.query_params
    views = _views(request)
    saved: SavedView | None = None
    error: str | None = None
    view_id = params.get("view")
    try:
        if view_id and view_id.isascii() and view_id.isdigit():
            saved = views.get(flow_name, int(view_id), page.actor)
        elif not params.get("col") and "sort" not in params:
            saved = views.default(flow_name, page.actor)
    except WorkflowError:
        saved = None
    spec = spec_from_params(flow, params, saved.spec if saved else None)
    reader = ViewReader(svc.db, svc.records, page.actor, page._.locale, _settings_limit(request))
    result: ViewPage | None = None
    try:
        result = run_view(reader, live, spec, limit=PAGE_SIZE, after=params.get("after") or None)
    except ValidationFailed as exc:
        error, status = _error_text(exc, page), 422
    back = [c for c in (params.get("back") or "").split(".") if c][-MAX_BACK:]
    view_q = spec_params(spec) + ([("view", str(saved.id))] if saved else [])
    rows = []
    if result is not None:
        for row, rec in zip(result.rows, result.records):
            rows.append((row, [(c, *_cell_text(live, c, row, rec, page)) for c in result.columns]))
    columns = result.columns if result is not None else [c for c in available_columns(flow, page._.locale)
                                                         if c.key in spec.columns]
    next_q = prev_q = None
    if result is not None and result.next_cursor:
        next_q = urlencode(view_q + [("after", result.next_cursor),
                                     ("back", ".".join([*back, params.get("after") or "-"]))])
    if params.get("after"):
        earlier = back[:-1]
        prev_after = back[-1] if back else "-"
        prev_q = urlencode(view_q + ([("after", prev_after)] if prev_after != "-" else [])
                           + ([("back", ".".join(earlier))] if earlier else []))
    transitions = [(n, flow_text(t.title, page._.locale, flow) or n) for n, t in flow.spec.transitions.items()
                   if page.actor.is_admin or page.actor.roles & set(t.by)]
    ctx = page.context(
        flow=flow, spec=spec, columns=columns, column_titles={c.key: _column_title(c, page) for c in columns},
        all_columns=[(c, _column_title(c, page)) for c in available_columns(flow, page._.locale)],
        filters=_filter_cells(request, flow, spec, page), rows=rows, error=error, banner=banner,
        notes=[translate_message(page._, n) for n in (result.notes if result else [])],
        sort=spec.sort, sortable=set(sort_keys(flow)), next_q=next_q, prev_q=prev_q, view_q=urlencode(view_q),
        sort_q=urlencode([p for p in view_q if p[0] != "sort"]),
        sums_q=urlencode(spec_params(spec)), has_sums=any(c.summable for c in columns),
        saved=saved, saved_views=views.list(flow_name, page.actor), may_share=may_share(flow, page.actor),
        roles=[(r, flow_text(s.title, page._.locale, flow) or r) for r, s in flow.spec.roles.items()],
        spec_json=json.dumps(spec.as_json(), ensure_ascii=False), transitions=transitions,
        may_assign=may_reassign(flow, page.actor), people=_people(request) if may_reassign(flow, page.actor) else [],
        results=results, back_after=params.get("after") or "", back_stack=".".join(back))
    template = "data_table/_area.html" if page.request.headers.get("hx-target") == "table-area" else "data_table/page.html"
    return render(template, ctx, status_code=status)


@router.get("/lists/{flow_name}/table")
def table_page(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    return _table_context(request, flow_name, page)


@router.get("/lists/{flow_name}/table/sums")
def table_sums(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    svc = services(request)
    live = svc.registry.get(flow_name)
    spec = spec_from_params(live.flow, request.query_params, None)
    reader = ViewReader(svc.db, svc.records, page.actor, page._.locale, _settings_limit(request))
    try:
        sums, count = view_sums(reader, live, spec)
    except ValidationFailed as exc:
        return render("data_table/_sums.html", page.context(error=_error_text(exc, page), columns=[], sums={}, count=None),
                      status_code=422)
    columns = view_columns(live.flow, spec, page._.locale)
    return render("data_table/_sums.html", page.context(columns=columns, sums=_sum_texts(live, sums, page), count=count,
                                                        error=None))


def _form_spec(flow: CompiledFlow, page: Page) -> ViewSpec:
    from engine.records.data_view import spec_from_json

    raw = page.form.get("spec")
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        data = None
    return spec_from_json(data)


@router.post("/lists/{flow_name}/table/views")
def save_view(request: Request, flow_name: str, page: Annotated[Page, Depends(checked_page)]) -> Response:
    flow = services(request).registry.get(flow_name).flow
    role = str(page.form.get("shared_role") or "") or None
    try:
        view = _views(request).create(flow, page.actor, page.form.get("name"), _form_spec(flow, page), shared_role=role,
                                      is_default=page.form.get("default") == "on")
    except ValidationFailed as exc:
        return _table_context(request, flow_name, page, status=422, banner=_error_text(exc, page))
    except Forbidden as exc:
        return _table_context(request, flow_name, page, status=403, banner=translate_message(page._, exc.args[0]))
    return RedirectResponse(f"/lists/{flow_name}/table?view={view.id}", status_code=303)


@router.post("/lists/{flow_name}/table/views/{view_id}/{action}")
def change_view(request: Request, flow_name: str, view_id: int, action: str,
                page: Annotated[Page, Depends(checked_page)]) -> Response:
    flow = services(request).registry.get(flow_name).flow
    views = _views(request)
    try:
        if action == "rename":
            views.update(flow, view_id, page.actor, name=page.form.get("name"))
        elif action == "default":
            views.update(flow, view_id, page.actor, is_default=page.form.get("default") == "on")
        elif action == "update":
            views.update(flow, view_id, page.actor, spec=_form_spec(flow, page))
        elif action == "delete":
            views.delete(flow_name, view_id, page.actor)
            return RedirectResponse(f"/lists/{flow_name}/table", status_code=303)
        else:
            return Response(status_code=404)
    except ValidationFailed as exc:
        return _table_context(request, flow_name, page, status=422, banner=_error_text(exc, page))
    except Forbidden as exc:
        return _table_context(request, flow_name, page, status=403, banner=translate_message(page._, exc.args[0]))
    return RedirectResponse(f"/lists/{flow_name}/table?view={view_id}", status_code=303)


@router.post("/lists/{flow_name}/table/bulk")
def bulk(request: Request, flow_name: str, page: Annotated[Page, Depends(checked_page)]) -> Response:
    svc = services(request)
    flow = svc.registry.get(flow_name).flow
    _ = page._
    try:
        ids = check_ids([int(v) for v in page.form.getlist("ids") if isinstance(v, str) and v.isascii() and v.isdigit()])
        action = str(page.form.get("action") or "")
        results: list[BulkResult]
        if action.startswith("assign:"):
            target = action.removeprefix("assign:")
            to_user = int(target) if target.isascii() and target.isdigit() else None
            results = bulk_assign(svc.access, svc.executor, flow_name, ids, to_user, page.actor)
        elif action.startswith("transition:") and action.removeprefix("transition:") in flow.spec.transitions:
            results = bulk_transition(svc.access, flow_name, ids, action.removeprefix("transition:"), page.actor,
                                      comment=str(page.form.get("comment") or "").strip() or None)
        else:
            raise ValidationFailed({"action": _("Choose what to do with the selected records.")})
    except ValidationFailed as exc:
        return _table_context(request, flow_name, page, status=422, banner=_error_text(exc, page))
    shown = [(r.record_id, _("Moved") if r.outcome == "moved" else _("Handed over") if r.outcome == "assigned"
              else _("Refused"), translate_message(_, r.reason) if r.reason else "", r.ok) for r in results]
    return _table_context(request, flow_name, page, results=shown)
