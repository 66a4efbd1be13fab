"""The actions around a task: hand over (转交), add an approver (加签), return (回退) and urge (催办).

Each is allowed only where the state's `allow:` lists it, needs a reason, and is one transaction with the
record's row locked (engine/records/approvals.py `lock_record`) and a history row. The person originally
responsible is kept on every step: an approval task keeps `responsible_id` whatever hands it passes
through, and a hand-over's history row names the person who was responsible at the stage's start
(`changes.responsible`), so "who was responsible, who acted" is answered by `responsibility`.

* hand_over: the assignee (or their delegate, or an administrator) gives the task to another active member
  of the state's owner role; in an approval stage, an approver gives their own pending task to another
  active user (not one kept out by `distinct_from`, not someone already deciding in this round).
* add_approver: in an approval stage, an approver with a pending task adds one more person, who decides
  `before` them (their own task waits) or `after` them (the new task waits for theirs). The rule counts
  the added person like the others.
* return: back to a state the record has passed through (`return_to: any_previous`, or one of a list);
  the field values stay as they are. The state's responsible person (assignee, or an approver with a task)
  or an administrator may return.
* urge: the people of `urge.by` (creator, role:x) remind the responsible people now, through their
  channels (the outbox), at most once per `every` for a record in a stage; every urge is counted
  (`urges`), and the SLA report shows the counts.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from forms.messages import Message
from engine.language.durations import parse_duration
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.approval_rounds import PENDING, WAITING, excluded_people
from engine.records.approvals import _task_for, lock_record, round_tasks
from engine.records.errors import Forbidden, TransitionNotAllowed, ValidationFailed
from engine.records.ownership import acts_freely
from engine.records.transitions import comment_refusal
from engine.people.delegation import delegators
from engine.sla.clock import clock_on_entry
from engine.people.users import assignable_problem, role_members
from engine.storage.schema import approval_tasks, history, urges, users

if TYPE_CHECKING:
    from engine.records.records import Records
    from engine.storage.registry import LiveFlow

ENTRY_ACTIONS = ("create", "transition", "sent_back", "return")


class NotAllowedHere(Forbidden):
    code = "action_not_allowed"


class UrgeTooSoon(TransitionNotAllowed):
    code = "urge_too_soon"


@dataclass(frozen=True)
class Done:
    record_id: int
    action: str
    version: int
    state: str
    detail: dict[str, Any]


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    refused = comment_refusal(text or None)
    if refused is not None:
        raise refused.error
    if not text:
        raise ValidationFailed({"reason": Message("reason_required", "give a reason")})
    return text


def _allowed(flow: CompiledFlow, state: str, action: str) -> None:
    if state in flow.final_states or action not in flow.state(state).allow:
        title = flow.state(state).title or state
        raise NotAllowedHere(Message("action_not_allowed", "This cannot be done to a record in {state}",
                                     state=str(title if isinstance(title, str) else state)))


@contextmanager
def _acting_on(records: Records, flow_name: str, record_id: int, action: str) -> Iterator[tuple[Any, LiveFlow, Mapping[str, Any]]]:
    """The record locked for `action` in one write transaction; refused where its state's `allow:` lacks the action."""
    live = records.registry.get(flow_name)
    with records.executor.transaction() as tx:
        row = lock_record(tx, live, record_id)
        _allowed(live.flow, row["state"], action)
        yield tx, live, row


def _user_id(conn: Connection, username: str) -> tuple[int, str]:
    row = conn.execute(select(users.c.id, users.c.display_name, users.c.active).where(users.c.username == username)).first()
    if row is None or not row.active:
        raise ValidationFailed({"to": Message("unknown_user", "no active user '{name}'", name=username)})
    return int(row.id), str(row.display_name)


def stage_entered_at(conn: Connection, flow_name: str, record_id: int, state: str) -> datetime | None:
    h = history
    return conn.execute(select(func.max(h.c.at)).where(h.c.flow == flow_name, h.c.record_id == record_id,
                                                       h.c.to_state == state, h.c.action.in_(ENTRY_ACTIONS))).scalar()


def _original(conn: Connection, flow_name: str, record_id: int, state: str, current: int | None) -> int | None:
    """Who was responsible for the task at the stage's start: the first hand-over since then says so."""
    since = stage_entered_at(conn, flow_name, record_id, state)
    h = history
    q = select(h.c.changes).where(h.c.flow == flow_name, h.c.record_id == record_id, h.c.action == "hand_over")
    if since is not None:
        q = q.where(h.c.at >= since)
    first = conn.execute(q.order_by(h.c.id).limit(1)).scalar()
    if isinstance(first, dict) and first.get("responsible") is not None:
        return int(first["responsible"])
    return current


