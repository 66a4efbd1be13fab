"""Fan-out: the scheduler's SLA events become outbox rows, one per recipient and channel.

A scheduler pass writes one ``sla_events`` row per warning, breach or repeat
(engine/sla/scheduler.py); the worker turns each into the outbox rows of the
flow's ``reminders:`` with one ``INSERT ... SELECT`` per batch, recipients
joined in SQL (the assignee and creator as they were at the event, a user or
e-mail field, the active members of the state's owner role or of
``role:x`` as they are now), then deletes the events. Broadcast channels
(webhooks, IM robots) get one row per event. Every row keeps the stable
per-recipient dedupe key (``flow:record:state@stage-start:event[@instant]:
recipient:channel``), unique in the outbox, so a batch fanned out twice adds
nothing. A batch runs under the flow's scheduler lock (PostgreSQL), so two
workers never fan out the same events.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Integer, String, Text, and_, cast, delete, func, literal, null, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, FromClause, Select

from engine.delivery.channels import BROADCAST_CHANNELS
from engine.storage.db import UtcDateTime
from engine.delivery.events import enqueue_sla_events
from engine.delivery.outbox import PENDING, SUPERSEDED, SUPERSEDED_WHY
from engine.storage.registry import LiveFlow
from engine.sla.reminder_plan import (
    SUPERSEDED_EVENT, Rule, epoch_micros, epoch_seconds, reminder_plan, sql_cat, sql_str, sql_text, try_flow_lock
)
from engine.storage.schema import outbox, role_grants, sla_events, users

BATCH = 5000  # events per transaction
EVENTS = ("warn", "breach", "repeat", SUPERSEDED_EVENT)
INSERT_COLUMNS = ("dedupe_key", "flow", "record_id", "state", "event", "rule", "channel", "recipient", "user_id",
                  "address", "due_at", "event_at", "created_at", "status", "attempts", "next_attempt_at", "last_error")


class _Rows:
    """Builds the outbox rows of one flow's events of one kind, at one instant."""

    def __init__(self, live: LiveFlow, now: datetime) -> None:
        self.live = live
        self.flow = live.flow
        self.plan = reminder_plan(live.flow)
        self.now = now

    def due(self, event: str, bound: ColumnElement[bool]) -> FromClause:
        """The events of one kind, with the columns the recipients are joined on and the key prefix."""
        e, t = sla_events, self.live.table
        tag = (sql_cat(sql_text("repeat@"), sql_str(epoch_seconds(e.c.event_at))) if event == "repeat"
               else sql_text(_as_sent(event)))
        prefix = sql_cat(sql_text(f"{self.flow.name}:"), sql_str(e.c.record_id), sql_text(":"), e.c.state,
                         sql_text("@"), sql_str(epoch_micros(e.c.stage_start)), sql_text(":"), tag, sql_text(":"))
        cols: list[Any] = [e.c.record_id.label("id"), e.c.state.label("sla_state"), e.c.due_at.label("sla_due_at"),
                           e.c.event_at, prefix.label("key_prefix"), e.c.assignee_id, e.c.created_by]
        source: FromClause = e
        fields = self.plan.field_targets()
        if fields:
            source = e.outerjoin(t, t.c.id == e.c.record_id)
            cols.extend(t.c[f] for f in fields)
        return select(*cols).select_from(source).where(bound, e.c.event == event).cte(f"due_{event}")

    def parts(self, event: str, due: FromClause) -> list[Select[Any]]:
        rules = self.plan.by_event.get("breach" if event == "repeat" else _as_sent(event), ())
        out: list[Select[Any]] = []
        for rule in rules:
            if event == "repeat" and rule.spec.repeat is None:
                continue
            states = rule.states if event != "repeat" else tuple(
                s for s in rule.states if self.plan.repeat_interval(s) is not None)
            if not states:
                continue
            in_states = due.c.sla_state.in_(states)
            for channel in rule.spec.via:
                if channel in BROADCAST_CHANNELS:
                    out.append(self._part(due, event, rule, channel, None, None, due, in_states))
                    continue
                for target in rule.spec.notify:
                    out.extend(self._target_parts(due, event, rule, channel, target, states, in_states))
        return out

    def _target_parts(self, due: FromClause, event: str, rule: Rule, channel: str, target: str,
                      states: Sequence[str], in_states: ColumnElement[bool]) -> list[Select[Any]]:
        kind, _, name = target.partition(":")

        def person(column: ColumnElement[Any]) -> Select[Any]:
            joined = due.join(users, and_(users.c.id == column, users.c.active.is_(True)))
            return self._part(due, event, rule, channel, users.c.id, None, joined, in_states)

        def members(role: str, where: ColumnElement[bool]) -> Select[Any]:
            joined = (due.join(role_grants, role_grants.c.role == role)
                      .join(users, and_(users.c.id == role_grants.c.user_id, users.c.active.is_(True))))
            return self._part(due, event, rule, channel, users.c.id, None, joined, where)

        if target == "assignee":
            return [person(due.c.assignee_id)]
        if target == "creator":
            return [person(due.c.created_by)]
        if target == "owner":
            by_role: dict[str, list[str]] = {}
            for s in states:
                owner = self.flow.state(s).owner
                if owner:
                    by_role.setdefault(owner, []).append(s)
            return [members(role, due.c.sla_state.in_(ss)) for role, ss in by_role.items()]
        if kind == "role":
            return [members(name, in_states)]
        if kind == "field":
            if self.flow.fields[name].type == "email":
                if channel != "email":
                    return []
                return [self._part(due, event, rule, channel, None, due.c[name], due,
                                   and_(in_states, due.c[name].is_not(None), due.c[name] != ""))]
            return [person(due.c[name])]
        return []

    def _part(self, due: FromClause, event: str, rule: Rule, channel: str, user_id: ColumnElement[Any] | None,
              address: ColumnElement[Any] | None, source: FromClause, where: ColumnElement[bool]) -> Select[Any]:
        now = literal(self.now, UtcDateTime)
        superseded = event == SUPERSEDED_EVENT
        if user_id is not None:
            recipient = sql_cat(sql_text("u"), sql_str(user_id))
        elif address is not None:
            recipient = sql_cat(sql_text("a:"), address)
        else:
            recipient = sql_text("all")
        key = sql_cat(due.c.key_prefix, recipient, sql_text(f":{channel}"))
        return select(
            key.label("dedupe_key"), sql_text(self.flow.name).label("flow"), due.c.id.label("record_id"),
            due.c.sla_state.label("state"), sql_text(_as_sent(event)).label("event"),
            literal(rule.index, Integer).label("rule"), sql_text(channel).label("channel"),
            recipient.label("recipient"),
            (user_id if user_id is not None else cast(null(), Integer)).label("user_id"),
            (address if address is not None else cast(null(), String)).label("address"),
            due.c.sla_due_at.label("due_at"), due.c.event_at.label("event_at"), now.label("created_at"),
            sql_text(SUPERSEDED if superseded else PENDING).label("status"), literal(0, Integer).label("attempts"),
            now.label("next_attempt_at"),
            (sql_text(SUPERSEDED_WHY) if superseded else cast(null(), Text)).label("last_error"),
        ).select_from(source).where(where)


