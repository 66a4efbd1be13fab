"""Several people in one stage (会签 / 或签): one task per approver, decided one by one.

A record entering a state with `approval:` opens a *round*: the approvers are resolved (role members,
the person in a user field, the creator's manager), the people of `distinct_from` left out, and each gets
a task (`approval_tasks`) with the state's SLA as its own clock. Leaving the state cancels what is left.

A decision (`decide`) is one transaction: the record's row is locked (PostgreSQL `FOR UPDATE`; SQLite's
BEGIN IMMEDIATE already serialises writers), the approver's pending task is marked, a history row is
written, and the round is counted; when the rule is met the stage moves on in the same transaction, with
the record's guarded UPDATE: `on: approval_passed` when it passes, `on_reject` when it is rejected. So two
approvers deciding at the same moment are each counted once, and the stage moves once.

The rule (`mode`), with n the approvers of the round (added ones included, cancelled ones not):

* `all` (会签): n approvals pass; one rejection rejects.
* `any` (或签): one approval passes; n rejections reject.
* `{quorum: q}` / `{quorum: p%}` (ceil(p·n/100)): q approvals pass. `reject: r` rejections reject; without
  `reject`, the stage is rejected as soon as q approvals can no longer be reached (n − q + 1 rejections).
* Every task decided and neither threshold reached (a `reject:` set high): rejected — it did not pass.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from forms.messages import Message
from engine.language.approval_spec import ApprovalSpec
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.errors import Forbidden, NotFound, TransitionNotAllowed, ValidationFailed
from engine.records.transitions import MAX_COMMENT, comment_refusal
from engine.people.delegation import delegators
from engine.records.approval_rounds import (
    APPROVED, CANCELLED, OPEN, PENDING, REJECTED, WAITING, close_round, excluded_people, open_round, resolve_approvers,
)
from engine.storage.schema import approval_tasks, history, users

if TYPE_CHECKING:
    from engine.records.records import Records
    from engine.storage.executor import WriteTransaction
    from engine.storage.registry import LiveFlow

DECISIONS = {"approve": APPROVED, "reject": REJECTED}


class NotApprover(Forbidden):
    """No task of this approval is the actor's (or of someone they stand in for)."""

    code = "not_approver"


class SelfApproval(Forbidden):
    """`distinct_from`: the actor may not decide on this record (their own order)."""

    code = "self_approval"


class AlreadyDecided(TransitionNotAllowed):
    code = "already_decided"


class NoApproval(TransitionNotAllowed):
    """The record is not in a stage with an approval (it moved on, or never was)."""

    code = "no_approval"


# --- the rule ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Rule:
    approvals: int  # approvals that pass the stage
    rejections: int  # rejections that reject it


def rule_for(ap: ApprovalSpec, n: int) -> Rule:
    """The thresholds of `ap` for a round of `n` approvers."""
    mode = ap.mode
    if mode == "all":
        return Rule(max(n, 1), 1)
    if mode == "any":
        return Rule(1, max(n, 1))
    assert not isinstance(mode, str)
    pct = mode.percent
    need = max(1, math.ceil(pct * n / 100)) if pct is not None else int(mode.quorum)
    return Rule(need, mode.reject if mode.reject is not None else max(1, n - need + 1))


@dataclass(frozen=True, slots=True)
class Tally:
    approved: int
    rejected: int
    undecided: int
    rule: Rule

    @property
    def outcome(self) -> str | None:
        """passed | rejected | None (still open)."""
        if self.approved >= self.rule.approvals:
            return "passed"
        if self.rejected >= self.rule.rejections or self.undecided == 0:
            return "rejected"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"approved": self.approved, "rejected": self.rejected, "undecided": self.undecided,
                "needs_approvals": self.rule.approvals, "rejected_at": self.rule.rejections, "outcome": self.outcome}


def tally(ap: ApprovalSpec, tasks: Sequence[Mapping[str, Any]]) -> Tally:
    live = [t for t in tasks if t["status"] != CANCELLED]
    n = len(live)
    return Tally(sum(t["status"] == APPROVED for t in live), sum(t["status"] == REJECTED for t in live),
                 sum(t["status"] in OPEN for t in live), rule_for(ap, n))


# --- reading -------------------------------------------------------------------------------------------

def round_tasks(conn: Connection, flow_name: str, record_id: int, state: str | None = None) -> list[dict[str, Any]]:
    """The tasks of the record's latest round (of `state` when given), in order, with people's names."""
    a = approval_tasks
    where = [a.c.flow == flow_name, a.c.record_id == record_id]
    if state is not None:
        where.append(a.c.state == state)
    latest = conn.execute(select(func.max(a.c.stage_start)).where(*where)).scalar()
    if latest is None:
        return []
    approver, responsible, decider = users.alias("ap"), users.alias("resp"), users.alias("dec")
    q = (select(a, approver.c.display_name.label("approver_name"), responsible.c.display_name.label("responsible_name"),
                decider.c.display_name.label("decided_by_name"))
         .outerjoin(approver, approver.c.id == a.c.approver_id)
         .outerjoin(responsible, responsible.c.id == a.c.responsible_id)
         .outerjoin(decider, decider.c.id == a.c.decided_by)
         .where(*where, a.c.stage_start == latest).order_by(a.c.seq, a.c.id))
    return [dict(r) for r in conn.execute(q).mappings()]


