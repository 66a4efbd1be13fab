"""Opening and closing the rounds of an approval stage (the part of approvals that entering a state runs).

Kept apart from engine/records/approvals.py so that engine/records/state_entry.py can call it without
importing the deciding machinery. See approvals.py for the rules.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, insert, or_, update
from sqlalchemy.engine import Connection

from engine.language.approval_spec import ApprovalSpec
from engine.language.flow import CompiledFlow
from engine.people.departments import manager_of
from engine.people.users import role_members
from engine.sla.clock import clock_on_entry
from engine.storage.schema import approval_tasks

PENDING, WAITING, APPROVED, REJECTED, CANCELLED = "pending", "waiting", "approved", "rejected", "cancelled"
OPEN = (PENDING, WAITING)


def excluded_people(flow: CompiledFlow, ap: ApprovalSpec, row: Mapping[str, Any]) -> set[int]:
    """The people `distinct_from` keeps from deciding on this record."""
    out: set[int] = set()
    for who in ap.distinct_from:
        uid = row.get("created_by") if who == "creator" else row.get(who)
        if uid is not None:
            out.add(int(uid))
    return out


def resolve_approvers(conn: Connection, flow: CompiledFlow, ap: ApprovalSpec, row: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(user id, the approver entry that named them), in the order of `approvers`, each person once, the
    people of `distinct_from` left out."""
    seen = excluded_people(flow, ap, row)
    out: list[tuple[int, str]] = []
    for entry in ap.approvers:
        kind, _, name = (p.strip() for p in entry.partition(":"))
        if kind == "role":
            people = role_members(conn, name)
        elif kind == "field":
            people = [int(row[name])] if row.get(name) is not None else []
        else:  # manager_of
            whose = row.get("created_by") if name == "creator" else row.get(name)
            found = manager_of(conn, int(whose)) if whose is not None else None
            people = [found] if found is not None else []
        for uid in people:
            if uid not in seen:
                seen.add(uid)
                out.append((uid, entry.replace(" ", "")))
    return out


def open_round(conn: Connection, flow: CompiledFlow, row: Mapping[str, Any], now: datetime) -> int:
    """The tasks of a record that has just entered a state with an approval; returns how many."""
    state = row["state"]
    ap = flow.state(state).approval
    if ap is None:
        return 0
    clock = clock_on_entry(flow, state, {}, now, values=row)  # each approver's own clock: the state's sla from now
    rows = [{"flow": flow.name, "record_id": row["id"], "state": state, "stage_start": now, "seq": (i + 1) * 10,
             "approver_id": uid, "responsible_id": uid, "source": source, "status": PENDING, "created_at": now,
             "due_at": clock.get("sla_due_at"), "warn_at": clock.get("sla_warn_at")}
            for i, (uid, source) in enumerate(resolve_approvers(conn, flow, ap, row))]
    if rows:
        conn.execute(insert(approval_tasks), rows)
    return len(rows)


def close_round(conn: Connection, flow_name: str, record_id: int, now: datetime) -> int:
    """Cancel the undecided tasks of a record (it left the stage, or a reload removed the approval)."""
    return int(conn.execute(update(approval_tasks).where(
        approval_tasks.c.flow == flow_name, approval_tasks.c.record_id == record_id,
        approval_tasks.c.status.in_(OPEN)).values(status=CANCELLED, decided_at=now)).rowcount or 0)


def on_state_entry(conn: Connection, flow: CompiledFlow, before: Mapping[str, Any], after: Mapping[str, Any],
                   now: datetime) -> None:
    """Called by engine/records/state_entry.py for every entry: close the round left, open the one entered."""
    old = before.get("state")
    if old is not None and (old not in flow.spec.states or flow.state(old).approval is not None):
        close_round(conn, flow.name, int(after["id"]), now)
    if flow.state(after["state"]).approval is not None:
        open_round(conn, flow, after, now)




def approval_exists_clause(flow_name: str, record_id_col: Any, uid: Any, standing_in: Any) -> ColumnElement[bool]:
    """SQL: the record has an approval task held by `uid` or by someone in `standing_in` (a SELECT of ids):
    approvers, and their delegates, see the records they decide on."""
    a = approval_tasks
    return exists().where(a.c.flow == flow_name, a.c.record_id == record_id_col,
                          or_(a.c.approver_id == uid, a.c.approver_id.in_(standing_in)))
