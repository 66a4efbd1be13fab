"""The SLA scheduler: turns due warnings, breaches and repeats into outbox rows, set-based.

One pass per flow is one transaction of three steps — breach, repeat, warn —
and each step is a handful of SQL statements whatever the number of records:

* find the due rows with an indexed query (``ix_<flow>_sla_due`` on
  ``(sla_status, sla_due_at)`` for breaches and repeats, ``ix_<flow>_sla_warn``
  for warnings);
* ``INSERT INTO outbox ... SELECT`` one row per due record × recipient ×
  channel of the flow's ``reminders:`` (recipients joined in SQL: the
  assignee, the creator, a user or e-mail field, the members of the state's
  owner role or of ``role:x``); broadcast channels (webhooks, IM robots) get
  one row per event;
* ``UPDATE`` the records' ``sla_status`` (on_track → warning → breached),
  ``sla_escalated`` and ``sla_next_remind_at``.

PostgreSQL runs the three as one statement (``WITH due AS (SELECT ...), upd
AS (UPDATE ... FROM due ... RETURNING), ins AS (INSERT ... SELECT FROM upd)``);
SQLite runs an ``INSERT ... SELECT`` then the ``UPDATE`` inside its single
write lock.
Several schedulers may run at once: on PostgreSQL each flow's pass holds a
transaction-level advisory lock (a busy flow is skipped, not waited for); the
unique dedupe key is the last guard. Due rows in the past are found like any
other, so a pass after a downtime catches up: one reminder per missed event
(a breach supersedes a warning that was never sent; missed repeats collapse
into one).

Repeats: ``repeat: 4h`` schedules the next reminder that much working time
(by the stage's clock) after the reminder just sent, so the next instant is
one constant per state and pass; the repeat's dedupe key carries the instant
it was scheduled for. A breached stage that comes back from a pause is
reminded at the next pass.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger, Engine, Integer, String, and_, case, cast, func, literal, null, or_, select, text, union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, FromClause, Select
from sqlalchemy.sql.functions import FunctionElement

from engine.channels import BROADCAST_CHANNELS
from engine.db import UtcDateTime
from engine.flow import CompiledFlow
from engine.outbox import PENDING, add_rows, dedupe_key, epoch
from engine.registry import FlowRegistry, LiveFlow
from engine.schema import outbox, role_grants, users
from engine.spec import ReminderSpec
from engine.users import role_members

INSERT_COLUMNS = ("dedupe_key", "flow", "record_id", "state", "event", "rule", "channel", "recipient", "user_id",
                  "address", "due_at", "event_at", "created_at", "status", "attempts", "next_attempt_at")


class epoch_seconds(FunctionElement[int]):
    """Unix seconds of a UTC datetime column, on SQLite and PostgreSQL."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM %s) AS BIGINT)" % compiler.process(element.clauses, **kw)


@dataclass(frozen=True)
class PassResult:
    flow: str
    warned: int = 0
    breached: int = 0
    repeated: int = 0
    enqueued: int = 0
    skipped: bool = False  # another scheduler was working on this flow


@dataclass(frozen=True)
class Rule:
    index: int
    spec: ReminderSpec
    states: tuple[str, ...]


@dataclass(frozen=True)
class ReminderPlan:
    """The flow's reminders sorted by event, with the states each one covers."""

    flow: CompiledFlow
    by_event: Mapping[str, tuple[Rule, ...]]

    def states_with(self, event: str, *, repeat: bool = False, escalate: bool = False) -> tuple[str, ...]:
        out: list[str] = []
        for rule in self.by_event.get(event, ()):
            if (repeat and rule.spec.repeat is None) or (escalate and not rule.spec.escalate):
                continue
            out.extend(s for s in rule.states if s not in out)
        return tuple(out)

    def repeat_interval(self, state: str) -> str | None:
        """The shortest `repeat` among the breach rules covering `state`."""
        from engine.durations import parse_duration

        found = [r.spec.repeat for r in self.by_event.get("breach", ()) if r.spec.repeat and state in r.states]
        if not found:
            return None
        return min(found, key=lambda d: (parse_duration(d).days, parse_duration(d).seconds))


_PLANS: dict[int, tuple[CompiledFlow, ReminderPlan]] = {}


