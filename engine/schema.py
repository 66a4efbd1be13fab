"""The engine's own tables (users, roles, flow revisions, history).

These are created and evolved by the Alembic revisions under migrations/;
this module is their description for queries, and a test keeps the two in
step. Flow tables are built separately (engine/tables.py).
"""
from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

from engine.db import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(254)),
    Column("password_hash", String(255)),
    Column("locale", String(16)),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

role_grants = Table(
    "role_grants", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Index("ix_role_grants_role", "role"),
)

flows = Table(
    "flows", metadata,
    Column("name", String(64), primary_key=True),
    Column("live_revision", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

flow_revisions = Table(
    "flow_revisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("yaml_text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("applied_by", Integer),
    Column("applied_at", UtcDateTime, nullable=False),
    Column("plan", JSON),
    UniqueConstraint("flow", "revision"),
)

history = Table(
    "history", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", Integer),
    Column("action", String(16), nullable=False),
    Column("transition", String(64)),
    Column("from_state", String(64)),
    Column("to_state", String(64)),
    Column("changes", JSON),
    Column("comment", Text),
    Column("revision", Integer),
    Index("ix_history_flow_record_id", "flow", "record_id", "id"),
)

assign_cursors = Table(
    "assign_cursors", metadata,
    Column("flow", String(64), primary_key=True),
    Column("state", String(64), primary_key=True),
    Column("last_user_id", Integer, nullable=False),
)
