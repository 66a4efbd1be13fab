"""Engine tables: users, role grants, flows and their revisions, history, assignment cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("locale", sa.String(16)),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "role_grants",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_role_grants_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_role_grants"),
    )
    op.create_index("ix_role_grants_role", "role_grants", ["role"])
    op.create_table(
        "flows",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("live_revision", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_flows"),
    )
    op.create_table(
        "flow_revisions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("yaml_text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("applied_by", sa.Integer),
        sa.Column("applied_at", UtcDateTime, nullable=False),
        sa.Column("plan", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_flow_revisions"),
        sa.UniqueConstraint("flow", "revision", name="uq_flow_revisions_flow_revision"),
    )
    op.create_table(
        "history",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("transition", sa.String(64)),
        sa.Column("from_state", sa.String(64)),
        sa.Column("to_state", sa.String(64)),
        sa.Column("changes", sa.JSON),
        sa.Column("comment", sa.Text),
        sa.Column("revision", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_history"),
    )
    op.create_index("ix_history_flow_record_id", "history", ["flow", "record_id", "id"])
    op.create_table(
        "assign_cursors",
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("last_user_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("flow", "state", name="pk_assign_cursors"),
    )


def downgrade() -> None:
    for name in ("assign_cursors", "history", "flow_revisions", "flows", "role_grants", "users"):
        op.drop_table(name)
