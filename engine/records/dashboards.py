"""Dashboards: which boards a flow has, who sees them, and their figures (cached with a stated freshness).

A flow's boards are its `dashboards:` (engine/language/dashboard_spec.py), or, when it names none, a
default board: records per stage, work in progress by age, cycle time per stage, on-time rate per stage
and per person, the late and soon-late records, records created per week.

Who sees a board: admins, and the holders of a role it is `for:`; the default board is for the roles
that own a stage of the flow. Whoever sees a board sees its figures only over the records they may see
(engine/records/access.py `visible_clause`).

Freshness: the figures of a board are computed for a scope and kept for `ttl` seconds (the page says
"figures as of hh:mm"). The scope is "every record" for admins and under `visibility: all`; otherwise
it is the reader (their own records, their departments and queues differ from anyone else's), so the
cache key is (flow, revision, board, scope) and nobody is ever served figures computed for someone else.
Computing one board at 1,000,000 records takes seconds (bench/dashboard.py); within `ttl` the answer is
a dictionary lookup, and a server's cache (api/dashboard_data.py) answers older figures at once while it
computes them again in the background. The figures are shared by the servers of a database and computed
again by a worker ahead of their expiry while somebody reads them (engine/records/board_store.py), so only
the first reader of a scope waits: the first ever, or the first after nobody read it for a while.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Engine

from engine.language.dashboard_spec import DashboardSpec, WidgetSpec
from engine.language.flow import CompiledFlow
from engine.records.access import visibility_rule, visible_clause
from engine.records.board_store import BoardKey, Figures, FigureStore, Stale
from engine.records.actor import Actor
from engine.records.dashboard_figures import widget_figures
from engine.records.errors import NotFound
from engine.people.users import load_actor
from engine.records.records import Records
from engine.storage.registry import FlowRegistry, LiveFlow
from forms.local_text import LocalText, pick

log = logging.getLogger("relayflow.dashboards")

DEFAULT_TTL = 60.0  # seconds a board's figures are kept (RELAYFLOW_DASHBOARD_TTL)

DEFAULT_BOARD = DashboardSpec(title={"en": "Overview", "zh-CN": "概览"}, widgets=[
    WidgetSpec(count_by="state"), WidgetSpec(wip_by_age="default"), WidgetSpec(cycle_time="by_stage"),
    WidgetSpec(on_time_rate="by_stage"), WidgetSpec(on_time_rate="by_person"), WidgetSpec(late="list"),
    WidgetSpec(soon_late="list"), WidgetSpec(count="records", by="week"),
])

# Headings of widgets without a `title`, as flow text (picked in the reader's language like any title).
_HEADINGS: dict[str, dict[str, str]] = {
    "count_by": {"en": "Records per stage", "zh-CN": "各阶段记录数"},
    "wip_by_age": {"en": "Work in progress by age", "zh-CN": "在办记录(按时长)"},
    "cycle_time": {"en": "Average time per stage visit", "zh-CN": "各阶段平均用时(每次经过)"},
    "on_time_rate:by_stage": {"en": "On time per stage", "zh-CN": "各阶段按时完成率"},
    "on_time_rate:by_person": {"en": "On time per person", "zh-CN": "各人按时完成率"},
    "count:month": {"en": "Records created per month", "zh-CN": "每月新建记录"},
    "count:week": {"en": "Records created per week", "zh-CN": "每周新建记录"},
    "sum:month": {"en": "{field} per month", "zh-CN": "{field}(按月合计)"},
    "sum:week": {"en": "{field} per week", "zh-CN": "{field}(按周合计)"},
    "late": {"en": "Late", "zh-CN": "已超时"},
    "soon_late": {"en": "Due soon", "zh-CN": "即将超时"},
}


def boards(flow: CompiledFlow) -> list[DashboardSpec]:
    """The flow's dashboards, or the default one."""
    return list(flow.spec.dashboards) or [DEFAULT_BOARD]


def audience(flow: CompiledFlow, board: DashboardSpec) -> frozenset[str]:
    """The roles a board is for: its `for:`, or (the default board, or none named) the owners of the flow's stages."""
    if board.roles:
        return board.roles
    return frozenset(s.owner for s in flow.spec.states.values() if s.owner)


def may_see(flow: CompiledFlow, board: DashboardSpec, actor: Actor) -> bool:
    return actor.is_admin or bool(actor.roles & audience(flow, board))


def boards_for(flow: CompiledFlow, actor: Actor) -> list[tuple[int, DashboardSpec]]:
    """The boards of `flow` that `actor` sees, with their numbers (0, 1, … in the file's order)."""
    return [(i, b) for i, b in enumerate(boards(flow)) if may_see(flow, b, actor)]


def flows_with_boards(registry: FlowRegistry, actor: Actor) -> list[LiveFlow]:
    """The flows with a board for `actor` (the navigation's Dashboard entry)."""
    return [live for live in registry.all() if boards_for(live.flow, actor)]


