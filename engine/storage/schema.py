"""The engine's own tables (users, roles, flow revisions, history).

These are created and evolved by the Alembic revisions under migrations/;
this module is their description for queries, and a test keeps the two in
step. Flow tables are built separately (engine/storage/tables.py).
"""
from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

from engine.storage.db import UtcDateTime

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

# A field removed from a flow keeps its column and data (migration 0004); its spec
# is remembered so that the values can be read again when the field comes back.
retired_columns = Table(
    "retired_columns", metadata,
    Column("flow", String(64), primary_key=True),
    Column("column_name", String(64), primary_key=True),
    Column("field", JSON),
    Column("retired_revision", Integer, nullable=False),
    Column("retired_at", UtcDateTime, nullable=False),
)

# --- API access (migration 0003): tokens, browser sessions, idempotency keys ---------------------

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", Integer),
    Column("expires_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index("ix_api_tokens_user_id", "user_id"),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "key"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# --- SLA results, the outbox and its delivery log, in-app notifications (migration 0002) -----------

sla_results = Table(
    "sla_results", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("met", Boolean, nullable=False),
    # Working seconds of the stage's clock: positive = done that much early, negative = that much late.
    Column("margin_seconds", Integer, nullable=False),
    Column("paused_seconds", Integer, nullable=False),
    Column("transition", String(64)),
    Column("actor_id", Integer),
    Index("ix_sla_results_flow_state_ended_at", "flow", "state", "ended_at"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", BigId, primary_key=True),
    # flow:record:state@stage-start:event[@instant]:recipient:channel — stable, unique, sent to receivers.
    Column("dedupe_key", String(400), nullable=False, unique=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("rule", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(300), nullable=False),
    Column("user_id", Integer),
    Column("address", String(254)),
    Column("due_at", UtcDateTime),
    Column("event_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # When the row may next be claimed: the retry time, or the end of a running claim's lease.
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("last_error", Text),
    Column("sent_at", UtcDateTime),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", BigId, primary_key=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("detail", Text),
    Index("ix_deliveries_outbox_id", "outbox_id"),
    Index("ix_deliveries_at", "at"),
)

notifications = Table(
    "notifications", metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("dedupe_key", String(400), nullable=False, unique=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Index("ix_notifications_user_id", "user_id", "read_at", "id"),
)

# --- the scheduler's bookkeeping (migration 0005) ---------------------------------------------------

# An SLA event (warn, breach, repeat) of one record, written by the scheduler pass; the worker fans it
# out into outbox rows, one per recipient and channel, and deletes it (engine/delivery/fanout.py).
sla_events = Table(
    "sla_events", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("stage_start", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime),
    Column("event_at", UtcDateTime, nullable=False),
    Column("assignee_id", Integer),
    Column("created_by", Integer),
    Index("ix_sla_events_flow_id", "flow", "id"),  # each flow's fan-out takes its oldest events
)

# Breached records whose stage repeats its reminder, by when the next one may be due: the index the
# repeat step reads (the record's own sla_next_remind_at stays the authority and is not indexed).
sla_repeats = Table(
    "sla_repeats", metadata,
    Column("flow", String(64), primary_key=True),
    Column("record_id", BigInteger, primary_key=True),
    Column("remind_at", UtcDateTime, nullable=False),
    Index("ix_sla_repeats_flow_remind_at", "flow", "remind_at"),
)

# Per flow: up to which instant warnings and breaches were looked for, under which flow revision.
sla_scans = Table(
    "sla_scans", metadata,
    Column("flow", String(64), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("scanned_until", UtcDateTime, nullable=False),
)

# A pause of an SLA stage (entering a `pause_sla` state until the stage resumes), so that a reload that
# recomputes running clocks knows exactly which working time did not count. `paused_seconds_before`
# is the stage's paused time before this pause: 0 on the first span of a fully recorded stage.
sla_pauses = Table(
    "sla_pauses", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("stage_start", UtcDateTime, nullable=False),
    Column("paused_at", UtcDateTime, nullable=False),
    Column("resumed_at", UtcDateTime),
    Column("paused_seconds_before", Integer, nullable=False),
    Index("ix_sla_pauses_flow_record_id", "flow", "record_id"),
)


# What a `fetch:` field copied from the referenced record, so the record page can tell when the source
# changed since (engine/records/references.py). `field` is the field id, or `table.row.field` for a
# field of a table row. One row per fetched field of a record; replaced on each fetch.
reference_fetches = Table(
    "reference_fetches", metadata,
    Column("flow", String(64), primary_key=True),
    Column("record_id", BigInteger, primary_key=True),
    Column("field", String(200), primary_key=True),
    Column("source_flow", String(64), nullable=False),
    Column("source_id", BigInteger, nullable=False),
    Column("value", JSON),
    Column("fetched_at", UtcDateTime, nullable=False),
)