def reminder_plan(flow: CompiledFlow) -> ReminderPlan:
    """The plan of a compiled flow (cached; a reloaded flow is a new CompiledFlow)."""
    cached = _PLANS.get(id(flow))
    if cached is not None and cached[0] is flow:
        return cached[1]
    if len(_PLANS) > 256:
        _PLANS.clear()
    plan = _build_plan(flow)
    _PLANS[id(flow)] = (flow, plan)
    return plan


def _build_plan(flow: CompiledFlow) -> ReminderPlan:
    by_event: dict[str, list[Rule]] = {}
    for i, spec in enumerate(flow.spec.reminders):
        covered = spec.states if spec.states is not None else [s for s in flow.spec.states if s in flow.clocks]
        if spec.on in ("warn", "breach"):
            covered = [s for s in covered if s in flow.clocks]
        by_event.setdefault(spec.on, []).append(Rule(i, spec, tuple(covered)))
    return ReminderPlan(flow, {k: tuple(v) for k, v in by_event.items()})


# --- recipients, one record at a time (enter reminders, names in broadcast messages) -------------

@dataclass(frozen=True)
class Recipient:
    user_id: int | None = None
    address: str | None = None

    @property
    def key(self) -> str:
        return f"u{self.user_id}" if self.user_id is not None else f"a:{self.address}"


def resolve_recipients(conn: Connection, flow: CompiledFlow, spec: ReminderSpec, state: str,
                       row: Mapping[str, Any]) -> list[Recipient]:
    """Who a reminder rule reaches for one record in `state` (active users; addresses of e-mail fields)."""
    ids: list[int] = []
    addresses: list[str] = []
    for target in spec.notify:
        kind, _, name = target.partition(":")
        if target == "assignee" and row.get("assignee_id") is not None:
            ids.append(int(row["assignee_id"]))
        elif target == "creator" and row.get("created_by") is not None:
            ids.append(int(row["created_by"]))
        elif target == "owner" and flow.state(state).owner:
            ids.extend(role_members(conn, flow.state(state).owner or ""))
        elif kind == "role":
            ids.extend(role_members(conn, name))
        elif kind == "field" and row.get(name) not in (None, ""):
            if flow.fields[name].type == "email":
                addresses.append(str(row[name]))
            else:
                ids.append(int(row[name]))
    active = set(conn.execute(select(users.c.id).where(users.c.id.in_(ids), users.c.active.is_(True))).scalars()) if ids else set()
    out: list[Recipient] = []
    for uid in ids:
        if uid in active and Recipient(uid) not in out:
            out.append(Recipient(uid))
    out.extend(Recipient(address=a) for a in dict.fromkeys(addresses))
    return out


def enqueue_enter(conn: Connection, live: LiveFlow, record_id: int, row: Mapping[str, Any], now: datetime) -> int:
    """Outbox rows for the `enter` reminders of the state the record just entered (same transaction)."""
    flow = live.flow
    state = row["state"]
    rules = [r for r in reminder_plan(flow).by_event.get("enter", ()) if state in r.states]
    if not rules:
        return 0
    started = row.get("sla_started_at") if row.get("sla_state") == state else None
    stage = epoch(started or now)
    rows: list[dict[str, Any]] = []
    for rule in rules:
        people = resolve_recipients(conn, flow, rule.spec, state, row)
        for channel in rule.spec.via:
            targets = [None] if channel in BROADCAST_CHANNELS else people
            for person in targets:
                if person is not None and channel == "inbox" and person.user_id is None:
                    continue
                recipient = "all" if person is None else person.key
                rows.append({
                    "dedupe_key": dedupe_key(flow.name, record_id, state, stage, "enter", recipient, channel),
                    "flow": flow.name, "record_id": record_id, "state": state, "event": "enter", "rule": rule.index,
                    "channel": channel, "recipient": recipient,
                    "user_id": person.user_id if person else None, "address": person.address if person else None,
                    "due_at": row.get("sla_due_at") if started else None, "event_at": now, "created_at": now,
                })
    return add_rows(conn, rows)


def on_state_entry(conn: Connection, live: LiveFlow, record_id: int, before: Mapping[str, Any],
                   after: Mapping[str, Any], now: datetime, *, transition: str | None,
                   actor_id: int | None) -> None:
    """Called by records.create/transition inside their transaction, after the record row is written:
    records the met/missed result of a stage that ended and enqueues the `enter` reminders."""
    from engine.sla_report import record_stage_result

    record_stage_result(conn, live.flow, record_id, before, after, now, transition=transition, actor_id=actor_id)
    enqueue_enter(conn, live, record_id, after, now)


