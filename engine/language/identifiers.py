"""Rules for identifiers: they become table names, column names and URL parts."""
from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Iterable

IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_IDENTIFIER_LENGTH = 48

# Columns every flow table has; a field may not take one of these names.
SYSTEM_COLUMNS = frozenset(
    {
        "id", "state", "version", "revision", "assignee_id", "assignee_role",
        "created_by", "created_at", "updated_by", "updated_at",
        "sla_state", "sla_started_at", "sla_due_at", "sla_warn_at", "sla_status",
        "sla_paused_at", "sla_paused_seconds", "sla_escalated", "sla_next_remind_at",
        "user", "now", "today", "record",
    }
)

# The engine's own tables; a flow's table (flow_<id>) must not be one of them.
ENGINE_TABLES = frozenset({"flow_revisions", "flows"})

# Words of the expression language (Python's keywords and Jinja2's constants): a field named so could not be read
# in a condition or a computation. (SQL's reserved words are fine: every statement quotes its column names, so
# `order`, `group` or `user_value` are ordinary fields; SQL_KEYWORDS below is kept for what else needs it.)
EXPRESSION_KEYWORDS = frozenset({*(k.lower() for k in keyword.kwlist), "true", "false", "none"})

# Reserved words of SQL:2016, PostgreSQL and SQLite that would need quoting.
SQL_KEYWORDS = frozenset(
    """
    abort action add after all alter always analyze and any array as asc attach authorization
    autoincrement before begin between both by cascade case cast check collate column commit
    conflict constraint create cross current current_date current_role current_time
    current_timestamp current_user database default deferrable deferred delete desc detach
    distinct do drop each else end escape except exclude exclusive exists explain fail
    false fetch filter first following for foreign from full generated glob grant group
    groups having if ignore immediate in index indexed initially inner insert instead intersect
    into is isnull join key last lateral leading left like limit localtime localtimestamp match
    materialized natural no not nothing notnull null nulls of offset on only or order others
    outer over partition plan pragma preceding primary query raise range recursive references
    regexp reindex release rename replace restrict returning revoke right rollback row rows
    savepoint select session_user set similar some symmetric table temp temporary then ties to
    trailing transaction trigger true unbounded union unique update user using vacuum values
    variadic verbose view virtual when where window with without
    """.split()
)


def identifier_problem(name: str, *, what: str, is_field: bool = False) -> str | None:
    """Why `name` cannot be used as an identifier, or None when it can."""
    if not IDENTIFIER_RE.match(name):
        return (
            f"{what} id '{name}' must be snake_case ASCII: a lower-case letter, then "
            "lower-case letters, digits or underscores"
        )
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"{what} id '{name}' is longer than {MAX_IDENTIFIER_LENGTH} characters"
    if what == "flow" and f"flow_{name}" in ENGINE_TABLES:
        return f"flow id '{name}' would share a table with the engine's own; choose another name"
    if is_field and name in EXPRESSION_KEYWORDS:  # a field is named in expressions: `and`, `if`, `none` cannot be
        return f"{what} id '{name}' is a word of the expression language; choose another name (e.g. '{name}_value')"
    if is_field and name in SYSTEM_COLUMNS:
        return f"field id '{name}' is reserved for a system column; choose another name"
    return None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ` — did you mean 'x'?` suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""
