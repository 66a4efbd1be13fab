"""The SLA scheduler's bookkeeping, SLA pause intervals; flow tables without indexes on the columns the scheduler writes.

* ``sla_events``: the events of a scheduler pass, fanned out into outbox rows by the worker.
* ``sla_repeats``: breached records with a repeating reminder, by next reminder instant.
* ``sla_scans``: per flow, up to which instant the scheduler looked for warnings and breaches.
* ``sla_pauses``: the pause intervals of SLA stages, for an exact recompute on reload.
* Every flow table: the ``(sla_status, …)`` indexes are replaced by ``(sla_due_at)`` and
  ``(sla_warn_at)``, and on PostgreSQL the table gets a fillfactor, so the scheduler's status
  updates are HOT. Breached records that repeat are found again by the first pass (it has no scan
  mark yet and looks at every overdue record once).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime
from engine.storage.tables import _name

# As engine/storage/tables.py had them when this revision was written; copied so that a later change there
# does not change what this revision does.
FILLFACTOR = 90
SLA_RANGE_COLUMNS = ("sla_due_at", "sla_warn_at")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_INDEXES = {"sla_due": ("sla_status", "sla_due_at"), "sla_warn": ("sla_status", "sla_warn_at"),
               "sla_remind": ("sla_status", "sla_next_remind_at")}


def _flow_tables() -> list[str]:
    bind = op.get_bind()
    names = [str(n) for n in bind.execute(sa.text("SELECT name FROM flows")).scalars()]
    existing = set(sa.inspect(bind).get_table_names())
    return [f"flow_{n}" for n in names if f"flow_{n}" in existing]


def upgrade() -> None:
    op.create_table(
        "sla_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("stage_start", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime),
        sa.Column("event_at", UtcDateTime, nullable=False),
        sa.Column("assignee_id", sa.Integer),
        sa.Column("created_by", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_sla_events"),
    )
    op.create_index("ix_sla_events_flow_id", "sla_events", ["flow", "id"])
    op.create_table(
        "sla_repeats",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("remind_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow", "record_id", name="pk_sla_repeats"),
    )
    op.create_index("ix_sla_repeats_flow_remind_at", "sla_repeats", ["flow", "remind_at"])
    op.create_table(
        "sla_scans",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("scanned_until", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow", name="pk_sla_scans"),
    )
    op.create_table(
        "sla_pauses",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("stage_start", UtcDateTime, nullable=False),
        sa.Column("paused_at", UtcDateTime, nullable=False),
        sa.Column("resumed_at", UtcDateTime),
        sa.Column("paused_seconds_before", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sla_pauses"),
    )
    op.create_index("ix_sla_pauses_flow_record_id", "sla_pauses", ["flow", "record_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _flow_tables():
        for suffix in OLD_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS "{_name("ix", table, suffix)}"')
        for column in SLA_RANGE_COLUMNS:
            op.execute(f'CREATE INDEX IF NOT EXISTS "{_name("ix", table, column)}" ON "{table}" ("{column}")')
        if postgres:
            op.execute(f'ALTER TABLE "{table}" SET (fillfactor = {FILLFACTOR})')


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _flow_tables():
        for column in SLA_RANGE_COLUMNS:
            op.execute(f'DROP INDEX IF EXISTS "{_name("ix", table, column)}"')
        for suffix, columns in OLD_INDEXES.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            op.execute(f'CREATE INDEX IF NOT EXISTS "{_name("ix", table, suffix)}" ON "{table}" ({cols})')
        if postgres:
            op.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')
    op.drop_index("ix_sla_pauses_flow_record_id", table_name="sla_pauses")
    op.drop_table("sla_pauses")
    op.drop_table("sla_scans")
    op.drop_index("ix_sla_repeats_flow_remind_at", table_name="sla_repeats")
    op.drop_table("sla_repeats")
    op.drop_table("sla_events")
