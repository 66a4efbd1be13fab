"""Bookkeeping for flow plans and retired columns (issue: reload flows).

A field removed from a flow file keeps its column and data; `retired_columns`
remembers the field's spec so that the plan can tell how to read the values
when the field comes back (its type may have changed meanwhile).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retired_columns",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("column_name", sa.String(64), nullable=False),
        sa.Column("field", sa.JSON()),
        sa.Column("retired_revision", sa.Integer(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow", "column_name", name="pk_retired_columns"),
    )


def downgrade() -> None:
    op.drop_table("retired_columns")
