"""Warn and breach reminders per approver: in a stage with `approval:`, each approver has a task with its own
clock (approval_tasks.due_at / warn_at, engine/records/approval_rounds.py), and "the assignee" of a reminder
rule is every approver whose decision is still awaited, each at their own instants.

A scheduler pass (engine/sla/scheduler.py `flow_pass_in`) calls `approver_reminders_in` with the same window
as the record clocks: the tasks whose instant lies between the flow's scan mark and now. Only `pending`
tasks are reminded: a decided approver is not, nor one added after someone who is still waiting for them
(their turn has not come), nor a task cancelled because the record left the stage. The outbox rows carry the
same dedupe key as a record-level reminder to that person (`flow:record:state@stage-start:event:u<id>:channel`),
so someone who is an approver and also named by role gets one message, and a pass that runs twice adds
nothing. Broadcast channels (webhooks, IM robots) stay with the record-level event: one post per stage.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from engine.delivery.channels import BROADCAST_CHANNELS
from engine.delivery.outbox import add_rows, dedupe_key, epoch
from engine.language.flow import CompiledFlow
from engine.sla.reminder_plan import reminder_plan
from engine.storage.schema import approval_tasks, users


def approval_states(flow: CompiledFlow) -> tuple[str, ...]:
    return tuple(n for n, st in flow.spec.states.items() if st.approval is not None)


def approver_reminders_in(conn: Connection, flow: CompiledFlow, now: datetime, since: datetime | None) -> int:
    """Outbox rows for the approvers whose own warning or due instant fell in (since, now]; how many."""
    states = approval_states(flow)
    if not states:
        return 0
    plan = reminder_plan(flow)
    a = approval_tasks
    rows: list[dict[str, Any]] = []
    for event, column in (("breach", a.c.due_at), ("warn", a.c.warn_at)):
        rules = [r for r in plan.by_event.get(event, ()) if "assignee" in r.spec.notify
                 and any(s in r.states for s in states)]
        if not rules:
            continue
        window = and_(column <= now) if since is None else and_(column > since, column <= now)
        cond = and_(a.c.flow == flow.name, a.c.status == "pending", a.c.state.in_(states), window)
        if event == "warn":  # a warning overtaken by the due is not sent: the breach says more
            cond = and_(cond, a.c.due_at > now)
        found = conn.execute(
            select(a.c.record_id, a.c.state, a.c.stage_start, a.c.approver_id, a.c.due_at, column.label("at"))
            .join(users, and_(users.c.id == a.c.approver_id, users.c.active.is_(True))).where(cond)).all()
        for task in found:
            for rule in rules:
                if task.state not in rule.states:
                    continue
                for channel in rule.spec.via:
                    if channel in BROADCAST_CHANNELS:
                        continue
                    rows.append({
                        "dedupe_key": dedupe_key(flow.name, task.record_id, task.state, epoch(task.stage_start), event,
                                                 f"u{task.approver_id}", channel),
                        "flow": flow.name, "record_id": task.record_id, "state": task.state, "event": event,
                        "rule": rule.index, "channel": channel, "recipient": f"u{task.approver_id}",
                        "user_id": task.approver_id, "due_at": task.due_at, "event_at": task.at, "created_at": now})
    return add_rows(conn, rows)
