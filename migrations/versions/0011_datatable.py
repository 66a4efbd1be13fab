"""Saved views of the data tables (issue 14): a person's own views and views shared with a role.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("shared_role", sa.String(64)),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_saved_views_owner_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
    )
    op.create_index("ix_saved_views_flow_owner_id", "saved_views", ["flow", "owner_id"])
    op.create_index("ix_saved_views_flow_shared_role", "saved_views", ["flow", "shared_role"])


def downgrade() -> None:
    op.drop_index("ix_saved_views_flow_shared_role", table_name="saved_views")
    op.drop_index("ix_saved_views_flow_owner_id", table_name="saved_views")
    op.drop_table("saved_views")