# --- the set-based pass ----------------------------------------------------------------------------

def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def _cat(*parts: ColumnElement[Any]) -> ColumnElement[str]:
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)  # type: ignore[assignment]
    return out


def _str(expr: ColumnElement[Any]) -> ColumnElement[str]:
    return cast(expr, String)


class _FlowPass:
    """Builds the statements of one flow's pass at one instant."""

    def __init__(self, live: LiveFlow, now: datetime) -> None:
        self.live = live
        self.t = live.table
        self.flow = live.flow
        self.plan = reminder_plan(live.flow)
        self.now = now
        self.repeat_states = tuple(s for s in self.plan.states_with("breach", repeat=True))
        self._next: dict[str, datetime] = {}
        for state in self.repeat_states:
            interval = self.plan.repeat_interval(state)
            if interval is not None:
                self._next[state] = self.flow.clocks[state].clock.add(now, interval)

    # which rows
    def condition(self, event: str) -> ColumnElement[bool] | None:
        t, now = self.t, self.now
        if event == "breach":
            return and_(t.c.sla_status.in_(("on_track", "warning")), t.c.sla_due_at <= now)
        if event == "repeat":
            if not self._next:
                return None
            return and_(t.c.sla_status == "breached", t.c.sla_state.in_(tuple(self._next)),
                        or_(t.c.sla_next_remind_at <= now, t.c.sla_next_remind_at.is_(None)))
        # A range over the (sla_status, sla_warn_at) index: only on-track clocks whose warning is due.
        return and_(t.c.sla_status == "on_track", t.c.sla_warn_at <= now, t.c.sla_due_at > now)

    # what changes on the record
    def _next_remind(self) -> ColumnElement[Any]:
        if not self._next:
            return null()
        whens = [(self.t.c.sla_state == s, literal(at, UtcDateTime)) for s, at in self._next.items()]
        return case(*whens, else_=null())

    def new_values(self, event: str) -> dict[str, Any]:
        t = self.t
        if event == "warn":
            return {"sla_status": "warning"}
        values: dict[str, Any] = {"sla_next_remind_at": self._next_remind()}
        if event == "breach":
            values["sla_status"] = "breached"
            escalate = self.plan.states_with("breach", escalate=True)
            if escalate:
                values["sla_escalated"] = case((t.c.sla_state.in_(escalate), True), else_=t.c.sla_escalated)
        return values

    # who hears about it
    def due_columns(self, event: str) -> list[Any]:
        """The due rows' columns, with the event instant and the key prefix computed once per row."""
        t = self.t
        if event == "repeat":
            event_at: ColumnElement[Any] = func.coalesce(t.c.sla_next_remind_at, literal(self.now, UtcDateTime))
            tag = _cat(_text("repeat@"), _str(epoch_seconds(event_at)))
        else:
            event_at = t.c.sla_warn_at if event == "warn" else t.c.sla_due_at
            tag = _text(event)
        prefix = _cat(_text(f"{self.flow.name}:"), _str(t.c.id), _text(":"), t.c.sla_state, _text("@"),
                      _str(epoch_seconds(t.c.sla_started_at)), _text(":"), tag, _text(":"))
        cols = [t.c.id, t.c.sla_state, t.c.sla_due_at, event_at.label("event_at"), prefix.label("key_prefix"),
                t.c.assignee_id, t.c.created_by]
        fields = {target.partition(":")[2] for rules in self.plan.by_event.values() for r in rules
                  for target in r.spec.notify if target.startswith("field:")}
        cols.extend(t.c[f] for f in sorted(fields))
        return cols

    def parts(self, event: str, due: FromClause) -> list[Select[Any]]:
        rules = self.plan.by_event.get("breach" if event == "repeat" else event, ())
        out: list[Select[Any]] = []
        for rule in rules:
            if event == "repeat" and rule.spec.repeat is None:
                continue
            states = rule.states if event != "repeat" else tuple(s for s in rule.states if s in self._next)
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
        if user_id is not None:
            recipient = _cat(_text("u"), _str(user_id))
        elif address is not None:
            recipient = _cat(_text("a:"), address)
        else:
            recipient = _text("all")
        key = _cat(due.c.key_prefix, recipient, _text(f":{channel}"))
        return select(
            key.label("dedupe_key"), _text(self.flow.name).label("flow"), due.c.id.label("record_id"),
            due.c.sla_state.label("state"), _text(event).label("event"), literal(rule.index, Integer).label("rule"),
            _text(channel).label("channel"), recipient.label("recipient"),
            (user_id if user_id is not None else cast(null(), Integer)).label("user_id"),
            (address if address is not None else cast(null(), String)).label("address"),
            due.c.sla_due_at.label("due_at"), due.c.event_at.label("event_at"), now.label("created_at"),
            _text(PENDING).label("status"), literal(0, Integer).label("attempts"), now.label("next_attempt_at"),
        ).select_from(source).where(where)

    # running it
    def run_step(self, conn: Connection, event: str) -> tuple[int, int]:
        cond = self.condition(event)
        if cond is None:
            return 0, 0
        if conn.dialect.name == "postgresql":
            return self._run_postgres(conn, event, cond)
        return self._run_sqlite(conn, event, cond)

    def _run_sqlite(self, conn: Connection, event: str, cond: ColumnElement[bool]) -> tuple[int, int]:
        enqueued = 0
        due = select(*self.due_columns(event)).where(cond).cte("due").prefix_with("MATERIALIZED")
        parts = self.parts(event, due)
        if parts:
            ins = (sqlite.insert(outbox).from_select(list(INSERT_COLUMNS), union_all(*parts))
                   .on_conflict_do_nothing(index_elements=["dedupe_key"]))
            conn.execute(ins)
            # The statement starts with WITH, so the driver reports no rowcount: ask SQLite.
            enqueued = int(conn.execute(text("SELECT changes()")).scalar_one())
        events = conn.execute(update(self.t).where(cond).values(**self.new_values(event))).rowcount
        return int(events), int(enqueued)

    def _run_postgres(self, conn: Connection, event: str, cond: ColumnElement[bool]) -> tuple[int, int]:
        # The UPDATE re-checks `cond` on rows a concurrent transition changed meanwhile (READ COMMITTED),
        # and only the rows it really updated are enqueued: the reminders and the status never disagree.
        t = self.t
        due = select(*self.due_columns(event)).where(cond).cte("due")
        upd = (update(t).where(t.c.id == due.c.id, cond).values(**self.new_values(event))
               .returning(*due.c).cte("upd"))
        counts = [select(func.count()).select_from(upd).scalar_subquery()]
        parts = self.parts(event, upd)
        if parts:
            ins = (postgresql.insert(outbox).from_select(list(INSERT_COLUMNS), union_all(*parts))
                   .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(outbox.c.id).cte("ins"))
            counts.append(select(func.count()).select_from(ins).scalar_subquery())
        row = conn.execute(select(*counts)).one()
        return int(row[0]), int(row[1]) if len(row) > 1 else 0