@dataclass
class FigureCache:
    """Computed boards kept for `ttl` seconds per (flow, revision, board, scope); one computation per key at a time.

    With `background`, figures older than `ttl` (but younger than `max_stale`) are still answered at once,
    with their own `as_of`, while one thread computes them again: at 1,000,000 records a board takes seconds
    to compute (bench/dashboard.py), and only the first reader of a scope ever waits for it."""

    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.monotonic
    background: bool = False
    max_stale: float | None = None  # default: 10 × ttl; older figures are computed again while the reader waits
    _data: dict[tuple[Any, ...], tuple[float, Figures]] = field(default_factory=dict)
    _locks: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)
    _refreshing: set[tuple[Any, ...]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[Any, ...], compute: Callable[[], Figures],
            stored: Callable[[], Figures | None] | None = None) -> Figures:
        """The figures of `key`: kept ones younger than `ttl`; else the shared ones of `stored` (figures other
        servers or a worker computed, engine/records/board_store.py) if they are younger; else computed."""
        hit = self._data.get(key)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        if stored is not None and (hit is None or key not in self._refreshing):  # (a refresh will look there)
            shared = stored()
            if shared is not None and (hit is None or self.clock() - shared.age > hit[0]):
                with self._lock:
                    lock = self._locks.setdefault(key, threading.Lock())
                self._put(key, shared, lock)
                hit = self._data.get(key)
                if shared.age < self.ttl:
                    return shared
        if hit is not None:
            age = self.clock() - hit[0]
            if self.background and age < (self.max_stale if self.max_stale is not None else 10 * self.ttl):
                self._refresh_later(key, compute)
                return hit[1]
        return self._compute(key, compute, hit)

    def _compute(self, key: tuple[Any, ...], compute: Callable[[], Figures],
                 seen: tuple[float, Figures] | None) -> Figures:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # a second reader of the same board waits for the first one's figures
            hit = self._data.get(key)
            if hit is not None and hit is not seen and self.clock() - hit[0] < self.ttl:  # computed meanwhile
                return hit[1]
            figures = compute()
            self._put(key, figures, lock)
            return figures

    def _put(self, key: tuple[Any, ...], figures: Figures, lock: threading.Lock) -> None:
        with self._lock:
            if len(self._data) > 2000:
                self._data.clear()
                self._locks = {key: lock}
            self._data[key] = (self.clock() - figures.age, figures)

    def _refresh_later(self, key: tuple[Any, ...], compute: Callable[[], Figures]) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                seen = self._data.get(key)
                self._compute(key, compute, seen)
            except Exception:  # the stale figures stay; the next reader past the ttl tries again
                log.exception("dashboard figures %s could not be computed", key[1:])
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name="relayflow-dashboard", daemon=True).start()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


FIGURES = FigureCache()  # a default cache for callers without one of their own (a server keeps one per app)


def scope(live: LiveFlow, actor: Actor) -> tuple[str, ColumnElement[bool] | None]:
    """The cache scope of a reader and the SQL condition of the records they see (None: every record)."""
    if actor.is_admin or visibility_rule(live.flow) == "all":
        return "all", None
    return f"user:{actor.id}:{','.join(sorted(actor.roles))}", visible_clause(live, actor)


def board_key(live: LiveFlow, board: int, actor: Actor) -> BoardKey:
    return BoardKey(live.flow.name, live.revision, board, scope(live, actor)[0])


def compute_board(db: Engine, registry: FlowRegistry, records: Records, live: LiveFlow, board: int, actor: Actor,
                  now: datetime | None = None) -> Figures:
    """Board number `board` of a flow computed now over what `actor` sees (the board must be theirs)."""
    spec = dict(boards_for(live.flow, actor))[board]
    _, seen = scope(live, actor)
    at = now or datetime.now(timezone.utc)
    with db.connect().execution_options(readonly=True) as conn:
        data = [widget_figures(db, conn, registry, records, live, actor, seen, w, at) for w in spec.widgets]
    return Figures(live.flow.name, board, at, data)


def board_figures(db: Engine, registry: FlowRegistry, records: Records, flow_name: str, board: int, actor: Actor, *,
                  now: datetime | None = None, cache: FigureCache | None = None,
                  store: FigureStore | None = None) -> Figures:
    """The figures of board number `board` of a flow for `actor`; NotFound when there is no such board for them.
    With `store`, figures are shared with the other servers and workers of the database (board_store.py)."""
    live = registry.get(flow_name)
    if board not in dict(boards_for(live.flow, actor)):
        raise NotFound(f"no dashboard {board} of {flow_name}")
    key = board_key(live, board, actor)
    ttl = (cache or FIGURES).ttl

    def compute() -> Figures:
        if store is not None:  # another server or a worker may have computed them since
            shared = store.load(key, mark_read=False)
            if shared is not None and shared.age < ttl:
                return shared
        figures = compute_board(db, registry, records, live, board, actor, now)
        if store is not None:
            store.save(key, actor.id, figures)
        return figures

    stored = (lambda: store.load(key)) if store is not None else None
    return (cache or FIGURES).get((str(db.url), flow_name, live.revision, board, key.scope), compute, stored)