def approval_view(conn: Connection, flow: CompiledFlow, record: Mapping[str, Any], actor: Actor | None = None,
                  now: datetime | None = None) -> dict[str, Any] | None:
    """What the record page and the API show of the record's approval now: the tasks, the count, and
    which task (if any) `actor` may decide. None when its state has no approval."""
    state = record["state"]
    if state not in flow.spec.states:
        return None
    ap = flow.state(state).approval
    if ap is None:
        return None
    tasks = round_tasks(conn, flow.name, int(record["id"]), state)
    mine = None
    if actor is not None:
        mine = _task_for(tasks, actor, delegators(conn, actor.id, now or datetime.now(timezone.utc)))
    return {"state": state, "mode": ap.mode if isinstance(ap.mode, str) else ap.mode.model_dump(),
            "tasks": tasks, "tally": tally(ap, tasks).as_dict(), "my_task": mine}


def _task_for(tasks: list[dict[str, Any]], actor: Actor, standing_in: Mapping[int, str]) -> dict[str, Any] | None:
    """The pending task `actor` decides: their own, else one of someone they stand in for."""
    pending = [t for t in tasks if t["status"] == PENDING]
    for t in pending:
        if t["approver_id"] == actor.id:
            return t
    for t in pending:
        if t["approver_id"] in standing_in:
            return t
    return None


# --- deciding ------------------------------------------------------------------------------------------

def lock_record(tx: WriteTransaction, live: LiveFlow, record_id: int) -> dict[str, Any]:
    """The record's row for a write that counts on nobody else changing it meanwhile (PostgreSQL: a row lock
    until the transaction ends; SQLite: its writers are serialised already)."""
    conn = tx.conn
    if conn.dialect.name == "postgresql":
        t = live.table
        conn.execute(select(t.c.id).where(t.c.id == record_id).with_for_update())
    row = tx.load(live.fast, record_id)
    if row is None:
        raise NotFound(f"no {live.flow.name} record {record_id}")
    return row


def previous_state(conn: Connection, flow: CompiledFlow, record_id: int, state: str) -> str | None:
    """The state the record came from when it last entered `state` (send_back), if it still exists."""
    h = history
    q = (select(h.c.from_state).where(h.c.flow == flow.name, h.c.record_id == record_id, h.c.to_state == state,
                                      h.c.from_state.is_not(None), h.c.from_state != state)
         .order_by(h.c.id.desc()).limit(1))
    found = conn.execute(q).scalar()
    return str(found) if found and found in flow.spec.states and found not in flow.final_states else None


@dataclass(frozen=True)
class Decided:
    record_id: int
    decision: str
    tally: dict[str, Any]
    moved_to: str | None
    version: int


