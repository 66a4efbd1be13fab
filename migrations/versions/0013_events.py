"""Events to other systems and change notices: the payload of an outbox message, frozen when it was written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_payloads",
        sa.Column("dedupe_key", sa.String(400), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dedupe_key", name="pk_outbox_payloads"),
    )


def downgrade() -> None:
    op.drop_table("outbox_payloads")
