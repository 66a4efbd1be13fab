"""The figures of one dashboard widget, computed in the database over the records a reader may see.

Every function takes a read connection, the live flow and `seen`: a condition on the flow's table (the
reader's visibility, engine/records/access.py `visible_clause`), or None for "every record" (admins,
`visibility: all`). Facts come from where the engine keeps them:

* stages and ages from the flow's table (the open records, their clocks);
* cycle time from the history: every row that puts a record into a state (create, transition, send
  back, return, a reload's move) starts a visit, the record's next such row ends it; a revisited
  stage counts once per visit;
* on-time rates from the stage results the SLA clock writes when a stage ends (engine/sla/report.py,
  whose report is reused for the per-stage rate).

The answers are plain JSON-able values with state and field names, never titles: titles are picked in
the reader's language when the figures are shown (engine/records/dashboards.py `for_reader`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, extract, func, literal_column, select
from sqlalchemy.engine import Connection

from engine.language.dashboard_spec import WidgetSpec
from engine.records.actor import Actor
from engine.records.records import Records
from engine.records.reference_titles import retitle
from engine.records.task_actions import ENTRY_ACTIONS
from engine.sla.report import stage_report
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import history, sla_results, users

LIST_LIMIT = 20  # rows of a late / soon-late list (the count above it is exact)
PERIODS = 12  # months or weeks back in a sum or a count
MIGRATE_ACTION = "migrate"  # engine/evolve/record_steps.py: a reload moved the record to another state
VISIT_ACTIONS = (*ENTRY_ACTIONS, MIGRATE_ACTION)
BY_FIRST: Any = literal_column("1")  # GROUP BY the first column: an expression with bound values, written once


def _where(q: Any, seen: ColumnElement[bool] | None) -> Any:
    return q if seen is None else q.where(seen)


def _records_of(live: LiveFlow, seen: ColumnElement[bool] | None) -> Any:
    """The ids of the records counted, for a table keyed by record id (history, stage results)."""
    return select(live.table.c.id).where(seen) if seen is not None else None


def count_by_state(conn: Connection, live: LiveFlow, seen: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    t = live.table
    counts = {s: n for s, n in conn.execute(_where(select(t.c.state, func.count()).group_by(t.c.state), seen))}
    return [{"state": s, "count": int(counts.get(s, 0))} for s in live.flow.spec.states]


def wip_by_age(conn: Connection, live: LiveFlow, seen: ColumnElement[bool] | None, now: datetime,
               bounds: tuple[float, ...]) -> list[dict[str, Any]]:
    """Open records (not in a final state) by time since creation: one bucket per bound, then the rest."""
    t = live.table
    bucket = case(*[(t.c.created_at > now - timedelta(seconds=b), i) for i, b in enumerate(bounds)], else_=len(bounds))
    q = select(bucket, func.count()).where(t.c.state.not_in(sorted(live.flow.final_states))).group_by(BY_FIRST)
    counts = {b: n for b, n in conn.execute(_where(q, seen))}
    out: list[dict[str, Any]] = [{"upto_seconds": b, "count": int(counts.get(i, 0))} for i, b in enumerate(bounds)]
    out.append({"upto_seconds": None, "count": int(counts.get(len(bounds), 0))})
    return out


def _seconds(conn: Connection, instant: Any) -> Any:
    """SQL: an instant as seconds on a fixed scale (differences are durations)."""
    if conn.dialect.name == "sqlite":
        return func.julianday(instant) * 86400.0
    return extract("epoch", instant)


def cycle_time(conn: Connection, live: LiveFlow, seen: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    """Per state: finished visits and their average length in seconds (a revisited stage counts each visit)."""
    h = history
    at = _seconds(conn, h.c.at)  # once per history row: the row's own start, and the end of the visit before it
    left = func.lead(at).over(partition_by=h.c.record_id, order_by=h.c.id)
    entries = select(h.c.to_state.label("state"), at.label("at"), left.label("left_at")).where(
        h.c.flow == live.flow.name, h.c.action.in_(VISIT_ACTIONS))
    ids = _records_of(live, seen)
    if ids is not None:
        entries = entries.where(h.c.record_id.in_(ids))
    e = entries.subquery()
    q = (select(e.c.state, func.count(), func.avg(e.c.left_at - e.c.at))
         .where(e.c.left_at.is_not(None)).group_by(e.c.state))
    # whole seconds: SQLite's julianday arithmetic is a float, off by microseconds
    found = {s: (int(n), float(round(float(avg))) if avg is not None else None) for s, n, avg in conn.execute(q)}
    return [{"state": s, "visits": found[s][0], "avg_seconds": found[s][1]}
            for s in live.flow.spec.states if s in found]


def on_time_by_stage(db: Engine, registry: FlowRegistry, live: LiveFlow,
                     seen: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    """Per clocked state: stages finished, of which before their due instant (the SLA report's numbers)."""
    rows = stage_report(db, registry, flow=live.flow.name, visible=lambda _live: seen)
    return [{"state": s.state, "finished": s.finished, "met": s.met, "rate": s.met_rate,
             "open_breached": s.open_breached} for s in rows]


def on_time_by_person(conn: Connection, live: LiveFlow, seen: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    """Per person who finished stages (moved the record on): finished, met and the rate, most finished first."""
    r = sla_results
    met = func.sum(case((r.c.met, 1), else_=0))
    q = (select(r.c.actor_id, users.c.display_name, func.count(), met)
         .outerjoin(users, users.c.id == r.c.actor_id)
         .where(r.c.flow == live.flow.name).group_by(r.c.actor_id, users.c.display_name)
         .order_by(func.count().desc(), r.c.actor_id).limit(50))
    ids = _records_of(live, seen)
    if ids is not None:
        q = q.where(r.c.record_id.in_(ids))
    out = []
    for actor_id, name, n, m in conn.execute(q):
        out.append({"user_id": actor_id, "name": name or ("—" if actor_id is None else f"#{actor_id}"),
                    "finished": int(n), "met": int(m or 0), "rate": int(m or 0) / int(n) if n else None})
    return out


def period_starts(now: datetime, live: LiveFlow, period: str, n: int = PERIODS) -> list[datetime]:
    """The starts (in the flow's time zone) of the last `n` months or weeks, oldest first, the current one last."""
    local = now.astimezone(live.flow.timezone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    starts: list[datetime] = []
    if period == "month":
        y, m = day.year, day.month
        for _ in range(n):
            starts.append(day.replace(year=y, month=m, day=1))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    else:
        monday = day - timedelta(days=day.weekday())
        starts = [monday - timedelta(weeks=i) for i in range(n)]
    return [s.replace(tzinfo=live.flow.timezone) for s in reversed(starts)]


def _label(start: datetime, period: str) -> str:
    return f"{start:%Y-%m}" if period == "month" else f"{start:%Y-%m-%d}"


def _period_of(conn: Connection, live: LiveFlow, column: Any, period: str, now: datetime) -> Any:
    """SQL: the label of the month (`2026-10`) or week (its Monday, `2026-10-12`) of an instant, in the flow's zone."""
    tz = live.flow.timezone
    if conn.dialect.name == "sqlite":  # the zone's offset now (a zone with summer time may shift an hour at the edges)
        offset = now.astimezone(tz).utcoffset() or timedelta(0)
        shift = f"{int(offset.total_seconds()):+d} seconds"
        if period == "month":
            return func.strftime("%Y-%m", column, shift)
        return func.date(column, shift, "-6 days", "weekday 1")
    local = func.timezone(getattr(tz, "key", "UTC"), column)
    unit, fmt = ("month", "YYYY-MM") if period == "month" else ("week", "YYYY-MM-DD")
    return func.to_char(func.date_trunc(literal_column(f"'{unit}'"), local), fmt)


def per_period(conn: Connection, live: LiveFlow, seen: ColumnElement[bool] | None, now: datetime, period: str,
               field: str | None) -> list[dict[str, Any]]:
    """Records created per month/week, or the sum of `field` over them, for the last PERIODS periods."""
    t = live.table
    starts = period_starts(now, live, period)
    label = _period_of(conn, live, t.c.created_at, period, now)
    value = func.sum(t.c[field]) if field is not None else func.count()
    q = select(label, value).where(t.c.created_at >= starts[0]).group_by(BY_FIRST)
    found = {str(k): v for k, v in conn.execute(_where(q, seen))}
    scale = getattr(live.flow.fields[field], "scale", 0) if field is not None else 0
    out = []
    for start in starts:
        v = found.get(_label(start, period))
        if field is None:
            out.append({"period": _label(start, period), "count": int(v or 0)})
        else:
            amount = (v if isinstance(v, Decimal) else Decimal(str(v or 0))).quantize(Decimal(1).scaleb(-int(scale or 0)))
            out.append({"period": _label(start, period), "sum": str(amount), "value": float(amount)})
    return out


def due_list(conn: Connection, registry: FlowRegistry, records: Records, live: LiveFlow, actor: Actor,
             seen: ColumnElement[bool] | None, now: datetime, *, late: bool, until: datetime | None = None,
             limit: int = LIST_LIMIT) -> dict[str, Any]:
    """Open, unpaused records past their due instant (`late`), or in their warning period and not yet due;
    `until` instead: not late, due before that instant (what falls due today). Most urgent first."""
    t = live.table
    running = [t.c.sla_due_at.is_not(None), t.c.sla_paused_at.is_(None), t.c.state.not_in(sorted(live.flow.final_states))]
    if late:
        cond = [*running, t.c.sla_due_at <= now]
    elif until is not None:
        cond = [*running, t.c.sla_due_at > now, t.c.sla_due_at < until]
    else:
        cond = [*running, t.c.sla_due_at > now, t.c.sla_warn_at <= now]
    total = int(conn.execute(_where(select(func.count()).select_from(t).where(*cond), seen)).scalar() or 0)
    q = (select(t, users.c.display_name.label("assignee_name")).outerjoin(users, users.c.id == t.c.assignee_id)
         .where(*cond).order_by(t.c.sla_due_at, t.c.id).limit(limit))
    rows = conn.execute(_where(q, seen)).mappings().all()
    recs = [records.row_to_record(live, row) for row in rows]
    retitle(conn, registry, live.flow, actor, recs)
    items = [{"id": rec.id, "title": rec.title, "state": rec.state, "due_at": row["sla_due_at"].isoformat(),
              "assignee": row["assignee_name"]} for rec, row in zip(recs, rows)]
    return {"total": total, "items": items}


def widget_figures(db: Engine, conn: Connection, registry: FlowRegistry, records: Records, live: LiveFlow,
                   actor: Actor, seen: ColumnElement[bool] | None, widget: WidgetSpec, now: datetime) -> Any:
    """The data of one widget."""
    kind = widget.kind
    if kind == "count_by":
        return count_by_state(conn, live, seen)
    if kind == "wip_by_age":
        return wip_by_age(conn, live, seen, now, widget.age_bounds)
    if kind == "cycle_time":
        return cycle_time(conn, live, seen)
    if kind == "on_time_rate":
        if widget.on_time_rate == "by_person":
            return on_time_by_person(conn, live, seen)
        return on_time_by_stage(db, registry, live, seen)
    if kind == "sum":
        return per_period(conn, live, seen, now, widget.period, widget.sum)
    if kind == "count":
        return per_period(conn, live, seen, now, widget.period, None)
    return due_list(conn, registry, records, live, actor, seen, now, late=(kind == "late"))
