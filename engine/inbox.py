"""The inbox: records waiting on me or on one of my roles, across flows, most urgent first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from engine.actor import Actor
from engine.records import Records
from engine.registry import FlowRegistry

_FAR_FUTURE = datetime.max


@dataclass(frozen=True)
class InboxItem:
    flow: str
    flow_title: str
    record_id: int
    state: str
    state_title: str
    title: str
    assignee_id: int | None
    assignee_role: str | None
    sla_status: str | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


def inbox(db: Engine, registry: FlowRegistry, actor: Actor, *, limit: int = 200) -> list[InboxItem]:
    items: list[InboxItem] = []
    with db.connect().execution_options(readonly=True) as conn:
        for live in registry.all():
            flow, t = live.flow, live.table
            owned = set()
            for role in actor.roles:
                owned |= flow.states_owned_by.get(role, frozenset())
            cond = t.c.assignee_id == actor.id
            if owned:
                cond = or_(cond, and_(t.c.assignee_id.is_(None), t.c.state.in_(sorted(owned))))
            title_cols = [t.c[n] for n in (flow.title.names if flow.title else ()) if n in flow.fields]
            q = (select(t.c.id, t.c.state, t.c.assignee_id, t.c.assignee_role, t.c.sla_status, t.c.sla_due_at,
                        t.c.sla_warn_at, t.c.created_at, t.c.updated_at, t.c.version, *title_cols)
                 .where(cond, t.c.state.in_(flow.open_states))
                 .order_by(t.c.sla_due_at.is_(None), t.c.sla_due_at, t.c.updated_at)
                 .limit(limit))
            for row in conn.execute(q).mappings():
                values: dict[str, Any] = {}
                for col in title_cols:
                    v = row[col.name]
                    values[col.name] = None if v is None else flow.fields[col.name].from_db(v)
                items.append(InboxItem(
                    flow=flow.name, flow_title=flow.spec.title or flow.name, record_id=row["id"],
                    state=row["state"], state_title=flow.state(row["state"]).title or row["state"],
                    title=Records.title_of(flow, values, row["id"]), assignee_id=row["assignee_id"],
                    assignee_role=row["assignee_role"], sla_status=row["sla_status"], sla_due_at=row["sla_due_at"],
                    sla_warn_at=row["sla_warn_at"], created_at=row["created_at"], updated_at=row["updated_at"],
                    version=row["version"]))
    items.sort(key=lambda i: (i.sla_due_at is None, i.sla_due_at or i.updated_at, i.updated_at))
    return items[:limit]