def _bump(tx: Any, live: LiveFlow, row: Mapping[str, Any], actor: Actor, now: datetime, **values: Any) -> int:
    version = int(row["version"]) + 1
    tx.guarded_update(live.fast, row["id"], row["version"], {"version": version, "updated_by": actor.id,
                                                              "updated_at": now, **values})
    return version


def _history(tx: Any, live: LiveFlow, row: Mapping[str, Any], actor: Actor, now: datetime, action: str, *,
             reason: str | None, changes: dict[str, Any], on_behalf_of: int | None = None, to_state: str | None = None) -> None:
    tx.execute(insert(history).values(
        flow=live.flow.name, record_id=row["id"], at=now, actor_id=actor.id, action=action, from_state=row["state"],
        to_state=to_state or row["state"], changes=changes, comment=reason, revision=live.revision,
        on_behalf_of=on_behalf_of))


# --- hand over ---------------------------------------------------------------------------------------

def hand_over(records: Records, flow_name: str, record_id: int, actor: Actor, to_username: str, reason: str | None, *,
              now: datetime | None = None) -> Done:
    text = _reason(reason)
    now = now or datetime.now(timezone.utc)
    with _acting_on(records, flow_name, record_id, "hand_over") as (tx, live, row):
        flow, conn, state = live.flow, tx.conn, row["state"]
        to_id, _ = _user_id(conn, to_username)
        ap = flow.state(state).approval
        if ap is not None:
            tasks = round_tasks(conn, flow.name, record_id, state)
            task = _task_for(tasks, actor, delegators(conn, actor.id, now))
            if task is None:
                raise Forbidden(Message("no_task_to_hand_over", "You have no task on this record to hand over"))
            if to_id in excluded_people(flow, ap, row) or any(t["approver_id"] == to_id and t["status"] in (PENDING, WAITING)
                                                               for t in tasks) or to_id == task["approver_id"]:
                raise ValidationFailed({"to": Message("cannot_take_task", "this person cannot take this task")})
            conn.execute(update(approval_tasks).where(approval_tasks.c.id == task["id"]).values(approver_id=to_id))
            behalf = task["approver_id"] if task["approver_id"] != actor.id else None
            changes = {"approval": {"task": task["id"], "from": task["approver_id"], "to": to_id},
                       "responsible": task["responsible_id"]}
            version = _bump(tx, live, row, actor, now)
        else:
            assignee = row["assignee_id"]
            lent = delegators(conn, actor.id, now)
            owner = flow.state(state).owner
            if assignee is None or not (acts_freely(flow, state, assignee, actor, frozenset({owner} if owner else ()))
                                        or assignee in lent):
                raise Forbidden(Message("no_task_to_hand_over", "You have no task on this record to hand over"))
            problem = assignable_problem(conn, to_id, owner)
            if problem or to_id == assignee:
                raise ValidationFailed({"to": problem or Message("cannot_take_task", "this person cannot take this task")})
            behalf = assignee if assignee != actor.id and assignee in lent else None
            changes = {"assignee_id": [assignee, to_id],
                       "responsible": _original(conn, flow.name, record_id, state, assignee)}
            version = _bump(tx, live, row, actor, now, assignee_id=to_id)
        _history(tx, live, row, actor, now, "hand_over", reason=text, changes=changes, on_behalf_of=behalf)
    return Done(record_id, "hand_over", version, state, changes)


# --- add an approver ---------------------------------------------------------------------------------