def decide(records: Records, flow_name: str, record_id: int, actor: Actor, decision: str, comment: str | None, *,
           now: datetime | None = None) -> Decided:
    """Approve or reject the actor's task on a record (see the module docstring)."""
    from engine.records.system_moves import move  # the engine's own transitions (no role: the rule fired them)

    if decision not in DECISIONS:
        raise ValidationFailed({"decision": "approve or reject"})
    comment = (comment or "").strip() or None
    refused = comment_refusal(comment)
    if refused is not None:
        raise refused.error
    if decision == "reject" and not comment:
        raise ValidationFailed({"comment": Message("reject_needs_comment", "say why you reject it")})
    assert comment is None or len(comment) <= MAX_COMMENT
    now = now or datetime.now(timezone.utc)
    live = records.registry.get(flow_name)
    flow = live.flow
    with records.executor.transaction() as tx:
        conn = tx.conn
        row = lock_record(tx, live, record_id)
        state = row["state"]
        ap = flow.state(state).approval if state in flow.spec.states else None
        if ap is None:
            raise NoApproval(Message("no_approval", "This record is not waiting for an approval"))
        tasks = round_tasks(conn, flow.name, record_id, state)
        standing_in = delegators(conn, actor.id, now)
        task = _task_for(tasks, actor, standing_in)
        if task is None:
            if actor.id in excluded_people(flow, ap, row):
                raise SelfApproval(Message("self_approval", "You may not decide on a record of your own"))
            if any(t["approver_id"] == actor.id and t["status"] in (APPROVED, REJECTED) for t in tasks):
                raise AlreadyDecided(Message("already_decided", "You have already decided on this record"))
            raise NotApprover(Message("not_approver", "You are not one of the approvers of this record"))
        on_behalf = task["approver_id"] if task["approver_id"] != actor.id else None
        if actor.id in excluded_people(flow, ap, row):  # a delegate who is the record's creator
            raise SelfApproval(Message("self_approval", "You may not decide on a record of your own"))
        status = DECISIONS[decision]
        done = conn.execute(update(approval_tasks).where(approval_tasks.c.id == task["id"],
                                                          approval_tasks.c.status == PENDING)
                            .values(status=status, comment=comment, decided_at=now, decided_by=actor.id,
                                    on_behalf_of=on_behalf)).rowcount
        if done != 1:  # cannot happen under the row lock; kept as the last guard
            raise AlreadyDecided(Message("already_decided", "You have already decided on this record"))
        task = {**task, "status": status}
        tasks = [task if t["id"] == task["id"] else t for t in tasks]
        _wake_waiting(conn, tasks, task)
        tasks = round_tasks(conn, flow.name, record_id, state)
        counted = tally(ap, tasks)
        tx.execute(insert(history).values(
            flow=flow.name, record_id=record_id, at=now, actor_id=actor.id, action=decision, from_state=state,
            to_state=state, comment=comment, revision=live.revision, on_behalf_of=on_behalf,
            changes={"approval": {"task": task["id"], "responsible": task["responsible_id"],
                                  "decision": status, **counted.as_dict()}}))
        outcome = counted.outcome
        moved_to: str | None = None
        if outcome == "passed":
            name = next(n for n, t in flow.spec.transitions.items() if t.on == "approval_passed" and state in t.from_)
            written = move(records, tx, live, row, actor, now, transition=name, comment=None)
        elif outcome == "rejected":
            if ap.on_reject == "send_back":
                back = previous_state(conn, flow, record_id, state) or flow.initial
                written = move(records, tx, live, row, actor, now, to=back, action="sent_back", comment=comment)
            else:
                written = move(records, tx, live, row, actor, now, transition=ap.on_reject, comment=comment)
        else:
            written = None
            version = int(row["version"]) + 1
            tx.guarded_update(live.fast, record_id, row["version"],
                              {"version": version, "updated_by": actor.id, "updated_at": now})
        if written is not None:
            moved_to, version = str(written["state"]), int(written["version"])
    return Decided(record_id, decision, counted.as_dict(), moved_to, version)


def _wake_waiting(conn: Connection, tasks: list[dict[str, Any]], decided: Mapping[str, Any]) -> None:
    """A task waits for one other task (added after its holder, or its holder asked someone before them):
    the decision of that task ends the wait."""
    conn.execute(update(approval_tasks).where(approval_tasks.c.waits_for == decided["id"],
                                              approval_tasks.c.status == WAITING).values(status=PENDING, waits_for=None))


def my_open_tasks(conn: Connection, user_ids: list[int], limit: int | None = None) -> list[dict[str, Any]]:
    """Pending approval tasks of these people (the inbox): the most urgent first (no due time last), at most `limit`
    (an approver may hold tens of thousands; the inbox shows a page).

    Read per person off the index (approver, status, due time, id) in its order — on SQLite in two runs, the
    tasks with a due time, then those without (it sorts NULLs first) — so the database stops after `limit`
    rows instead of sorting every pending task; the people's runs are merged here."""
    a = approval_tasks
    out: list[dict[str, Any]] = []
    nulls_last = conn.dialect.name == "postgresql"  # its ascending order (and index) puts NULLs last: one run
    for user_id in dict.fromkeys(user_ids):
        mine = a.c.approver_id == user_id, a.c.status == PENDING
        if nulls_last:
            q = select(a).where(*mine).order_by(a.c.approver_id, a.c.status, a.c.due_at, a.c.id)
            out += [dict(r) for r in conn.execute(q if limit is None else q.limit(limit)).mappings()]
            continue
        q = select(a).where(*mine, a.c.due_at.is_not(None)).order_by(a.c.due_at, a.c.id)
        found = [dict(r) for r in conn.execute(q if limit is None else q.limit(limit)).mappings()]
        if limit is None or len(found) < limit:
            q = select(a).where(*mine, a.c.due_at.is_(None)).order_by(a.c.id)
            rest = None if limit is None else limit - len(found)
            found += [dict(r) for r in conn.execute(q if rest is None else q.limit(rest)).mappings()]
        out += found
    out.sort(key=lambda t: (t["due_at"] is None, _utc(t["due_at"]), t["id"]))
    return out if limit is None else out[:limit]


def _utc(at: datetime | None) -> datetime:
    """A due time comparable with every other (SQLite hands back naive UTC; None sorts last anyway)."""
    if at is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


__all__ = ["APPROVED", "CANCELLED", "PENDING", "REJECTED", "WAITING", "approval_view", "close_round", "decide", "open_round",
           "resolve_approvers", "tally"]
