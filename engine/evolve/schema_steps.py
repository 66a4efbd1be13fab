"""Steps that change the flow table, run through Alembic's operations.

Adding a column or an index never copies the table (SQLite's ADD COLUMN only
edits the schema; PostgreSQL adds a nullable column without a rewrite). A
column whose values must be converted gets a new column filled by the field
types' own conversion, then takes the old one's name. SQLite older than 3.35
cannot drop or rename a column in place: there, and only there, batch mode
copies the table.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from alembic.operations import ops
from sqlalchemy import Column, Index, Integer, Table, bindparam, column, table, update
from sqlalchemy.types import TypeEngine

from engine.evolve.column_types import Strategy, converter, stored_values, type_key
from engine.evolve.model import ApplyContext, Step
from engine.evolve.table_facts import field_to_json, quoted
from engine.storage.schema import retired_columns
from forms import FieldSpecBase

NATIVE_DROP_COLUMN = sqlite3.sqlite_version_info >= (3, 35)
NATIVE_RENAME_COLUMN = sqlite3.sqlite_version_info >= (3, 25)


def _sqlite(ctx: ApplyContext) -> bool:
    return ctx.conn.dialect.name == "sqlite"


@dataclass(frozen=True)
class CreateTable(Step):
    table: Table

    def key(self) -> tuple[str, ...]:
        return ("create_table", self.table.name)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.CreateTableOp.from_table(self.table))
        for index in sorted(self.table.indexes, key=lambda i: str(i.name)):
            ctx.op.invoke(ops.CreateIndexOp.from_index(index))


@dataclass(frozen=True)
class AddColumn(Step):
    table_name: str
    name: str
    type_: TypeEngine[Any]

    def key(self) -> tuple[str, ...]:
        return ("add_column", self.name, repr(self.type_))

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.AddColumnOp(self.table_name, Column(self.name, self.type_, nullable=True)))


def rename_column(ctx: ApplyContext, table_name: str, old: str, new: str) -> None:
    if _sqlite(ctx) and not NATIVE_RENAME_COLUMN:
        with ctx.op.batch_alter_table(table_name, recreate="always") as batch:
            batch.alter_column(old, new_column_name=new)
        return
    ctx.op.invoke(ops.AlterColumnOp(table_name, old, modify_name=new))


def drop_column(ctx: ApplyContext, table_name: str, name: str) -> None:
    if _sqlite(ctx) and not NATIVE_DROP_COLUMN:
        with ctx.op.batch_alter_table(table_name, recreate="always") as batch:
            batch.drop_column(name)
        return
    ctx.op.invoke(ops.DropColumnOp(table_name, name))


@dataclass(frozen=True)
class RenameColumn(Step):
    table_name: str
    old: str
    new: str

    def key(self) -> tuple[str, ...]:
        return ("rename_column", self.old, self.new)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        rename_column(ctx, self.table_name, self.old, self.new)


@dataclass(frozen=True)
class DropIndex(Step):
    table_name: str
    name: str

    def key(self) -> tuple[str, ...]:
        return ("drop_index", self.name)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.DropIndexOp(self.name, table_name=self.table_name))


@dataclass(frozen=True)
class CreateIndex(Step):
    index: Index

    def key(self) -> tuple[str, ...]:
        cols = [c.name for c in self.index.columns]
        return ("create_index", str(self.index.name), *cols, "unique" if self.index.unique else "")

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.CreateIndexOp.from_index(self.index))


@dataclass(frozen=True)
class ConvertColumn(Step):
    """Change a field column's type; every stored value goes through the new field's conversion."""

    table_name: str
    name: str
    old: FieldSpecBase | None
    old_type: TypeEngine[Any]
    new: FieldSpecBase
    strategy: Strategy

    def key(self) -> tuple[str, ...]:
        return ("convert_column", self.name, self.strategy, type_key(self.new))

    @property
    def changes_schema(self) -> bool:
        return self.strategy != "none"

    def run(self, ctx: ApplyContext) -> None:
        if self.strategy == "alter":
            new_type = self.new.column_type()
            compiled = new_type.compile(dialect=ctx.conn.dialect)
            ctx.op.invoke(ops.AlterColumnOp(
                self.table_name, self.name, modify_type=new_type, existing_type=self.old_type,
                postgresql_using=f"{quoted(ctx.conn, self.name)}::{compiled}"))
        elif self.strategy == "rewrite":
            self._rewrite(ctx)

    def _rewrite(self, ctx: ApplyContext) -> None:
        tmp = f"{self.name[:50]}__converted"
        new_type = self.new.column_type()
        ctx.op.invoke(ops.AddColumnOp(self.table_name, Column(tmp, new_type, nullable=True)))
        target = table(self.table_name, column("id", Integer()), Column(tmp, new_type))
        write = update(target).where(target.c.id == bindparam("_id")).values({tmp: bindparam("_value")})
        convert = converter(self.old, self.new, ctx.flow.timezone)
        for rows in stored_values(ctx.conn, self.table_name, self.name, self.old_type):
            batch = []
            for record_id, value in rows:
                new_value = convert(value)
                batch.append({"_id": record_id, "_value": None if new_value is None else self.new.to_db(new_value)})
            ctx.conn.execute(write, batch)
        drop_column(ctx, self.table_name, self.name)
        rename_column(ctx, self.table_name, tmp, self.name)


@dataclass(frozen=True)
class RetireColumn(Step):
    """Remember a removed field's spec; its column and values stay where they are."""

    flow: str
    name: str
    spec: FieldSpecBase | None

    def key(self) -> tuple[str, ...]:
        return ("retire_column", self.name)

    def run(self, ctx: ApplyContext) -> None:
        ctx.conn.execute(retired_columns.delete().where(
            retired_columns.c.flow == self.flow, retired_columns.c.column_name == self.name))
        ctx.conn.execute(retired_columns.insert().values(
            flow=self.flow, column_name=self.name, field=field_to_json(self.spec) if self.spec else None,
            retired_revision=ctx.revision, retired_at=ctx.now))


@dataclass(frozen=True)
class RestoreColumn(Step):
    """A retired column is a field's column again."""

    flow: str
    name: str

    def key(self) -> tuple[str, ...]:
        return ("restore_column", self.name)

    def run(self, ctx: ApplyContext) -> None:
        ctx.conn.execute(retired_columns.delete().where(
            retired_columns.c.flow == self.flow, retired_columns.c.column_name == self.name))