def add_approver(records: Records, flow_name: str, record_id: int, actor: Actor, username: str, position: str,
                 reason: str | None, *, now: datetime | None = None) -> Done:
    if position not in ("before", "after"):
        raise ValidationFailed({"position": Message("before_or_after", "before or after")})
    text = _reason(reason)
    now = now or datetime.now(timezone.utc)
    with _acting_on(records, flow_name, record_id, "add_approver") as (tx, live, row):
        flow, conn, state = live.flow, tx.conn, row["state"]
        ap = flow.state(state).approval
        if ap is None:
            raise NotAllowedHere(Message("add_approver_needs_approval", "Approvers can only be added in an approval stage"))
        tasks = round_tasks(conn, flow.name, record_id, state)
        mine = _task_for(tasks, actor, delegators(conn, actor.id, now))
        if mine is None:
            raise Forbidden(Message("no_task_to_add_to", "Only an approver with an undecided task may add an approver"))
        to_id, _ = _user_id(conn, username)
        if to_id in excluded_people(flow, ap, row) or any(t["approver_id"] == to_id and t["status"] != "cancelled"
                                                           for t in tasks):
            raise ValidationFailed({"to": Message("cannot_take_task", "this person cannot take this task")})
        new = {"flow": flow.name, "record_id": record_id, "state": state, "stage_start": mine["stage_start"],
               "approver_id": to_id, "responsible_id": to_id, "source": f"added_{position}", "added_by": actor.id,
               "created_at": now, "due_at": None, "warn_at": None}
        if state in flow.clocks:  # the added approver's own clock: the state's sla from now
            clock = clock_on_entry(flow, state, {}, now, values=row)
            new["due_at"], new["warn_at"] = clock.get("sla_due_at"), clock.get("sla_warn_at")
        if position == "before":
            key = conn.execute(insert(approval_tasks).values(**new, seq=mine["seq"] - 1, status=PENDING)).inserted_primary_key
            assert key is not None
            new_id = key[0]
            conn.execute(update(approval_tasks).where(approval_tasks.c.id == mine["id"])
                         .values(status=WAITING, waits_for=new_id))
        else:
            key = conn.execute(insert(approval_tasks).values(**new, seq=mine["seq"] + 1, status=WAITING,
                                                             waits_for=mine["id"])).inserted_primary_key
            assert key is not None
            new_id = key[0]
        behalf = mine["approver_id"] if mine["approver_id"] != actor.id else None
        changes = {"approval": {"task": int(new_id), "added": to_id, "position": position}, "responsible": mine["responsible_id"]}
        version = _bump(tx, live, row, actor, now)
        _history(tx, live, row, actor, now, "add_approver", reason=text, changes=changes, on_behalf_of=behalf)
    return Done(record_id, "add_approver", version, state, changes)


# --- return ------------------------------------------------------------------------------------------

def passed_states(conn: Connection, flow: CompiledFlow, record_id: int, current: str) -> list[str]:
    """States the record has been in before (oldest first), that still exist and are open, the current one left out."""
    h = history
    q = (select(h.c.to_state, func.min(h.c.id).label("first")).where(h.c.flow == flow.name, h.c.record_id == record_id,
                                                                     h.c.action.in_(ENTRY_ACTIONS))
         .group_by(h.c.to_state).order_by("first"))
    return [s for s, _ in conn.execute(q) if s in flow.spec.states and s not in flow.final_states and s != current]


def return_targets(conn: Connection, flow: CompiledFlow, record_id: int, state: str) -> list[str]:
    st = flow.state(state)
    if "return" not in st.allow:
        return []
    passed = passed_states(conn, flow, record_id, state)
    if isinstance(st.return_to, list):
        return [s for s in passed if s in st.return_to]
    return passed


def return_record(records: Records, flow_name: str, record_id: int, actor: Actor, to_state: str, reason: str | None, *,
                  now: datetime | None = None) -> Done:
    from engine.records.system_moves import move

    text = _reason(reason)
    now = now or datetime.now(timezone.utc)
    with _acting_on(records, flow_name, record_id, "return") as (tx, live, row):
        flow, conn, state = live.flow, tx.conn, row["state"]
        if not _responsible_here(conn, flow, row, actor, now):
            raise Forbidden(Message("not_responsible", "Only the person responsible for this step may do this"))
        targets = return_targets(conn, flow, record_id, state)
        if to_state not in targets:
            raise ValidationFailed({"to": Message("cannot_return_there", "the record cannot be returned there")})
        written = move(records, tx, live, row, actor, now, to=to_state, action="return", comment=text)
    return Done(record_id, "return", int(written["version"]), to_state, {"from": state, "to": to_state})


def _responsible_here(conn: Connection, flow: CompiledFlow, row: Mapping[str, Any], actor: Actor, now: datetime) -> bool:
    if actor.is_admin:
        return True
    state = row["state"]
    standing_in = delegators(conn, actor.id, now)
    if flow.state(state).approval is not None:
        return _task_for(round_tasks(conn, flow.name, int(row["id"]), state), actor, standing_in) is not None
    assignee = row["assignee_id"]
    if assignee is not None:
        return bool(assignee == actor.id or assignee in standing_in)
    owner = flow.state(state).owner
    return owner is not None and owner in actor.roles


# --- urge ----------------------------------------------------------------------------------------------

def responsible_people(conn: Connection, flow: CompiledFlow, row: Mapping[str, Any]) -> list[int]:
    """Who an urge reaches: the approvers with an undecided task, else the assignee, else the owner role's members."""
    state = row["state"]
    if flow.state(state).approval is not None:
        return sorted({int(t["approver_id"]) for t in round_tasks(conn, flow.name, int(row["id"]), state)
                       if t["status"] == PENDING})
    if row["assignee_id"] is not None:
        return [int(row["assignee_id"])]
    owner = flow.state(state).owner
    return role_members(conn, owner) if owner else []