def recompute(db: Engine, registry: FlowRegistry, records: Records, row: Stale) -> Figures | None:
    """A stored row's figures computed again for the reader they were computed for (a worker's refresh, board_store.py),
    or None when the row is not to be kept: the flow, its revision or the board are gone, the reader is
    deactivated, or their roles (so their scope) changed since."""
    key = row.key
    if row.user_id is None or key.flow not in registry.names():
        return None
    live = registry.get(key.flow)
    try:
        actor = load_actor(db, uid=row.user_id)
    except NotFound:
        return None
    if live.revision != key.revision or board_key(live, key.board, actor) != key \
            or key.board not in dict(boards_for(live.flow, actor)):
        return None
    return compute_board(db, registry, records, live, key.board, actor)


# --- in the reader's language ----------------------------------------------------------------------

def heading(flow: CompiledFlow, widget: WidgetSpec, lang: str | None) -> str:
    """A widget's heading in `lang`: its title, or one named after its kind."""
    fallback = flow.spec.language
    if widget.title is not None:
        return pick(widget.title, lang, fallback) or widget.kind
    kind = widget.kind
    key = {"on_time_rate": f"on_time_rate:{widget.on_time_rate}", "count": f"count:{widget.period}",
           "sum": f"sum:{widget.period}"}.get(kind, kind)
    text = pick(_HEADINGS[key], lang, "en") or kind
    if kind == "sum" and widget.sum in flow.fields:
        text = text.format(field=pick(flow.fields[widget.sum].title, lang, fallback) or widget.sum)
    return text


def board_title(flow: CompiledFlow, board: DashboardSpec, lang: str | None) -> str:
    title: LocalText | None = board.title
    return pick(title, lang, flow.spec.language) or pick(flow.spec.title, lang, flow.spec.language) or flow.name


def for_reader(flow: CompiledFlow, board: DashboardSpec, figures: Figures, lang: str | None) -> dict[str, Any]:
    """The figures as JSON for a reader: headings, state titles and labels in `lang`, numbers as numbers."""
    fallback = flow.spec.language
    lang = lang or fallback

    def state_title(name: str) -> str:
        return (pick(flow.state(name).title, lang, fallback) or name) if name in flow.spec.states else name

    widgets = []
    for spec, data in zip(board.widgets, figures.widgets):
        kind = spec.kind
        w: dict[str, Any] = {"kind": kind, "title": heading(flow, spec, lang)}
        if kind in ("count_by", "cycle_time") or (kind == "on_time_rate" and spec.on_time_rate == "by_stage"):
            w["rows"] = [{**row, "label": state_title(row["state"])} for row in data]
        elif kind == "on_time_rate":
            w["rows"] = [{**row, "label": row["name"]} for row in data]
        elif kind == "wip_by_age":
            w["rows"] = [{**row, "label": _age_label(row["upto_seconds"], data, lang)} for row in data]
        elif kind in ("sum", "count"):
            w["rows"] = [{**row, "label": row["period"]} for row in data]
            w["period"] = spec.period
            if kind == "sum" and spec.sum in flow.fields:
                w["currency"] = getattr(flow.fields[spec.sum], "currency", None)
        else:
            w["total"] = data["total"]
            w["rows"] = [{**row, "label": row["title"], "state_title": state_title(row["state"]),
                          "url": f"/records/{flow.name}/{row['id']}"} for row in data["items"]]
        widgets.append(w)
    return {"flow": flow.name, "board": figures.board, "title": board_title(flow, board, lang),
            "as_of": figures.as_of.isoformat(), "widgets": widgets}


def _span(seconds: float, zh: bool) -> str:
    days, hours = int(seconds // 86400), int(seconds % 86400 // 3600)
    if days and not hours:
        return f"{days}天" if zh else f"{days}d"
    if days:
        return f"{days}天{hours}小时" if zh else f"{days}d {hours}h"
    return f"{hours}小时" if zh else f"{hours}h"


def _age_label(upto: float | None, rows: list[dict[str, Any]], lang: str | None) -> str:
    zh = bool(lang and lang.lower().startswith("zh"))
    if upto is None:
        last = rows[-2]["upto_seconds"] if len(rows) > 1 else 0
        return f"超过{_span(last, zh)}" if zh else f"over {_span(last, zh)}"
    return f"{_span(upto, zh)}以内" if zh else f"up to {_span(upto, zh)}"
