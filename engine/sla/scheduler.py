"""The SLA scheduler: turns due warnings, breaches and repeats into SLA events, set-based.

One pass per flow is one transaction of three steps — breach, repeat, warn —
and each step is a handful of SQL statements whatever the number of records:

* find the due rows with an indexed range: warnings on ``ix_<flow>_sla_warn_at``
  and breaches on ``ix_<flow>_sla_due_at`` from the flow's scan mark
  (``sla_scans``: up to where the last pass looked — on PostgreSQL never past
  the database's clock — less a margin for late commits) to now, the status
  checked on the row; repeats through
  ``sla_repeats`` (breached records by next reminder instant);
* ``UPDATE`` the records' ``sla_status`` (on_track → warning → breached),
  ``sla_escalated`` and ``sla_next_remind_at`` — no index holds these columns,
  so on PostgreSQL (with the flow table's fillfactor) the update is HOT;
* ``INSERT INTO sla_events ... SELECT`` one row per event. The worker fans
  each event out into outbox rows, one per recipient and channel
  (engine/delivery/fanout.py; ``run_pass`` does it right after the pass).

PostgreSQL runs a step as one statement (``WITH upd AS (UPDATE ... WHERE ...
RETURNING), ins AS (INSERT ... SELECT FROM upd)``, plus the ``sla_repeats``
upsert); SQLite runs the ``INSERT ... SELECT`` of the events, then the
``UPDATE`` of their records inside its single write lock. Several
schedulers may run at once: on PostgreSQL each flow's pass holds a
transaction-level advisory lock (a busy flow is skipped, not waited for);
the outbox's unique dedupe key is the last guard.

The first pass of a flow revision (a fresh database, an upgrade, a reload
that may have moved due instants) has no scan mark: it looks at every record
whose instants have passed, and files every breached record that repeats in
``sla_repeats``. Due rows in the past are found like any other, so a pass
after a downtime catches up: one reminder per missed event (a breach
supersedes a warning that was never sent; missed repeats collapse into one).

Repeats: ``repeat: 4h`` schedules the next reminder that much working time
(by the stage's clock) after the reminder just sent, so the next instant is
one constant per state and pass; the repeat's dedupe key carries the instant
it was scheduled for. A breached stage that comes back from a pause is
reminded at the next pass (the transition files it in ``sla_repeats``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Unpack

from sqlalchemy import Engine, and_, case, delete, func, literal, null, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from engine import observers
from engine.delivery.channels import BROADCAST_CHANNELS
from engine.storage.db import UtcDateTime
from engine.delivery.fanout import fan_out
from engine.language.flow import CompiledFlow
from engine.delivery.outbox import add_rows, dedupe_key, epoch
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.sla.reminder_plan import SUPERSEDED_EVENT, ReminderPlan, Rule, reminder_plan, try_flow_lock
from engine.storage.schema import sla_events, sla_repeats, sla_scans, users
from engine.sla.pauses import record_pause_change
from engine.language.spec import ReminderSpec
from engine.people.users import role_members

__all__ = ["PassResult", "ReminderPlan", "Rule", "flow_pass_in", "on_state_entry", "reminder_plan",
           "resolve_recipients", "run_flow_pass", "run_pass"]

# How far before the last scan mark a pass looks again: a transition that committed just after a pass
# (or ran on a server whose clock is a little behind) may have set instants the pass could not see.
LATE_COMMIT_MARGIN = timedelta(minutes=10)

log = logging.getLogger("relayflow.scheduler")


@dataclass(frozen=True)
class PassResult:
    flow: str
    warned: int = 0
    breached: int = 0
    repeated: int = 0
    enqueued: int = 0  # outbox rows (after the fan-out)
    skipped: bool = False  # another scheduler was working on this flow
    failed: str | None = None  # the error that stopped this flow's pass (the other flows still ran)

    @property
    def events(self) -> int:
        return self.warned + self.breached + self.repeated


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


def enqueue_enter(conn: Connection, flow: CompiledFlow, record_id: int, row: Mapping[str, Any], now: datetime) -> int:
    """Outbox rows for the `enter` reminders of the state the record just entered (same transaction)."""
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


def on_state_entry(conn: Connection, flow: CompiledFlow, record_id: int, before: Mapping[str, Any],
                   after: Mapping[str, Any], now: datetime, *, transition: str | None,
                   actor_id: int | None) -> None:
    """The work of entering a state once the record row is written (engine/records/state_entry.py calls it, in
    the same transaction): the met/missed result of a stage that ended, the `enter` reminders, the
    pause bookkeeping."""
    from engine.sla.report import record_stage_result

    record_stage_result(conn, flow, record_id, before, after, now, transition=transition, actor_id=actor_id)
    enqueue_enter(conn, flow, record_id, after, now)
    record_pause_change(conn, flow.name, record_id, before, after, now)
    _file_missed_on_pause(conn, flow, record_id, before, after, now)
    _file_resumed_breach(conn, flow, record_id, before, after, now)


def _file_missed_on_pause(conn: Connection, flow: CompiledFlow, record_id: int, before: Mapping[str, Any],
                          after: Mapping[str, Any], now: datetime) -> None:
    """A stage paused after its breach (or warning) fell due but before a pass saw it: file that event
    now, as the pass would have. Otherwise the pause hides it, and the resume marks the stage breached
    without anyone having been told."""
    if after.get("sla_status") != "paused" or before.get("sla_status") not in ("on_track", "warning"):
        return
    due, warn = before.get("sla_due_at"), before.get("sla_warn_at")
    if due is not None and due <= now:
        event, at = "breach", due
    elif before.get("sla_status") == "on_track" and warn is not None and warn <= now:
        event, at = "warn", warn
    else:
        return
    conn.execute(sla_events.insert().values(
        flow=flow.name, record_id=record_id, state=before.get("sla_state"), event=event,
        stage_start=before.get("sla_started_at"), due_at=due, event_at=at,
        assignee_id=before.get("assignee_id"), created_by=before.get("created_by")))


def _file_resumed_breach(conn: Connection, flow: CompiledFlow, record_id: int, before: Mapping[str, Any],
                         after: Mapping[str, Any], now: datetime) -> None:
    """A breached stage back from a pause is reminded at the next pass: file it in sla_repeats."""
    if after.get("sla_status") != "breached" or before.get("sla_status") == "breached":
        return
    state = after.get("sla_state")
    if state is None or reminder_plan(flow).repeat_interval(state) is None:
        return
    _upsert_repeats(conn, select(literal(flow.name).label("flow"), literal(record_id).label("record_id"),
                                 literal(now, UtcDateTime).label("remind_at")))


def _upsert_repeats(conn: Connection, rows: Select[Unpack[tuple[Any, ...]]]) -> None:
    """INSERT (flow, record_id, remind_at) rows into sla_repeats; an existing one takes the new instant."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    ins = dialect.insert(sla_repeats).from_select(["flow", "record_id", "remind_at"], rows)
    conn.execute(ins.on_conflict_do_update(index_elements=["flow", "record_id"],
                                           set_={"remind_at": ins.excluded.remind_at}))


