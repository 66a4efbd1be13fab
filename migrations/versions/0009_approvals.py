"""Approvals (one task per approver of a stage) and urges (催办), issue 13 part 2.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approval_tasks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("stage_start", UtcDateTime(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("decided_at", UtcDateTime()),
        sa.Column("decided_by", sa.Integer()),
        sa.Column("on_behalf_of", sa.Integer()),
        sa.Column("added_by", sa.Integer()),
        sa.Column("waits_for", sa.BigInteger()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime()),
        sa.Column("warn_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_approval_tasks"),
    )
    op.create_index("ix_approval_tasks_flow_record_id", "approval_tasks", ["flow", "record_id", "stage_start"])
    op.create_index("ix_approval_tasks_approver_id", "approval_tasks", ["approver_id", "status"])
    op.create_table(
        "urges",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("stage_start", UtcDateTime()),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("urged_by", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_urges"),
    )
    op.create_index("ix_urges_flow_record_id", "urges", ["flow", "record_id", "at"])
    op.create_index("ix_urges_flow_state_at", "urges", ["flow", "state", "at"])


def downgrade() -> None:
    op.drop_index("ix_urges_flow_state_at", table_name="urges")
    op.drop_index("ix_urges_flow_record_id", table_name="urges")
    op.drop_table("urges")
    op.drop_index("ix_approval_tasks_approver_id", table_name="approval_tasks")
    op.drop_index("ix_approval_tasks_flow_record_id", table_name="approval_tasks")
    op.drop_table("approval_tasks")
