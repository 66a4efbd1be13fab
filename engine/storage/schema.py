"""The engine's own tables (users, roles, flow revisions, history).

These are created and evolved by the Alembic revisions under migrations/;
this module is their description for queries, and a test keeps the two in
step. Flow tables are built separately (engine/storage/tables.py).
"""
from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text,
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
    Column("phone", String(32)),  # for @-mentions in IM robot messages (migration 0010)
    Column("im_id", String(128)),  # the user's id in the office IM (WeCom userid, DingTalk userId, Feishu open_id)
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
    # Acting through an out-of-office delegation (migration 0007): the person the actor stood in for, who
    # was responsible; `actor_id` is who acted. NULL when people act for themselves.
    Column("on_behalf_of", Integer),
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

# --- attachments (migration 0006) ------------------------------------------------------------------

# One uploaded file: its content is in the file store under `sha256` (engine/files/store.py); the row
# keeps the name it was uploaded under and the media type its content was recognised as. An upload is
# pending (record_id NULL: only its uploader may use or read it) until a record's write refers to it;
# from then on it belongs to that record's field. `removed_at`: taken off the field again (kept, so the
# history can still name it and a later write may put it back).
files = Table(
    "files", metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("name", String(255), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("uploaded_by", Integer),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("record_id", BigInteger),
    Column("attached_at", UtcDateTime),
    Column("removed_at", UtcDateTime),
    Index("ix_files_flow_record_id", "flow", "record_id"),
    Index("ix_files_sha256", "sha256"),
)

# The database file store (RELAYFLOW_FILE_STORE=database): each content in chunks, under its sha256;
# `file_blobs` marks a content as complete. An upload writes its chunks under a temporary key and
# renames them when its hash is known, in one transaction.
file_blobs = Table(
    "file_blobs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)

file_chunks = Table(
    "file_chunks", metadata,
    Column("key", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

# --- departments and out-of-office delegation (migration 0007) -------------------------------------

# The org chart: a tree of departments (`parent_id`), each with an optional manager. `title` is flow-style
# text: a string or a mapping of language tags (forms/local_text.py).
departments = Table(
    "departments", metadata,
    Column("id", String(64), primary_key=True),
    Column("title", JSON, nullable=False),
    Column("parent_id", String(64), ForeignKey("departments.id", ondelete="RESTRICT")),
    Column("manager_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_departments_parent_id", "parent_id"),
)

# The closure of the tree: one row per (ancestor, descendant) pair, depth 0 for a department itself.
# "My department and those below it" is one indexed range, whatever the depth (engine/people/departments.py
# rebuilds it with every change of the tree).
department_paths = Table(
    "department_paths", metadata,
    Column("ancestor_id", String(64), ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("descendant_id", String(64), ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("depth", Integer, nullable=False),
    Index("ix_department_paths_descendant_id", "descendant_id", "depth"),
)

department_members = Table(
    "department_members", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", String(64), ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at", UtcDateTime, nullable=False),
    Index("ix_department_members_department_id", "department_id", "user_id"),
)

# Out of office: from `starts_at` until `ends_at` (exclusive) `delegate_id` stands in for `user_id`: sees
# their tasks in the inbox and may act on them ("on behalf of"). One setting per user.
delegations = Table(
    "delegations", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("delegate_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_delegations_delegate_id", "delegate_id", "ends_at"),
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
# --- approvals and urges (migration 0009) ------------------------------------------------------------

# One approver's task in a stage with `approval:` (engine/records/approvals.py). A round is the record's
# stay in the stage (`stage_start`); `seq` orders the tasks (an approver added before someone gets a lower
# one). `responsible_id` is who the task was first given to and never changes; `approver_id` is who holds
# it now (a hand-over moves it). status: pending | waiting (added after someone: waits for them) |
# approved | rejected | cancelled (the record left the stage undecided).
approval_tasks = Table(
    "approval_tasks", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("stage_start", UtcDateTime, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("approver_id", Integer, nullable=False),
    Column("responsible_id", Integer, nullable=False),
    Column("source", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("comment", Text),
    Column("decided_at", UtcDateTime),
    Column("decided_by", Integer),
    Column("on_behalf_of", Integer),
    Column("added_by", Integer),
    Column("waits_for", BigInteger),  # waiting: the task whose decision it waits for (added after someone)
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime),
    Column("warn_at", UtcDateTime),
    Index("ix_approval_tasks_flow_record_id", "flow", "record_id", "stage_start"),
    Index("ix_approval_tasks_approver_id", "approver_id", "status"),
    Index("ix_approval_tasks_approver_due", "approver_id", "status", "due_at", "id"),  # the inbox, in due order
)

# One urge (催办): who urged whom about a record in a state; the rate limit and the SLA report read it.
urges = Table(
    "urges", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("state", String(64), nullable=False),
    Column("stage_start", UtcDateTime),
    Column("at", UtcDateTime, nullable=False),
    Column("urged_by", Integer, nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("reason", Text),
    Index("ix_urges_flow_record_id", "flow", "record_id", "at"),
    Index("ix_urges_flow_state_at", "flow", "state", "at"),
)

# --- saved views of the data tables (migration 0010) -------------------------------------------------

# A view of a flow's records (engine/records/data_view.py `ViewSpec` as JSON in `definition`) under a
# name in any language. Personal (`shared_role` NULL: only its owner sees it) or shared with a role of the
# flow (engine/records/saved_views.py says who may share). `is_default`: the owner's default view of the
# flow (personal) or the role's (shared); at most one of each, kept so by the module.
saved_views = Table(
    "saved_views", metadata,
    Column("id", Integer, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("shared_role", String(64)),
    Column("definition", JSON, nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_saved_views_flow_owner_id", "flow", "owner_id"),
    Index("ix_saved_views_flow_shared_role", "flow", "shared_role"),
)

# Spreadsheet imports (engine/transfer): the column mapping a person chose last, per flow and user.
import_mappings = Table(
    "import_mappings", metadata,
    Column("flow", String(64), primary_key=True),
    Column("user_id", Integer, primary_key=True),
    Column("mapping", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One import: the uploaded file, its mapping, and the counts of its dry run or run as it goes (the page polls
# them). status: uploaded | running | done | failed. `problems` lists {sheet, row, column, text}.
import_jobs = Table(
    "import_jobs", metadata,
    Column("id", BigId, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("mapping", JSON),
    Column("status", String(16), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("total", Integer, nullable=False, default=0),
    Column("done", Integer, nullable=False, default=0),
    Column("counts", JSON),
    Column("problems", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Index("ix_import_jobs_user_id", "user_id", "created_at"),
)

# --- events to other systems and change notices (migration 0013) -------------------------------

# What an outbox message says, frozen in the transaction that wrote the message (engine/delivery/events.py:
# an event's JSON body, exactly as it is signed and sent; engine/delivery/change_notices.py: the fields a
# change notice names, with their values before and after). Keyed like its outbox row.
outbox_payloads = Table(
    "outbox_payloads", metadata,
    Column("dedupe_key", String(400), primary_key=True),
    Column("payload", Text, nullable=False),
)

# --- dashboard figures shared by servers and workers (migration 0015) ---------------------------------

# The last computed figures of a board for one visibility scope (engine/records/board_store.py): every
# server of a database reads them instead of computing its own, and a worker computes them again ahead of
# their expiry while somebody reads them. `scope` is "all" or "user:<id>:<roles>" (`user_id` that reader);
# `widgets` the JSON of engine/records/dashboards.py `Figures.widgets`; `lease_until`: a worker computes it.
dashboard_figures = Table(
    "dashboard_figures", metadata,
    Column("flow", String(64), primary_key=True),
    Column("board", Integer, primary_key=True),
    Column("scope", String(1000), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("user_id", Integer),
    Column("as_of", UtcDateTime, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("widgets", Text, nullable=False),
    Index("ix_dashboard_figures_computed_at", "computed_at"),
)
