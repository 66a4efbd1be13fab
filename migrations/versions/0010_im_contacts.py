"""A user's phone and office IM id, for @-mentions in IM robot messages (issue 13).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone", sa.String(32)))
        batch.add_column(sa.Column("im_id", sa.String(128)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("im_id")
        batch.drop_column("phone")