def _try_lock(conn: Connection, flow: str) -> bool:
    if conn.dialect.name != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already serialises writers
    key = zlib.crc32(f"relayflow-sla:{flow}".encode()) - 2**31
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


def flow_pass_in(conn: Connection, live: LiveFlow, now: datetime) -> PassResult:
    """One flow's pass inside the caller's transaction: breaches, then repeats, then warnings."""
    if not live.flow.clocks:
        return PassResult(live.flow.name)
    if not _try_lock(conn, live.flow.name):
        return PassResult(live.flow.name, skipped=True)
    work = _FlowPass(live, now)
    breached, e1 = work.run_step(conn, "breach")
    repeated, e2 = work.run_step(conn, "repeat")
    warned, e3 = work.run_step(conn, "warn")
    return PassResult(live.flow.name, warned=warned, breached=breached, repeated=repeated, enqueued=e1 + e2 + e3)


def run_flow_pass(db: Engine, live: LiveFlow, *, now: datetime | None = None) -> PassResult:
    """One flow's pass in its own transaction."""
    with db.begin() as conn:
        return flow_pass_in(conn, live, now or datetime.now(timezone.utc))


def run_pass(db: Engine, registry: FlowRegistry, *, now: datetime | None = None) -> list[PassResult]:
    """A scheduler pass over every live flow."""
    now = now or datetime.now(timezone.utc)
    return [run_flow_pass(db, live, now=now) for live in registry.all()]
