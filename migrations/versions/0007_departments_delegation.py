"""Departments (a tree with managers and members, and its closure table), out-of-office delegation, and
the person an action was taken on behalf of in `history`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("manager_id", sa.Integer()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.ForeignKeyConstraint(["parent_id"], ["departments.id"], name="fk_departments_parent_id_departments",
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["manager_id"], ["users.id"], name="fk_departments_manager_id_users",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_departments_parent_id", "departments", ["parent_id"])
    op.create_table(
        "department_paths",
        sa.Column("ancestor_id", sa.String(64), nullable=False),
        sa.Column("descendant_id", sa.String(64), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name="pk_department_paths"),
        sa.ForeignKeyConstraint(["ancestor_id"], ["departments.id"], name="fk_department_paths_ancestor_id_departments",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["descendant_id"], ["departments.id"],
                                name="fk_department_paths_descendant_id_departments", ondelete="CASCADE"),
    )
    op.create_index("ix_department_paths_descendant_id", "department_paths", ["descendant_id", "depth"])
    op.create_table(
        "department_members",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "department_id", name="pk_department_members"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_department_members_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name="fk_department_members_department_id_departments", ondelete="CASCADE"),
    )
    op.create_index("ix_department_members_department_id", "department_members", ["department_id", "user_id"])
    op.create_table(
        "delegations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_delegations"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_delegations_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegate_id"], ["users.id"], name="fk_delegations_delegate_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_delegations_delegate_id", "delegations", ["delegate_id", "ends_at"])
    with op.batch_alter_table("history") as batch:
        batch.add_column(sa.Column("on_behalf_of", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("history") as batch:
        batch.drop_column("on_behalf_of")
    op.drop_index("ix_delegations_delegate_id", table_name="delegations")
    op.drop_table("delegations")
    op.drop_index("ix_department_members_department_id", table_name="department_members")
    op.drop_table("department_members")
    op.drop_index("ix_department_paths_descendant_id", table_name="department_paths")
    op.drop_table("department_paths")
    op.drop_index("ix_departments_parent_id", table_name="departments")
    op.drop_table("departments")
