"""Reload plans for line items: the child tables of table fields (engine/storage/row_tables.py).

A table field is planned like a field, and its row fields like the columns of
a small table of their own, without losing a row:

* a new table field creates its child table; a new row field adds a column;
* `renamed_from:` on a table field renames its child table, on a row field
  renames the column; the rows stay with their records;
* a removed table field keeps its child table and rows, hidden (remembered in
  `retired_columns` like a removed field), and they come back with the field;
  a removed row field keeps its column and values, which come back with it;
* changing a row field's type is refused (give the row field another name):
  the rows would need converting, which this planner does not do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic.operations import ops
from sqlalchemy import Column, MetaData, func, inspect, select, table
from sqlalchemy.types import TypeEngine

from engine.evolve.column_types import describe, type_key
from engine.evolve.context import PlanContext, plural
from engine.evolve.model import ApplyContext, Step
from engine.evolve.schema_steps import CreateTable, RestoreColumn, RetireColumn, rename_column
from engine.storage.row_tables import build_row_table, row_table_name
from forms import FieldSpecBase, TableField


@dataclass(frozen=True)
class RenameTable(Step):
    old: str
    new: str

    def key(self) -> tuple[str, ...]:
        return ("rename_table", self.old, self.new)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.RenameTableOp(self.old, self.new))


@dataclass(frozen=True)
class AddRowColumn(Step):
    table_name: str
    name: str
    type_: TypeEngine[Any]

    def key(self) -> tuple[str, ...]:
        return ("add_column", f"{self.table_name}.{self.name}", repr(self.type_))

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        ctx.op.invoke(ops.AddColumnOp(self.table_name, Column(self.name, self.type_, nullable=True)))


@dataclass(frozen=True)
class RenameRowColumn(Step):
    table_name: str
    old: str
    new: str

    def key(self) -> tuple[str, ...]:
        return ("rename_column", f"{self.table_name}.{self.old}", self.new)

    @property
    def changes_schema(self) -> bool:
        return True

    def run(self, ctx: ApplyContext) -> None:
        rename_column(ctx, self.table_name, self.old, self.new)


def _tables_of(fields: dict[str, FieldSpecBase] | None) -> dict[str, TableField]:
    return {n: f for n, f in (fields or {}).items() if isinstance(f, TableField)}


def _count(ctx: PlanContext, table_name: str) -> int:
    return int(ctx.conn.execute(select(func.count()).select_from(table(table_name))).scalar() or 0)


def _records_with_rows(ctx: PlanContext, table_name: str) -> int:
    t = table(table_name, Column("record_id"))
    return int(ctx.conn.execute(select(func.count(t.c.record_id.distinct()))).scalar() or 0)


def plan_row_tables(ctx: PlanContext) -> None:
    flow = ctx.flow
    insp = inspect(ctx.conn)
    old_tables = _tables_of(ctx.old.fields if ctx.old else None)
    retired = {n: s for n, s in ctx.facts.retired.items() if isinstance(s, TableField)}
    new_tables = _tables_of(flow.fields)

    def exists(field: str) -> bool:
        return bool(insp.has_table(row_table_name(flow.name, field)))

    consumed: set[str] = set()
    for name, spec in new_tables.items():
        label = ctx.field_label(name)
        source: str | None = name if exists(name) else None
        old = spec.renamed_from
        if source is None and old is not None and old not in flow.fields and exists(old):
            source = old
        if source is None:
            ctx.step(CreateTable(build_row_table(flow.name, name, spec, MetaData())))
            ctx.change("fields", "table_added", name,
                       f"New table {label} with {plural(len(spec.fields), 'column')} "
                       f"({', '.join(spec.fields)}): a new table for its rows; existing records have no rows yet")
            continue
        consumed.add(source)
        source_table = row_table_name(flow.name, source)
        rows = _count(ctx, source_table)
        if source != name:
            ctx.step(RenameTable(source_table, row_table_name(flow.name, name)))
            ctx.change("fields", "table_renamed", name,
                       f"Table '{source}' is renamed to {label}: its {plural(rows, 'row')} stay with their records",
                       "data", count=rows)
        if source not in old_tables:
            n = _records_with_rows(ctx, source_table)
            ctx.change("fields", "table_restored", name,
                       f"Table {label} comes back: the kept rows of {plural(n, 'record')} "
                       f"({plural(rows, 'row')}) are visible again", "data", count=rows)
            if source in ctx.facts.retired:
                ctx.step(RestoreColumn(flow.name, source))
        old_spec = old_tables.get(source) or retired.get(source)
        _plan_row_fields(ctx, name, spec, old_spec, source_table, row_table_name(flow.name, name), insp, rows)
    for name, spec in old_tables.items():
        if name in consumed or name in new_tables:
            continue
        if not exists(name):
            continue
        table_name = row_table_name(flow.name, name)
        rows = _count(ctx, table_name)
        ctx.change("fields", "table_retired", name,
                   f"Table {ctx.field_label(name, ctx.old)} is removed from the form: its table and "
                   f"{plural(rows, 'row')} are kept, hidden, and come back if the field returns", "data", count=rows)
        ctx.step(RetireColumn(flow.name, name, spec))


def _plan_row_fields(ctx: PlanContext, name: str, spec: TableField, old: TableField | None, source_table: str,
                     table_name: str, insp: Any, rows: int) -> None:
    present = {c["name"] for c in insp.get_columns(source_table)} - {"record_id", "position"}
    old_fields = old.fields if old is not None else {}
    used: set[str] = set()
    for col, f in spec.fields.items():
        label = f"'{name}.{col}'"
        source = col if col in present else None
        if source is None and f.renamed_from and f.renamed_from in present and f.renamed_from not in spec.fields:
            source = f.renamed_from
        if source is None:
            ctx.step(AddRowColumn(table_name, col, f.column_type()))
            if old is not None:
                ctx.change("fields", "row_field_added", f"{name}.{col}",
                           f"New column {label} in table {ctx.field_label(name)}, {describe(f)}: "
                           "existing rows have no value yet")
            continue
        used.add(source)
        if source != col:
            ctx.step(RenameRowColumn(table_name, source, col))
            ctx.change("fields", "row_field_renamed", f"{name}.{col}",
                       f"Column '{name}.{source}' is renamed to {label}: the values of the "
                       f"{plural(rows, 'row')} stay", "data", count=rows)
        elif col not in old_fields and old is not None:
            ctx.change("fields", "row_field_restored", f"{name}.{col}",
                       f"Column {label} comes back: its kept values are visible again", "data")
        before = old_fields.get(source)
        if before is not None and type_key(before) != type_key(f):
            ctx.change("fields", "row_type_refused", f"{name}.{col}",
                       f"Column {label} changes from {describe(before)} to {describe(f)}; a row field's type "
                       "cannot change on reload: give the row field another name", "refused")
    for col in sorted(set(old_fields) - used):
        if col in present and col not in spec.fields:
            ctx.change("fields", "row_field_retired", f"{name}.{col}",
                       f"Column '{name}.{col}' is removed from the rows: its values are kept, hidden, "
                       "and come back if the row field returns", "data")
