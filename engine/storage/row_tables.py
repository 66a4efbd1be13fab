"""The child tables of line items: one per table field, one typed column per row field.

`rows_<flow>__<table field>` holds the rows of every record: `record_id` and
`position` (0, 1, 2 ... in the order the rows are shown) are the primary key,
then one nullable column per row field, typed by the row field's own
`column_type()`. Rows are never a JSON blob, so the database checks their
types and a reload can add, rename and keep row fields like record fields.

All rows of a record are read in one query per table field, and written with
one DELETE and one executemany INSERT (a step's rows change as a whole).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, bindparam, delete, select
from sqlalchemy.engine import Connection, Dialect

from engine.storage.executor import held_writes
from engine.storage.fastsql import FastInsertMany, FastSelect, Processor, compose
from engine.storage.schema import BigId
from engine.storage.tables import _name
from forms import FieldSpecBase, TableField

KEY_COLUMNS = ("record_id", "position")


def row_table_name(flow: str, field: str) -> str:
    """The child table of table field `field` (its id has no '__', so the name stays unambiguous)."""
    return _name(f"rows_{flow}__{field}")


def build_row_table(flow: str, field: str, spec: TableField, metadata: MetaData | None = None,
                    kept: Mapping[str, Any] | None = None) -> Table:
    """The child table of one table field; `kept`: retired row columns that stay (name → type)."""
    cols: list[Column[Any]] = [Column("record_id", BigId, primary_key=True, autoincrement=False),
                               Column("position", Integer, primary_key=True, autoincrement=False)]
    for name, f in spec.fields.items():
        cols.append(Column(name, f.column_type(), nullable=True))
    for name, type_ in (kept or {}).items():
        cols.append(Column(name, type_, nullable=True))
    return Table(row_table_name(flow, field), metadata or MetaData(), *cols)


class RowTable:
    """One table field's child table with its statements, built once per live flow revision."""

    def __init__(self, field: str, spec: TableField, table: Table) -> None:
        self.field, self.spec, self.table = field, spec, table
        t = table
        cols = [t.c[n] for n in spec.fields]
        self._names = tuple(spec.fields)
        self._select = select(t.c.record_id, *cols).where(
            t.c.record_id.in_(bindparam("_ids", expanding=True))).order_by(t.c.record_id, t.c.position)
        # One record (every write, every record page): a plain `=` run on the driver's cursor
        # (engine/storage/fastsql.py), where an expanding IN is rendered again on every execution. Each
        # value goes through its column type and its field's `from_db` in one call.
        self._fast_one = FastSelect(select(*cols).where(t.c.record_id == bindparam("_rid")).order_by(t.c.position),
                                    self._column_reader)
        self._delete = delete(t).where(t.c.record_id == bindparam("_rid"))
        self._insert = t.insert()
        self._fast_insert = FastInsertMany(t)
        self._insert_keys = KEY_COLUMNS + self._names
        self._to_db = [(n, _to_db(f)) for n, f in spec.fields.items()]

    def _column_reader(self, dialect: Dialect, i: int, processor: Processor) -> Processor:
        """Row field `i` read as its field reads it on this database, else its column type then its `from_db`."""
        f = self.spec.fields[self._names[i]]
        return f.db_reader(dialect.name) or compose(processor, _from_db(f))

    def read(self, conn: Connection, record_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """record id → its rows (canonical values, in position order), for every record asked for."""
        names = self._names
        if len(record_ids) == 1:
            return {record_ids[0]: [dict(zip(names, r)) for r in self._fast_one.rows(conn, {"_rid": record_ids[0]})]}
        out: dict[int, list[dict[str, Any]]] = {rid: [] for rid in record_ids}
        if not record_ids:
            return out
        fields = self.spec.fields
        for r in conn.execute(self._select, {"_ids": list(record_ids)}):
            row = {}
            for name, v in zip(names, r[1:]):
                row[name] = None if v is None else fields[name].from_db(v)
            out[r[0]].append(row)
        return out

    def replace(self, conn: Connection, record_id: int, rows: Iterable[Mapping[str, Any]], *, new: bool = False) -> None:
        """The record's rows become `rows` (DELETE of the old ones unless the record is `new`, then one
        executemany INSERT)."""
        if not new:
            conn.execute(self._delete, {"_rid": record_id})
        to_db = self._to_db
        values = [(record_id, i, *[(None if (v := row.get(n)) is None else (v if f is None else f(v))) for n, f in to_db])
                  for i, row in enumerate(rows)]
        if not values:
            return
        if held_writes(conn) is None:
            self._fast_insert.run(conn, self._insert_keys, values)
        else:  # a read-ahead batch's connection: its listener sends the held-back writes first
            keys = self._insert_keys
            conn.execute(self._insert, [dict(zip(keys, v)) for v in values])


def _from_db(f: FieldSpecBase) -> Callable[[Any], Any] | None:
    """The field's `from_db`, or None where it keeps the driver's value as it is."""
    return None if type(f).from_db is FieldSpecBase.from_db else f.from_db


def _to_db(f: FieldSpecBase) -> Callable[[Any], Any] | None:
    """The field's `to_db`, or None where it hands the value on as it is."""
    return None if type(f).to_db is FieldSpecBase.to_db else f.to_db


def row_tables_of(flow: str, fields: Mapping[str, Any]) -> dict[str, RowTable]:
    """The child tables of a flow's table fields (field → RowTable)."""
    return {name: RowTable(name, f, build_row_table(flow, name, f))
            for name, f in fields.items() if isinstance(f, TableField)}
