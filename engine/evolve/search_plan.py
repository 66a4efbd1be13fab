"""The text search index in a plan: built for a new flow, rebuilt when the searchable fields change.

The index (engine/storage/search_index.py) covers the searchable fields by name, so
adding, removing, renaming or converting one of them drops it and builds it
again; a flow that no longer has a searchable field loses it. A live flow
whose table has no index yet (a database made before the index existed) gets
one: that is how existing databases are brought up to date, by the same plan
the server applies by itself at start.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.storage import search_index
from engine.evolve import schema_steps
from forms.message_parts import Count, Joined
from forms.messages import Message
from engine.evolve.context import PlanContext
from engine.evolve.plan_words import seconds_words
from engine.evolve.model import ApplyContext, Step

# Seconds per row and searchable column to build the index (bench/ui_pages.py, 1,000,000 records).
SEARCH_INDEX_SECONDS_PER_ROW = {"sqlite": 2.0e-6, "postgresql": 8.0e-6}


@dataclass(frozen=True)
class DropSearchIndex(Step):
    table_name: str

    def key(self) -> tuple[str, ...]:
        return ("drop_search_index", self.table_name)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        search_index.drop(ctx.conn, self.table_name)


@dataclass(frozen=True)
class CreateSearchIndex(Step):
    table_name: str
    columns: tuple[str, ...]

    def key(self) -> tuple[str, ...]:
        return ("create_search_index", self.table_name, *self.columns)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        search_index.create(ctx.conn, self.table_name, self.columns)


def _copies_table(ctx: PlanContext) -> bool:
    """The plan copies the table (Alembic batch mode on an old SQLite): dropping the old table drops the
    search index's triggers with it, whichever column the copy is for."""
    return ctx.dialect == "sqlite" and bool(
        (ctx.converted and not schema_steps.NATIVE_DROP_COLUMN)
        or (ctx.renamed_columns and not schema_steps.NATIVE_RENAME_COLUMN))


def plan_search(ctx: PlanContext) -> None:
    columns = tuple(sorted(search_index.search_fields(ctx.flow)))  # by name: moving fields in the file is no change
    wanted = search_index.wanted(ctx.conn, ctx.table_name, columns)
    existing = search_index.existing_ddl(ctx.conn, ctx.table_name) if ctx.facts.exists else []
    old_columns = set(search_index.search_fields(ctx.old)) if ctx.old is not None else set()
    touched = (set(columns) | old_columns) & (set(ctx.renamed_columns) | set(ctx.renamed_columns.values())
                                              | ctx.converted)
    if existing == wanted and not ((touched or _copies_table(ctx)) and existing):
        return
    if existing:
        ctx.step(DropSearchIndex(ctx.table_name))
    if not wanted:
        if existing:
            ctx.change("indexes", "search_index_dropped", ctx.table_name,
                       Message("plan.search_index_dropped", "The text search index is dropped: no field is searchable any more"))
        return
    ctx.step(CreateSearchIndex(ctx.table_name, columns))
    rows = ctx.rows()
    seconds = rows * len(columns) * SEARCH_INDEX_SECONDS_PER_ROW.get(ctx.dialect, 8e-6)
    words = {"fields": Joined.from_parts(ctx.field_label(c) for c in columns), "records": Count(rows, "record"),
             "duration": seconds_words(seconds)}
    ctx.change("indexes", "search_index_built", ctx.table_name, Message(
        "plan.search_index_rebuilt", "The text search index over {fields} is rebuilt over {records}: {duration}; "
        "writes to this flow wait meanwhile", **words) if existing else Message(
        "plan.search_index_built", "The text search index over {fields} is built over {records}: {duration}; "
        "writes to this flow wait meanwhile", **words), count=rows, seconds=seconds)