def _as_sent(event: str) -> str:
    """A superseded warning is the warning's message (same rules, same dedupe key), kept unsent."""
    return "warn" if event == SUPERSEDED_EVENT else event


def fan_out_in(conn: Connection, live: LiveFlow, now: datetime, *, limit: int = BATCH) -> tuple[int, int]:
    """Fan out up to `limit` of the flow's oldest events inside the caller's transaction.

    Returns (events taken, outbox rows written); (0, 0) when another worker holds the flow's lock."""
    name = live.flow.name
    if not try_flow_lock(conn, name):
        return 0, 0
    e = sla_events
    oldest = select(e.c.id).where(e.c.flow == name).order_by(e.c.id).limit(limit).subquery()
    found = conn.execute(select(func.count(), func.max(oldest.c.id))).one()
    if not found[0]:
        return 0, 0
    bound = and_(e.c.flow == name, e.c.id <= found[1])
    rows = _Rows(live, now)
    written = _insert(conn, [p for event in EVENTS if event != SUPERSEDED_EVENT
                             for p in rows.parts(event, rows.due(event, bound))])
    # Superseded warnings are logged, not sent: they count neither as events handed on nor as rows to send.
    _insert(conn, rows.parts(SUPERSEDED_EVENT, rows.due(SUPERSEDED_EVENT, bound)))
    superseded = conn.execute(select(func.count()).where(bound, e.c.event == SUPERSEDED_EVENT)).scalar_one()
    written += enqueue_sla_events(conn, live, bound, now)  # `events:` on warn / breach (engine/delivery/events.py)
    conn.execute(delete(e).where(bound))
    return int(found[0]) - int(superseded), written


def _insert(conn: Connection, parts: list[Select[Any]]) -> int:
    """INSERT the rows of `parts` into the outbox (a key already there is skipped); how many were written."""
    if not parts:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    ins = (dialect.insert(outbox).from_select(list(INSERT_COLUMNS), union_all(*parts))
           .on_conflict_do_nothing(index_elements=["dedupe_key"]))
    if conn.dialect.name == "sqlite":  # the statement starts with WITH: the driver reports no rowcount
        conn.execute(ins)
        return int(conn.execute(text("SELECT changes()")).scalar_one())
    done = ins.returning(outbox.c.id).cte("ins")
    return int(conn.execute(select(func.count()).select_from(done)).scalar_one())


def fan_out(db: Engine, live: LiveFlow, now: datetime, *, limit: int = BATCH) -> tuple[int, int]:
    """Fan out all of the flow's pending events, a batch per transaction; returns (events, outbox rows)."""
    events = written = 0
    while True:
        with db.begin() as conn:
            taken, rows = fan_out_in(conn, live, now, limit=limit)
        events, written = events + taken, written + rows
        if taken < limit:
            return events, written