# --- the set-based pass ----------------------------------------------------------------------------

EVENT_COLUMNS = ("flow", "record_id", "state", "event", "stage_start", "due_at", "event_at", "assignee_id",
                 "created_by")


class _FlowPass:
    """Builds the statements of one flow's pass at one instant."""

    def __init__(self, live: LiveFlow, now: datetime, since: datetime | None) -> None:
        self.live = live
        self.t = live.table
        self.flow = live.flow
        self.plan = reminder_plan(live.flow)
        self.now = now
        self.since = since  # None: look at every record whose instants have passed
        self._next: dict[str, datetime] = {}
        for state in self.plan.states_with("breach", repeat=True):
            interval = self.plan.repeat_interval(state)
            if interval is not None:
                self._next[state] = self.flow.clocks[state].clock.add(now, interval)

    # which rows
    def condition(self, event: str) -> ColumnElement[bool] | None:
        t, now = self.t, self.now
        if event == "breach":  # a range over ix_<flow>_sla_due_at
            cond = and_(t.c.sla_due_at <= now, t.c.sla_status.in_(("on_track", "warning")))
            return cond if self.since is None else and_(t.c.sla_due_at > self.since, cond)
        if event == "repeat":  # the records filed in sla_repeats whose reminder may be due
            if not self._next:
                return None
            r = sla_repeats
            filed = select(r.c.record_id).where(r.c.flow == self.flow.name, r.c.remind_at <= now)
            return and_(t.c.id.in_(filed), self._repeat_due())
        # a range over ix_<flow>_sla_warn_at: on-track clocks whose warning is due
        cond = and_(t.c.sla_warn_at <= now, t.c.sla_status == "on_track", t.c.sla_due_at > now)
        return cond if self.since is None else and_(t.c.sla_warn_at > self.since, cond)

    def _repeat_due(self) -> ColumnElement[bool]:
        t = self.t
        return and_(t.c.sla_status == "breached", t.c.sla_state.in_(tuple(self._next)),
                    or_(t.c.sla_next_remind_at <= self.now, t.c.sla_next_remind_at.is_(None)))

    # what changes on the record
    def _next_remind(self, state: ColumnElement[Any]) -> ColumnElement[Any]:
        if not self._next:
            return null()
        return case(*[(state == s, literal(at, UtcDateTime)) for s, at in self._next.items()], else_=null())

    def new_values(self, event: str) -> dict[str, Any]:
        t = self.t
        if event == "warn":
            return {"sla_status": "warning"}
        values: dict[str, Any] = {"sla_next_remind_at": self._next_remind(t.c.sla_state)}
        if event == "breach":
            values["sla_status"] = "breached"
            escalate = self.plan.states_with("breach", escalate=True)
            if escalate:
                values["sla_escalated"] = case((t.c.sla_state.in_(escalate), True), else_=t.c.sla_escalated)
        return values

    def due_columns(self, event: str) -> list[Any]:
        t = self.t
        if event == "repeat":
            event_at: ColumnElement[Any] = func.coalesce(t.c.sla_next_remind_at, literal(self.now, UtcDateTime))
        else:
            event_at = t.c.sla_warn_at if event == "warn" else t.c.sla_due_at
        return [t.c.id, t.c.sla_state, t.c.sla_started_at, t.c.sla_due_at, event_at.label("event_at"),
                t.c.assignee_id, t.c.created_by]

    def event_rows(self, event: str, due: Any) -> Select[Any]:
        return select(literal(self.flow.name).label("flow"), due.c.id, due.c.sla_state, literal(event).label("event"),
                      due.c.sla_started_at, due.c.sla_due_at, due.c.event_at, due.c.assignee_id, due.c.created_by)

    def repeat_files(self, due: Any) -> Select[Any] | None:
        """(flow, record_id, next reminder) of the records just breached or reminded whose stage repeats."""
        if not self._next:
            return None
        return (select(literal(self.flow.name).label("flow"), due.c.id, self._next_remind(due.c.sla_state))
                .where(due.c.sla_state.in_(tuple(self._next))))

    # warnings a breach overtook
    def file_superseded(self, conn: Connection) -> int:
        """Warnings that were due but never sent, of the records this pass breaches (a downtime, or a
        warning due between two passes): filed as `warn_superseded` events, which the fan-out writes as
        outbox rows that are never sent (status `superseded`), so the delivery log shows each one and why.
        A warning is not delivered late: once the deadline has passed, "due soon" is wrong, and the
        breach reminder that goes out says more."""
        states = self.plan.states_with("warn")
        breach = self.condition("breach")
        if not states or breach is None:
            return 0
        t = self.t
        cond = and_(breach, t.c.sla_status == "on_track", t.c.sla_warn_at.is_not(None),
                    t.c.sla_warn_at <= t.c.sla_due_at, t.c.sla_state.in_(states))
        due = select(t.c.id, t.c.sla_state, t.c.sla_started_at, t.c.sla_due_at, t.c.sla_warn_at.label("event_at"),
                     t.c.assignee_id, t.c.created_by).where(cond).subquery()
        res = conn.execute(sla_events.insert().from_select(list(EVENT_COLUMNS), self.event_rows(SUPERSEDED_EVENT, due)))
        return int(res.rowcount or 0)

    # running it
    def run_step(self, conn: Connection, event: str) -> int:
        cond = self.condition(event)
        if cond is None:
            return 0
        if conn.dialect.name == "postgresql":
            count = self._run_postgres(conn, event, cond)
        else:
            count = self._run_sqlite(conn, event, cond)
        if event == "repeat":
            self._settle_repeats(conn)
        return count

    def _run_sqlite(self, conn: Connection, event: str, cond: ColumnElement[bool]) -> int:
        # One writer at a time: the events written now are exactly the records to update and file.
        e = sla_events
        last = conn.execute(select(func.coalesce(func.max(e.c.id), 0))).scalar_one()
        due = select(*self.due_columns(event)).where(cond).cte("due").prefix_with("MATERIALIZED")
        conn.execute(e.insert().from_select(list(EVENT_COLUMNS), self.event_rows(event, due)))
        new = and_(e.c.flow == self.flow.name, e.c.id > last)
        updated = conn.execute(update(self.t).where(self.t.c.id.in_(select(e.c.record_id).where(new)))
                               .values(**self.new_values(event))).rowcount
        if event != "warn" and self._next:
            _upsert_repeats(conn, select(e.c.flow, e.c.record_id, self._next_remind(e.c.state))
                            .where(new, e.c.state.in_(tuple(self._next))))
        return int(updated)

    def _run_postgres(self, conn: Connection, event: str, cond: ColumnElement[bool]) -> int:
        # The UPDATE re-checks `cond` on rows a concurrent transition changed meanwhile (READ COMMITTED),
        # and only the rows it really updated become events: the events and the status never disagree.
        t = self.t
        values = self.new_values(event)
        if event == "repeat":  # the filed records, each read by its primary key; the event keeps the old instant
            row = self._filed_rows(*self.due_columns(event), where=self._repeat_due())
            due = select(*[c for c in row.c if c.name != "filed_id"]).cte("due")
            upd = (update(t).where(t.c.id == due.c.id, self._repeat_due()).values(**values)
                   .returning(*due.c).cte("upd"))
        else:  # warnings and breaches leave the columns of the event as they were: one UPDATE ... RETURNING
            upd = update(t).where(cond).values(**values).returning(*self.due_columns(event)).cte("upd")
        ins = (sla_events.insert().from_select(list(EVENT_COLUMNS), self.event_rows(event, upd))
               .returning(sla_events.c.id).cte("ins"))
        counts = [select(func.count()).select_from(upd).scalar_subquery(),
                  select(func.count()).select_from(ins).scalar_subquery()]
        files = self.repeat_files(upd) if event != "warn" else None
        if files is not None:
            r = sla_repeats
            filed: Any
            if event == "repeat":  # filed already: move them to their next reminder
                filed = (update(r).where(r.c.flow == self.flow.name, r.c.record_id == upd.c.id,
                                         upd.c.sla_state.in_(tuple(self._next)))
                         .values(remind_at=self._next_remind(upd.c.sla_state)).returning(r.c.record_id))
            else:
                ups = postgresql.insert(r).from_select(["flow", "record_id", "remind_at"], files)
                filed = (ups.on_conflict_do_update(index_elements=["flow", "record_id"],
                                                   set_={"remind_at": ups.excluded.remind_at})
                         .returning(r.c.record_id))
            counts.append(select(func.count()).select_from(filed.cte("files")).scalar_subquery())
        return int(conn.execute(select(*counts)).one()[0])

    def _filed_rows(self, *columns: Any, where: ColumnElement[bool] | None = None, outer: bool = False) -> Any:
        """The rows of the records filed in sla_repeats whose reminder may be due (PostgreSQL).

        Each is read by its primary key (a LATERAL subquery with LIMIT 1 keeps the planner from
        trading the lookups for a scan of the whole flow table on a stale row estimate)."""
        t, r = self.t, sla_repeats
        inner = select(*columns).where(t.c.id == r.c.record_id)
        if where is not None:
            inner = inner.where(where)
        rec = inner.limit(1).lateral("rec")
        return (select(r.c.record_id.label("filed_id"), *rec.c)
                .select_from(r.join(rec, literal(True), isouter=outer))
                .where(r.c.flow == self.flow.name, r.c.remind_at <= self.now).subquery("filed"))

    def _settle_repeats(self, conn: Connection) -> None:
        """Filed records still due after the repeat step (the reminded ones were moved to their next
        instant with it): moved to the record's own next instant, or dropped when the record no longer
        repeats (acted upon, moved on, gone). A paused stage's row is left alone: the transition that
        resumes it files it again (_file_resumed_breach) and may commit between this read and the
        delete on PostgreSQL, which would then drop the row it just filed."""
        t, r, now = self.t, sla_repeats, self.now
        cols = (r.c.record_id.label("record_id"), t.c.sla_status, t.c.sla_state, t.c.sla_next_remind_at)
        if conn.dialect.name == "postgresql":
            facts = self._filed_rows(*cols[1:], outer=True)
            rows = conn.execute(select(facts.c.filed_id.label("record_id"), *list(facts.c)[1:])).all()
        else:
            rows = conn.execute(select(*cols).select_from(r.outerjoin(t, t.c.id == r.c.record_id))
                                .where(r.c.flow == self.flow.name, r.c.remind_at <= now)).all()
        filed = {row.record_id for row in rows}
        moved: dict[datetime, list[int]] = {}
        for row in rows:
            if row.sla_state in self._next and row.sla_status in ("breached", "paused"):
                filed.discard(row.record_id)
                if row.sla_next_remind_at is not None and row.sla_next_remind_at > now:  # paused: None
                    moved.setdefault(row.sla_next_remind_at, []).append(row.record_id)
        mine = r.c.flow == self.flow.name
        for at, ids in moved.items():
            conn.execute(update(r).where(mine, r.c.record_id.in_(ids)).values(remind_at=at))
        if filed:
            conn.execute(delete(r).where(mine, r.c.record_id.in_(sorted(filed))))

    def file_breached(self, conn: Connection) -> None:
        """First pass of a revision: file every breached record of a repeating stage in sla_repeats (the
        flow's rows go when the revision repeats nothing: no repeat step would settle them)."""
        if not self._next:
            conn.execute(delete(sla_repeats).where(sla_repeats.c.flow == self.flow.name))
            return
        t = self.t
        _upsert_repeats(conn, select(literal(self.flow.name).label("flow"), t.c.id,
                                     func.coalesce(t.c.sla_next_remind_at, literal(self.now, UtcDateTime)))
                        .where(t.c.sla_due_at <= self.now, t.c.sla_status == "breached",
                               t.c.sla_state.in_(tuple(self._next))))


