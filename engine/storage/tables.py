"""One real table per flow: a typed column per field plus the system columns."""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table

from engine.storage.db import UtcDateTime
from engine.language.flow import CompiledFlow
from engine.storage.schema import BigId

MAX_NAME = 60  # PostgreSQL cuts identifiers at 63 bytes
FILLFACTOR = 90
SLA_RANGE_COLUMNS = ("sla_due_at", "sla_warn_at")  # indexed alone: the scheduler's ranges


def _name(*parts: str) -> str:
    name = "_".join(parts)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_NAME - 9]}_{digest}"


def system_columns() -> list[Column[Any]]:
    return [
        Column("id", BigId, primary_key=True),
        Column("state", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("revision", Integer, nullable=False),
        Column("assignee_id", Integer),
        Column("assignee_role", String(64)),
        Column("created_by", Integer),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_by", Integer),
        Column("updated_at", UtcDateTime, nullable=False),
        # The clock of the stage the record is in (or that a pause interrupted).
        Column("sla_state", String(64)),
        Column("sla_started_at", UtcDateTime),
        Column("sla_due_at", UtcDateTime),
        Column("sla_warn_at", UtcDateTime),
        Column("sla_status", String(16)),
        Column("sla_paused_at", UtcDateTime),
        Column("sla_paused_seconds", Integer, nullable=False, default=0),
        Column("sla_escalated", Boolean, nullable=False, default=False),
        Column("sla_next_remind_at", UtcDateTime),
    ]


def build_flow_table(flow: CompiledFlow, metadata: MetaData | None = None) -> Table:
    metadata = metadata or MetaData()
    t = flow.table_name
    cols = system_columns()
    for name, field in flow.fields.items():
        if field.stored_in_row:  # a table field's rows live in their own table (engine/storage/row_tables.py)
            cols.append(Column(name, field.column_type(), nullable=True))
    # PostgreSQL: room on each page so the scheduler's status updates stay HOT (no index entries).
    table = Table(t, metadata, *cols, postgresql_with={"fillfactor": FILLFACTOR})
    Index(_name("ix", t, "state_id"), table.c.state, table.c.id)
    # The inbox's slices (engine/records/inbox.py) read these in (due instant, id) order: with the id inside,
    # the index gives the whole order and PostgreSQL never prefers walking the primary key instead.
    Index(_name("ix", t, "assignee"), table.c.assignee_id, table.c.sla_due_at, table.c.id)
    Index(_name("ix", t, "queue"), table.c.state, table.c.assignee_id, table.c.sla_due_at, table.c.id)
    Index(_name("ix", t, "state_due"), table.c.state, table.c.sla_due_at, table.c.id)  # lists by urgency
    # The scheduler's ranges; no index holds a column the scheduler writes (engine/sla/scheduler.py).
    for column in SLA_RANGE_COLUMNS:
        Index(_name("ix", t, column), table.c[column])
    Index(_name("ix", t, "updated"), table.c.updated_at, table.c.id)
    Index(_name("ix", t, "creator"), table.c.created_by, table.c.id)  # visibility: records I created
    for name, field in flow.fields.items():
        if not field.stored_in_row:
            continue
        if field.unique:
            Index(_name("uq", t, name), table.c[name], unique=True)
        elif field.index:
            Index(_name("ix", t, name), table.c[name], table.c.id)
    return table
