"""Dashboard figures shared by every server and worker of a database, computed again by a worker ahead of their
expiry while somebody reads them (engine/records/board_store.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_figures",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("board", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(1000), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("widgets", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("flow", "board", "scope", name="pk_dashboard_figures"),
    )
    op.create_index("ix_dashboard_figures_computed_at", "dashboard_figures", ["computed_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_figures_computed_at", table_name="dashboard_figures")
    op.drop_table("dashboard_figures")