def may_urge(flow: CompiledFlow, row: Mapping[str, Any], actor: Actor) -> bool:
    st = flow.state(row["state"])
    if st.urge is None or "urge" not in st.allow or row["state"] in flow.final_states:
        return False
    if actor.is_admin:
        return True
    for who in st.urge.by:
        if who == "creator" and row["created_by"] == actor.id:
            return True
        if who.startswith("role:") and who[5:] in actor.roles:
            return True
    return False


def urge(records: Records, flow_name: str, record_id: int, actor: Actor, reason: str | None = None, *,
         now: datetime | None = None) -> Done:
    """Remind the responsible people now; refused within `every` of the last urge of this record in this stage."""
    text = (reason or "").strip() or None
    refused = comment_refusal(text)
    if refused is not None:
        raise refused.error
    now = now or datetime.now(timezone.utc)
    with _acting_on(records, flow_name, record_id, "urge") as (tx, live, row):
        flow, conn, state = live.flow, tx.conn, row["state"]
        if not may_urge(flow, row, actor):
            raise Forbidden(Message("may_not_urge", "You may not urge this record"))
        spec = flow.state(state).urge
        assert spec is not None
        span = parse_duration(spec.every)
        window = timedelta(days=span.days, seconds=span.seconds)  # wall time: an urge is about people's patience
        entered = stage_entered_at(conn, flow.name, record_id, state) or row["updated_at"]
        last = conn.execute(select(func.max(urges.c.at)).where(urges.c.flow == flow.name, urges.c.record_id == record_id,
                                                                urges.c.state == state, urges.c.at >= entered)).scalar()
        if last is not None and now < last + window:
            wait = last + window - now
            minutes = max(1, int(wait.total_seconds() // 60))
            raise UrgeTooSoon(Message("urge_too_soon", "This record was urged a short while ago; try again in {minutes} min",
                                      minutes=minutes))
        people = responsible_people(conn, flow, row)
        tx.execute(insert(urges).values(flow=flow.name, record_id=record_id, state=state, stage_start=entered, at=now,
                                        urged_by=actor.id, recipients=people, reason=text))
        _urge_messages(conn, flow, row, people, now)
        _history(tx, live, row, actor, now, "urge", reason=text, changes={"urged": people})
    return Done(record_id, "urge", int(row["version"]), state, {"urged": people})


def _urge_messages(conn: Connection, flow: CompiledFlow, row: Mapping[str, Any], people: list[int], now: datetime) -> None:
    """One outbox row per person and channel (the channels of the flow's reminders to the assignee, at least the inbox)."""
    from engine.delivery.outbox import add_rows, dedupe_key, epoch

    channels: list[str] = ["inbox"]
    for r in flow.spec.reminders:
        for c in r.via:
            if c not in channels and c != "webhook":
                channels.append(c)
    rows = []
    for uid in people:
        for channel in channels:
            rows.append({"dedupe_key": dedupe_key(flow.name, int(row["id"]), row["state"], epoch(now), "urge", f"u{uid}", channel),
                         "flow": flow.name, "record_id": row["id"], "state": row["state"], "event": "urge", "rule": -1,
                         "channel": channel, "recipient": f"u{uid}", "user_id": uid, "event_at": now, "created_at": now})
    add_rows(conn, rows)


# --- who was responsible, who acted --------------------------------------------------------------------

def responsibility(records: Records, flow_name: str, record_id: int) -> list[dict[str, Any]]:
    """Every step of the record's history with who acted and who was responsible for the task then:
    the person stood in for, the first holder of a handed-over task, the approver whose task it was."""
    out = []
    responsible_now: int | None = None
    for h in records.history(flow_name, record_id):
        ch = h.get("changes") or {}
        responsible = h.get("on_behalf_of") or h["actor_id"]
        if isinstance(ch, dict) and ch.get("responsible") is not None:
            responsible = ch["responsible"]
            if h["action"] == "hand_over" and "assignee_id" in ch:
                responsible_now = responsible_now or int(ch["responsible"])
        elif isinstance(ch, dict) and isinstance(ch.get("approval"), dict) and ch["approval"].get("responsible"):
            responsible = ch["approval"]["responsible"]
        elif responsible_now is not None and h["action"] != "urge":  # the task's steps after a hand-over
            responsible = responsible_now
        out.append({"id": h["id"], "at": h["at"], "action": h["action"], "acted": h["actor_id"],
                    "acted_name": h.get("actor_name"), "responsible": responsible, "on_behalf_of": h.get("on_behalf_of")})
        if h["action"] in ENTRY_ACTIONS:  # a new stage: its task starts with whoever it is given to
            responsible_now = None
    return out
