"""What the record page shows of an approval and of the actions around a task (转交 加签 回退 催办).

One read-only pass over the engine (engine/records/approvals.py, engine/records/task_actions.py) builds
`ApprovalPanel`: every approver's task with its decision and comment, whether the reader decides now, and
which of hand_over / add_approver / return / urge the reader is offered. An action is offered only where
the state's `allow:` lists it and only to the people the engine would let do it, so a button never leads to
a refusal the page could have known about (the engine checks again when the form is sent).

`last_reason` is the reason of the step that brought the record where it is, when that step was a return
or a rejection: shown on top of the record page, so the person who gets the record back sees why first.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.language.flow import CompiledFlow
from engine.people.delegation import delegators
from engine.records.actor import Actor
from engine.records.approval_rounds import APPROVED, CANCELLED, PENDING, REJECTED, WAITING
from engine.records.approvals import approval_view
from engine.records.records import Record
from engine.records.task_actions import _responsible_here, may_urge, return_targets
from engine.storage.schema import history
from ui.i18n.flow_text import flow_text

Gettext = Callable[..., str]


@dataclass(frozen=True)
class TaskLine:
    who: str
    status: str  # pending | waiting | approved | rejected | cancelled
    status_label: str
    comment: str | None
    decided_at: datetime | None
    decided_by: str | None  # a delegate who decided on the approver's behalf
    due_at: datetime | None
    mine: bool


@dataclass
class ApprovalPanel:
    tasks: list[TaskLine] = field(default_factory=list)
    tally: Mapping[str, Any] | None = None
    decides: bool = False  # the reader has an undecided task here
    hand_over: bool = False
    hand_over_people: list[tuple[str, str]] = field(default_factory=list)  # (username, name)
    add_approver: bool = False
    add_people: list[tuple[str, str]] = field(default_factory=list)
    return_to: list[tuple[str, str]] = field(default_factory=list)  # (state, title)
    urge: bool = False
    last_reason: tuple[str, str, str] | None = None  # (kind label, who, reason)

    @property
    def any_action(self) -> bool:
        return self.hand_over or self.add_approver or bool(self.return_to) or self.urge

    @property
    def shown(self) -> bool:
        return bool(self.tasks) or self.decides or self.any_action


def _status_labels(_: Gettext) -> dict[str, str]:
    return {PENDING: _("Waiting for a decision"), WAITING: _("Waits for another approver"), APPROVED: _("Approved"),
            REJECTED: _("Rejected"), CANCELLED: _("No longer needed")}


def _people(rows: list[Mapping[str, Any]], role: str | None, leave_out: set[int]) -> list[tuple[str, str]]:
    return [(str(u["username"]), str(u["display_name"] or u["username"])) for u in rows
            if u["active"] and int(u["id"]) not in leave_out and (role is None or role in u["roles"])]


def _last_reason(conn: Any, flow: CompiledFlow, rec: Record, names: Mapping[int, str], _: Gettext) -> tuple[str, str, str] | None:
    h = history
    row = conn.execute(select(h.c.action, h.c.comment, h.c.actor_id, h.c.to_state)
                       .where(h.c.flow == flow.name, h.c.record_id == rec.id, h.c.to_state.is_not(None),
                              h.c.from_state != h.c.to_state)
                       .order_by(h.c.id.desc()).limit(1)).first()
    if row is None or row.to_state != rec.state or not row.comment:
        return None
    if row.action == "return":
        kind = _("Returned")
    elif row.action == "sent_back":
        kind = _("Rejected")
    else:
        return None
    return kind, names.get(int(row.actor_id), "") if row.actor_id else _("system"), str(row.comment)


def approval_panel(db: Any, flow: CompiledFlow, rec: Record, actor: Actor, now: datetime, _: Gettext,
                   users_rows: list[Mapping[str, Any]], names: Mapping[int, str]) -> ApprovalPanel:
    """The approval and task actions of `rec` as `actor` sees them now (see the module docstring)."""
    panel = ApprovalPanel()
    st = flow.state(rec.state) if rec.state in flow.spec.states else None
    with db.connect() as conn:
        panel.last_reason = _last_reason(conn, flow, rec, names, _)
        if st is None or rec.state in flow.final_states:
            return panel
        view = approval_view(conn, flow, {"id": rec.id, "state": rec.state}, actor, now)
        row = {"id": rec.id, "state": rec.state, "assignee_id": rec.assignee_id,
               "created_by": rec.system.get("created_by")}
        labels = _status_labels(_)
        mine_id = None
        if view is not None:
            mine_id = view["my_task"]["id"] if view["my_task"] else None
            panel.decides = mine_id is not None
            panel.tally = view["tally"]
            for t in view["tasks"]:
                by = t.get("decided_by_name") if t.get("decided_by") and t.get("decided_by") != t.get("approver_id") else None
                panel.tasks.append(TaskLine(
                    who=str(t.get("approver_name") or names.get(int(t["approver_id"]), "?")), status=str(t["status"]),
                    status_label=labels.get(str(t["status"]), str(t["status"])), comment=t.get("comment"),
                    decided_at=t.get("decided_at"), decided_by=str(by) if by else None, due_at=t.get("due_at"),
                    mine=t["id"] == mine_id))
        allow = set(st.allow)
        open_people = {int(t["approver_id"]) for t in (view["tasks"] if view else []) if t["status"] in (PENDING, WAITING)}
        if "hand_over" in allow:
            if view is not None:
                panel.hand_over = panel.decides
                panel.hand_over_people = _people(users_rows, None, open_people | {actor.id})
            else:
                lent = delegators(conn, actor.id, now)
                holder = rec.assignee_id
                panel.hand_over = holder is not None and (holder == actor.id or holder in lent or actor.is_admin)
                panel.hand_over_people = _people(users_rows, st.owner, {holder} if holder is not None else set())
        if "add_approver" in allow and view is not None and panel.decides:
            panel.add_approver = True
            panel.add_people = _people(users_rows, None, open_people | {actor.id})
        if "return" in allow and _responsible_here(conn, flow, row, actor, now):
            panel.return_to = [(s, flow_text(flow.state(s).title, getattr(_, "locale", None), flow) or s)
                               for s in return_targets(conn, flow, rec.id, rec.state)]
        panel.urge = may_urge(flow, row, actor) and not panel.decides
    return panel
