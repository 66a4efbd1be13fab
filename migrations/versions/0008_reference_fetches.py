"""What `fetch:` fields copied from the records they refer to (``reference_fetches``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_fetches",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("source_flow", sa.String(64), nullable=False),
        sa.Column("source_id", sa.BigInteger, nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("fetched_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow", "record_id", "field", name="pk_reference_fetches"),
    )


def downgrade() -> None:
    op.drop_table("reference_fetches")
