"""The inbox's approval tasks, urges and key values (engine/records/inbox.py calls `approval_items`,
then `merge_tasks`).

* Every pending approval task of the reader, and of the people they stand in for, is one inbox item with
  the task's own due time (each approver has their own clock), marked `task="approval"`. A record the reader
  already has in the inbox by assignment or role queue is shown once, as the task.
* An item is `urged` when someone urged the record since it entered its current state; urged items come first.
* `inbox_fields: [customer, total, delivery_date]` of a flow: those values come along with each item
  (`key_values`, in the order written), for the reader to decide without opening the record.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence, Set as AbstractSet
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.records.approvals import my_open_tasks
from engine.records.records import Records, values_from_row
from engine.records.task_actions import stage_entered_at
from engine.storage.id_lists import among
from engine.storage.schema import urges

if TYPE_CHECKING:
    from engine.records.inbox import InboxItem
    from engine.storage.registry import FlowRegistry


def key_field_names(flow: CompiledFlow, table: Any) -> list[str]:
    """The flow's `inbox_fields` that are stored in the record's own row (a table field has its own rows)."""
    return [n for n in flow.spec.inbox_fields if n in flow.fields and n in table.c]


def key_values(flow: CompiledFlow, values: Mapping[str, Any], state: str) -> tuple[tuple[str, Any], ...]:
    """(field, value) of the flow's inbox_fields, leaving out fields hidden in the record's state."""
    hidden = flow.hidden_fields(state) if state in flow.spec.states else frozenset()
    return tuple((n, values.get(n)) for n in flow.spec.inbox_fields if n in values and n not in hidden)


def approval_items(conn: Connection, registry: FlowRegistry, user_ids: Sequence[int],
                   standing_in: Mapping[int, str], limit: int = 200) -> list[InboxItem]:
    """One item per pending approval task of these people (the reader first, then whom they stand in for), the
    `limit` most urgent; their records are read with one query per flow."""
    from engine.records.inbox import InboxItem

    tasks = [t for t in my_open_tasks(conn, list(user_ids), limit) if t["flow"] in registry]
    rows: dict[tuple[str, int], Mapping[Any, Any]] = {}
    names_of: dict[str, list[str]] = {}
    for flow_name in dict.fromkeys(t["flow"] for t in tasks):
        live = registry.get(flow_name)
        flow, t = live.flow, live.table
        title_names = [n for n in (flow.title.names if flow.title else ()) if n in flow.fields and n in t.c]
        names_of[flow_name] = names = list(dict.fromkeys([*title_names, *key_field_names(flow, t)]))
        ids = sorted({int(task["record_id"]) for task in tasks if task["flow"] == flow_name})
        q = select(t.c.id, t.c.state, t.c.assignee_role, t.c.created_at, t.c.updated_at, t.c.version,
                   *(t.c[n] for n in names)).where(among(t.c.id, ids, conn.dialect.name))
        rows.update({(flow_name, int(r["id"])): r for r in conn.execute(q).mappings()})
    out: list[InboxItem] = []
    for task in tasks:
        flow = registry.get(task["flow"]).flow
        row = rows.get((task["flow"], int(task["record_id"])))
        if task["state"] not in flow.spec.states or row is None or row["state"] != task["state"]:
            continue
        values = values_from_row(flow, row, names_of[task["flow"]])
        approver = int(task["approver_id"])
        out.append(InboxItem(
            flow=flow.name, flow_title=flow.spec.title or flow.name, record_id=int(row["id"]), state=row["state"],
            state_title=flow.state(row["state"]).title or row["state"],
            title=Records.title_of(flow, values, row["id"], row["state"]), assignee_id=approver,
            assignee_role=row["assignee_role"], sla_status=None,
            sla_due_at=task["due_at"], sla_warn_at=task["warn_at"], created_at=row["created_at"],
            updated_at=row["updated_at"], version=int(row["version"]),
            on_behalf_of=approver if approver in standing_in else None, on_behalf_of_name=standing_in.get(approver),
            task="approval", key_values=key_values(flow, values, row["state"])))
    return out


def merge_tasks(conn: Connection, tasks: list[InboxItem], items: list[InboxItem],
                checked: AbstractSet[tuple[str, int]] = frozenset(),
                urged: AbstractSet[tuple[str, int]] = frozenset()) -> list[InboxItem]:
    """The approval tasks (`approval_items`) and the assigned and queued records together, a record once (as the
    task), urges marked, in the inbox's order (`urgency`). `checked`: records already asked about urges
    (`urged`: those of them urged), so they are not asked about again."""
    seen = {(i.flow, i.record_id) for i in tasks}
    merged = [*tasks, *(i for i in items if (i.flow, i.record_id) not in seen)]
    ask = [(i.flow, i.record_id, i.state) for i in merged if (i.flow, i.record_id) not in checked]
    urged = set(urged) | urged_records(conn, ask)
    merged = [replace(i, urged=True) if (i.flow, i.record_id) in urged else i for i in merged]
    merged.sort(key=lambda i: urgency(i.urged, i.sla_due_at, i.updated_at))
    return merged


def urgency(urged: bool, due: datetime | None, updated: datetime) -> tuple[bool, bool, datetime, datetime]:
    """The inbox's order: urged first, then by due time (none last), then the least recently changed."""
    return not urged, due is None, _aware(due or updated), _aware(updated)


def urged_records(conn: Connection, records: Sequence[tuple[str, int, str]]) -> set[tuple[str, int]]:
    """(flow, record id) of the (flow, record id, state) urged since their record entered that state."""
    if not records:
        return set()
    wanted = {(f, int(rid)): state for f, rid, state in records}
    found = []
    for flow_name in dict.fromkeys(f for f, _rid in wanted):  # by flow: the urges' index is (flow, record id, at)
        ids = sorted(rid for f, rid in wanted if f == flow_name)
        q = (select(urges.c.record_id, urges.c.state, func.max(urges.c.at))
             .where(urges.c.flow == flow_name, among(urges.c.record_id, ids, conn.dialect.name))
             .group_by(urges.c.record_id, urges.c.state))
        found += [(flow_name, int(record_id), state, last) for record_id, state, last in conn.execute(q)]
    out = set()
    for flow_name, record_id, state, last in found:
        if wanted.get((flow_name, record_id)) != state:
            continue
        entered: datetime | None = stage_entered_at(conn, flow_name, record_id, state)
        if entered is None or _aware(last) >= _aware(entered):
            out.add((flow_name, record_id))
    return out


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
