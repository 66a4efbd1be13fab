"""Claiming a record from a role queue, and reassigning records.

A record that waits unassigned in a state (its owner role's queue) can be
claimed by any active member of that role: it becomes theirs. Managers move
records between people: admins, and holders of a role of the flow named
`manager` or ending in `_manager` (e.g. `service_manager`). A record can be
given to an active member of its state's owner role, or put back in the
queue. Both are optimistic writes (the version the caller saw) with a
history row (`action` claim / reassign, `changes.assignee_id`), written
through the write executor given (engine/storage/executor.py; a bare Engine:
a transaction of their own).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection, RowMapping

from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.errors import Forbidden, NotFound, RecordClosed, StaleVersion, ValidationFailed
from engine.language.flow import CompiledFlow
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import history
from engine.storage.executor import WriteExecutor, WriteTransaction
from engine.storage.plain import executor_for
from engine.people.users import assignable_problem


def manager_roles(flow: CompiledFlow) -> frozenset[str]:
    """Roles of the flow whose holders may reassign its records."""
    return frozenset(r for r in flow.spec.roles if r == "manager" or r.endswith("_manager"))


def may_reassign(flow: CompiledFlow, actor: Actor) -> bool:
    return actor.is_admin or bool(actor.roles & manager_roles(flow))


def may_claim(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor) -> bool:
    owner = flow.state(state).owner
    return (assignee_id is None and state not in flow.final_states and owner is not None
            and owner in actor.roles)


def _row(conn: Connection, live: LiveFlow, record_id: int, actor: Actor, expected_version: int | None,
         what: str) -> RowMapping:
    """The record as the actor may see it, at the version they saw and not closed; else the matching error."""
    t = live.table
    row = conn.execute(select(t.c.id, t.c.state, t.c.version, t.c.assignee_id)
                       .where(t.c.id == record_id, visible_clause(live, actor))).mappings().first()
    if row is None:
        raise NotFound(f"no {live.flow.name} record {record_id}")
    if expected_version is not None and row["version"] != expected_version:
        raise StaleVersion(row["version"], expected_version)
    if row["state"] in live.flow.final_states:
        raise RecordClosed(f"the record is closed; it cannot be {what}")
    return row


def _write(tx: WriteTransaction, live: LiveFlow, row: RowMapping, actor: Actor, new_assignee: int | None,
           action: str, now: datetime) -> int:
    values: dict[str, Any] = {"assignee_id": new_assignee, "version": row["version"] + 1, "updated_by": actor.id,
                              "updated_at": now}
    tx.guarded_update(live.fast, row["id"], row["version"], values)  # StaleVersion if it moved on
    tx.execute(insert(history).values(
        flow=live.flow.name, record_id=row["id"], at=now, actor_id=actor.id, action=action,
        from_state=row["state"], to_state=row["state"],
        changes={"assignee_id": [row["assignee_id"], new_assignee]}, revision=live.revision))
    return int(row["version"]) + 1


def claim(db: Engine | WriteExecutor, registry: FlowRegistry, flow_name: str, record_id: int, actor: Actor, *,
          expected_version: int | None, now: datetime | None = None) -> int:
    """Take a queued record for oneself; returns the new version."""
    live = registry.get(flow_name)
    flow = live.flow
    now = now or datetime.now(timezone.utc)
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        row = _row(conn, live, record_id, actor, expected_version, "claimed")
        if row["assignee_id"] == actor.id:
            return int(row["version"])
        if row["assignee_id"] is not None:
            raise Forbidden("someone else has already taken this record")
        if not may_claim(flow, row["state"], row["assignee_id"], actor):
            owner = flow.state(row["state"]).owner or "-"
            raise Forbidden(f"claiming needs the role: {owner}")
        return _write(tx, live, row, actor, actor.id, "claim", now)


def reassign(db: Engine | WriteExecutor, registry: FlowRegistry, flow_name: str, record_id: int, actor: Actor,
             to_user: int | None, *, expected_version: int | None, now: datetime | None = None) -> int:
    """Give a record to a member of its state's owner role (None: back to the queue); returns the new version."""
    live = registry.get(flow_name)
    flow = live.flow
    now = now or datetime.now(timezone.utc)
    if not may_reassign(flow, actor):
        raise Forbidden("reassigning needs an administrator or a manager role of the flow")
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        row = _row(conn, live, record_id, actor, expected_version, "reassigned")
        if to_user is not None:
            problem = assignable_problem(conn, to_user, flow.state(row["state"]).owner,
                                          roles=flow.spec.roles, language=flow.spec.language)
            if problem:
                raise ValidationFailed({"assignee": problem})
        if row["assignee_id"] == to_user:
            return int(row["version"])
        return _write(tx, live, row, actor, to_user, "reassign", now)
