"""The flow table against what the new revision needs, by Alembic's autogenerate comparison.

The target is a fresh MetaData holding only this flow's table: the system
columns, one column per field, the retired columns that stay, and the indexes.
`include_name` limits the comparison to that table, so the engine's own tables
and other flows' tables never show up as something to drop. Renames and
conversions were decided from the flow files (fields_plan); the comparison
supplies the columns and indexes to add or drop, and after apply the same
comparison must find nothing left.
"""
from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, Table, text
from sqlalchemy.engine import Connection

from engine.evolve.column_types import ignore_text_lengths_on_sqlite
from forms.message_parts import Count, Joined
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.evolve.estimates import index_seconds
from engine.evolve.plan_words import seconds_words
from engine.evolve.schema_steps import AddColumn, CreateIndex, CreateTable, DropIndex
from engine.evolve.table_facts import quoted
from engine.language.flow import CompiledFlow
from engine.storage.schema import NAMING
from engine.storage.search_index import is_search_index
from engine.storage.tables import build_flow_table

MAX_DUPLICATE_EXAMPLES = 5


def target_table(flow: CompiledFlow, kept: dict[str, Any]) -> Table:
    """The table the new revision needs, retired columns included (they are kept, never dropped)."""
    table = build_flow_table(flow, MetaData(naming_convention=NAMING))
    for name, type_ in kept.items():
        table.append_column(Column(name, type_, nullable=True))
    return table


def compare_table(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """Alembic's differences between the database and `table`, flattened to one tuple per difference."""
    def only_this_table(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "table":
            return name == table.name
        if type_ == "index" and is_search_index(name):
            return False  # the text search index is planned on its own (search_plan)
        return bool(parent_names.get("table_name", table.name) == table.name)

    ctx = MigrationContext.configure(conn, opts={
        "compare_type": ignore_text_lengths_on_sqlite, "include_name": only_this_table,
        "target_metadata": table.metadata})
    flat: list[tuple[Any, ...]] = []
    for diff in compare_metadata(ctx, table.metadata):
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def plan_schema(ctx: PlanContext) -> Table:
    table = target_table(ctx.flow, ctx.kept_columns)
    renamed_from = set(ctx.renamed_columns.values())
    # A table that does not exist yet needs no comparison (and reflection is the slow part on PostgreSQL).
    diffs = compare_table(ctx.conn, table) if ctx.facts.exists else [("add_table", table)]
    created = any(d[0] == "add_table" for d in diffs)
    for diff in diffs:
        kind = diff[0]
        if created and kind == "add_index":
            continue  # built with the new table
        if kind == "add_table":
            ctx.step(CreateTable(table))
            ctx.change("flow", "table_created", table.name,
                       Message("plan.table_created", "A new table {table} is created with a column for each of the "
                               "{fields}", table=table.name, fields=Count(len(ctx.flow.fields), "field")))
        elif kind == "add_column":
            col: Column[Any] = diff[3]
            if col.name not in ctx.renamed_columns:
                ctx.step(AddColumn(table.name, col.name, col.type))
                if col.name not in ctx.flow.fields:
                    ctx.change("flow", "system_column", col.name,
                               Message("plan.system_column", "The engine adds its column {column} to the table",
                                       column=col.name))
        elif kind == "remove_column":
            col = diff[3]
            if col.name not in renamed_from:  # cannot happen: every existing column is in the target
                ctx.change("fields", "unexpected", col.name,
                           Message("plan.column_dropped", "column {column} would be dropped", column=col.name), "refused")
        elif kind == "add_index":
            _add_index(ctx, diff[1])
        elif kind == "remove_index":
            index: Index = diff[1]
            ctx.step(DropIndex(table.name, str(index.name)))
            implied = {c.name for c in index.columns} & (renamed_from | set(ctx.kept_columns))
            if not implied and not any(d[0] == "add_index" and d[1].name == index.name for d in diffs):
                ctx.change("indexes", "index_dropped", str(index.name),
                           Message("plan.index_dropped", "The index {index} ({columns}) is dropped", index=str(index.name),
                                   columns=Joined.from_parts(c.name for c in index.columns)))
        elif kind == "modify_type":
            column_name = diff[3]
            if column_name not in ctx.converted and not _settled(ctx, column_name):
                ctx.change("fields", "unexpected", column_name,
                           Message("plan.column_type_by_hand", "Column {column} has type {found} in the database where "
                                   "{needed} is needed, and no field change explains it; the table was changed by hand",
                                   column=column_name, found=str(diff[5]), needed=str(diff[6])), "refused")
        else:
            ctx.change("flow", "unexpected", table.name,
                       Message("plan.table_by_hand", "The table differs from what the engine expects ({kind}); it was "
                               "changed by hand", kind=kind), "refused")
    _rebuild_indexes_of_converted(ctx, table)
    return table


def _settled(ctx: PlanContext, column_name: str) -> bool:
    """A type difference the fields planner decided needs no conversion on this database."""
    return any(c.kind == "type_changed" and c.subject == column_name for c in ctx.changes)


def _add_index(ctx: PlanContext, index: Index) -> None:
    cols = [c.name for c in index.columns]
    field = cols[0]
    rows = ctx.rows()
    seconds = index_seconds(ctx.dialect, rows)
    ctx.step(CreateIndex(index))
    if index.unique:
        dupes, examples = _duplicates(ctx, field)
        if dupes:
            ctx.change("indexes", "unique_refused", field,
                       Message("plan.unique_refused", "Field {field} becomes unique, but {values} are used by more "
                               "than one record; make them distinct first", field=ctx.field_label(field),
                               values=Count(dupes, "value")), "refused", count=dupes, examples=examples)
            return
    on = ctx.field_label(field) if field in ctx.flow.fields else Message(
        "plan.engine_index", "{columns} (the engine's {index})", columns=Joined.from_parts(cols), index=str(index.name))
    words = {"on": on, "records": Count(rows, "record"), "duration": seconds_words(seconds)}
    ctx.change("indexes", "index_added", field, Message(
        "plan.unique_index_added", "A unique index on {on} is built over {records}: {duration}; writes to this flow "
        "wait meanwhile", **words) if index.unique else Message(
        "plan.index_added", "An index on {on} is built over {records}: {duration}; writes to this flow wait meanwhile",
        **words), count=rows, seconds=seconds)


def _duplicates(ctx: PlanContext, column_name: str) -> tuple[int, tuple[str, ...]]:
    if not ctx.facts.exists or column_name not in ctx.facts.columns and column_name not in ctx.renamed_columns:
        return 0, ()
    source = ctx.renamed_columns.get(column_name, column_name)
    c, t = quoted(ctx.conn, source), quoted(ctx.conn, ctx.table_name)
    q = f"SELECT {c}, count(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1 ORDER BY count(*) DESC"
    rows = ctx.conn.execute(text(q)).all()
    examples = tuple(Message("plan.duplicate_value", "'{value}' is used by {n} records", value=str(v), n=int(n))
                     for v, n in rows[:MAX_DUPLICATE_EXAMPLES])
    return len(rows), examples


def _rebuild_indexes_of_converted(ctx: PlanContext, table: Table) -> None:
    """A rewritten column is dropped and replaced: its indexes go first and are built again after."""
    rewritten = {s.name for s in ctx.steps if getattr(s, "strategy", None) == "rewrite"}  # type: ignore[attr-defined]
    for name in sorted(rewritten):
        for index_name in ctx.facts.indexes_on(name):
            ctx.step(DropIndex(table.name, index_name))
        for index in table.indexes:
            if name in [c.name for c in index.columns]:
                ctx.step(CreateIndex(index))