def _scan_mark(conn: Connection, live: LiveFlow, now: datetime) -> datetime | None:
    """Where this pass starts looking (None: everywhere), and the new mark written for the next pass."""
    s = sla_scans
    mine = s.c.flow == live.flow.name
    cols: list[Any] = [select(s.c.revision).where(mine).scalar_subquery(),
                       select(s.c.scanned_until).where(mine).scalar_subquery()]
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        cols.append(func.now())
    row = conn.execute(select(*cols)).one()
    revision, scanned_until = row[0], row[1]
    since = scanned_until - LATE_COMMIT_MARGIN if revision == live.revision and scanned_until is not None else None
    # The mark is where this pass looked, never further: a worker whose clock runs ahead must not push it
    # past instants that writers with a right clock have yet to write (PostgreSQL: nor past the database's
    # clock; SQLite's writers share this machine's clock). A mark going back only widens the next range.
    until = min(now, row[2]) if postgres else now
    values = {"revision": live.revision, "scanned_until": until}
    if revision is None:
        conn.execute(sla_scans.insert().values(flow=live.flow.name, **values))
    else:
        conn.execute(update(sla_scans).where(sla_scans.c.flow == live.flow.name).values(**values))
    return since


def flow_pass_in(conn: Connection, live: LiveFlow, now: datetime) -> PassResult:
    """One flow's pass inside the caller's transaction: breaches, then repeats, then warnings, as SLA events
    (``enqueued`` stays 0: the events become outbox rows in the fan-out, engine/delivery/fanout.py)."""
    if not live.flow.clocks:
        return PassResult(live.flow.name)
    if not try_flow_lock(conn, live.flow.name):
        return PassResult(live.flow.name, skipped=True)
    if conn.dialect.name == "postgresql":
        # A pass is a few short statements: compiling them (JIT, on a large row estimate) costs more than it saves.
        conn.execute(text("SET LOCAL jit = off"))
    since = _scan_mark(conn, live, now)
    work = _FlowPass(live, now, since)
    work.file_superseded(conn)  # before the breach changes the status it reads
    breached = work.run_step(conn, "breach")
    if since is None:
        work.file_breached(conn)
    repeated = work.run_step(conn, "repeat")
    warned = work.run_step(conn, "warn")
    if live.flow.has_approvals:  # each approver's own clock (engine/sla/approver_reminders.py)
        from engine.sla.approver_reminders import approver_reminders_in

        approver_reminders_in(conn, live.flow, now, since)
    return PassResult(live.flow.name, warned=warned, breached=breached, repeated=repeated)


def run_flow_pass(db: Engine, live: LiveFlow, *, now: datetime | None = None) -> PassResult:
    """One flow's pass in its own transaction, then the fan-out of its events into the outbox."""
    now = now or datetime.now(timezone.utc)
    with db.begin() as conn:
        result = flow_pass_in(conn, live, now)
    _, written = fan_out(db, live, now)
    return PassResult(result.flow, result.warned, result.breached, result.repeated, written, result.skipped)


def run_pass(db: Engine, registry: FlowRegistry, *, now: datetime | None = None) -> list[PassResult]:
    """A scheduler pass over every live flow; one flow that fails does not stop the others (it is
    logged, and its clocks are looked at again next cycle)."""
    now = now or datetime.now(timezone.utc)
    started = time.perf_counter()
    results = []
    for live in registry.all():
        try:
            results.append(run_flow_pass(db, live, now=now))
        except Exception as exc:  # noqa: BLE001 - one broken flow must not silence every other flow
            log.exception("SLA pass of flow %s failed", live.flow.name)
            results.append(PassResult(live.flow.name, failed=f"{type(exc).__name__}: {exc}"[:500]))
    observers.report("sla_pass_seconds", time.perf_counter() - started)
    return results
