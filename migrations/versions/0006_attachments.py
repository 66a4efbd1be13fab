"""Attachments: uploaded files and the database file store (issue: `type: file`).

* ``files``: one uploaded file (its content's sha256, size, recognised media type, the name it was
  uploaded under) and the record field it belongs to once a write attaches it.
* ``file_blobs`` / ``file_chunks``: the database file store (RELAYFLOW_FILE_STORE=database), the
  content of each file in chunks under its sha256. Unused with the folder store.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from engine.storage.db import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.Integer()),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("record_id", sa.BigInteger()),
        sa.Column("attached_at", UtcDateTime()),
        sa.Column("removed_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_flow_record_id", "files", ["flow", "record_id"])
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_table(
        "file_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_file_blobs"),
    )
    op.create_table(
        "file_chunks",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", "seq", name="pk_file_chunks"),
    )


def downgrade() -> None:
    op.drop_table("file_chunks")
    op.drop_table("file_blobs")
    op.drop_index("ix_files_sha256", table_name="files")
    op.drop_index("ix_files_flow_record_id", table_name="files")
    op.drop_table("files")
