"""The approver's inbox: pending tasks by due time come off an index (approver, status, due time, id) in order,
not from a sort of every pending task of theirs (tens of thousands for a finance clerk at 1,000,000 records).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_approval_tasks_approver_due", "approval_tasks", ["approver_id", "status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_approval_tasks_approver_due", table_name="approval_tasks")
