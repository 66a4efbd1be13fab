"""The write path's few statements, compiled once and run on the driver's cursor.

A transition runs three or four fixed statements. SQLAlchemy's general
execution path (cache-key lookup, execution context, result proxy) costs
several times what the driver itself takes for them, so these statements are
compiled once per dialect and parameter set, with their bind and result
processors taken from the column types (the public TypeEngine API), and run on
the DBAPI cursor of the SQLAlchemy connection that holds the transaction.
The line rows of a record go the same way (engine/storage/row_tables.py): read
with one converter per column (`FastSelect`), written by one executemany
(`FastInsertMany`). Everything else keeps using SQLAlchemy as usual.

They run where they are told: a write transaction (engine/storage/executor.py)
calls them on its connection, and a PostgreSQL read-ahead batch
(engine/storage/write_ahead.py) uses their compiled text to hold writes back instead.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, ColumnElement, CompoundSelect, Insert, Integer, Select, String, Table, Update, any_,
    bindparam, case, cast, func, literal_column, null, select, union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError

from engine.storage.db import UtcDateTime
from engine.storage.executor import held_writes

Processor = Callable[[Any], Any] | None


_last_utc_text: tuple[datetime | None, str] = (None, "")


def _sqlite_utc_text(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME stores for UtcDateTime (naive UTC, always six decimals), in one call.

    A write binds the same instant several times (created, updated, the clock's start, the history row):
    the text of the last one is kept (one tuple, replaced whole, so threads never see half of it)."""
    global _last_utc_text
    last = _last_utc_text
    if last[0] is value:
        return last[1]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_utc_text = (value, text)
    return text


def _bind_processor(type_: Any, dialect: Dialect) -> Processor:
    if dialect.name == "sqlite" and isinstance(type_, UtcDateTime):
        return _sqlite_utc_text  # the general path formats through two processors per value
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


class _Compiled:
    def __init__(self, stmt: Insert | Update | Select[Any], dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        names = list(compiled.positiontup or []) if self.positional else list(compiled.binds)
        self.names = names
        self.processors: list[tuple[str, Processor]] = [
            (name, _bind_processor(compiled.binds[name].type, dialect)) for name in names]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.positional:
            return tuple([v if (v := values[name]) is None or proc is None else proc(v) for name, proc in self.processors])
        return {name: v if (v := values[name]) is None or proc is None else proc(v) for name, proc in self.processors}


class FastStatements:
    """Compiled forms of one table's write statements, per dialect and parameter names."""

    def __init__(self, table: Table, select_by_id: Select[Any], insert_returning_id: Insert,
                 guarded_update: Update) -> None:
        self.table = table
        self._select = select_by_id
        self._insert = insert_returning_id
        self._update = guarded_update
        self._read_ahead: CompoundSelect[Any] | None = None
        self._insert_plain = table.insert()
        self._cache: dict[tuple[str, str, tuple[str, ...]], _Compiled] = {}
        self._result_procs: dict[str, list[tuple[str, Processor]]] = {}

    def _compiled(self, kind: str, stmt: Any, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        key = (dialect.driver, kind, keys)
        found = self._cache.get(key)
        if found is None:
            writes = kind in ("insert", "insert_with_id", "update")  # their keys name the columns written
            found = self._cache[key] = _Compiled(stmt, dialect, keys if writes else None)
        return found

    def _row_processors(self, dialect: Dialect, description: Sequence[Any]) -> list[tuple[str, Processor]]:
        """`description`: the cursor's (built per call by some drivers: read it only on the first call)."""
        procs = self._result_procs.get(dialect.driver)
        if procs is None:
            cols: Sequence[ColumnElement[Any]] = list(self._select.selected_columns)
            # The driver's type code of each result column decides some processors (PostgreSQL numerics).
            procs = self._result_procs[dialect.driver] = [
                (str(c.key), c.type.dialect_impl(dialect).result_processor(dialect, d[1]))
                for c, d in zip(cols, description)]
        return procs

    @staticmethod
    def _cursor(conn: Connection) -> Any:
        return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _run(self, conn: Connection, compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        cur = self._cursor(conn)
        try:
            cur.execute(compiled.sql, compiled.params(values))
        except conn.dialect.loaded_dbapi.IntegrityError as exc:
            cur.close()
            raise IntegrityError(compiled.sql, None, exc) from exc
        return cur

    def select_by_id(self, conn: Connection, record_id: int) -> dict[str, Any] | None:
        compiled = self._compiled("select", self._select, conn.dialect, ("_rid",))
        cur = self._run(conn, compiled, {"_rid": record_id})
        raw = cur.fetchone()
        procs = self._result_procs.get(conn.dialect.driver) or self._row_processors(conn.dialect, cur.description)
        cur.close()
        if raw is None:
            return None
        return {name: (proc(v) if proc is not None else v) for (name, proc), v in zip(procs, raw)}

    # Read-ahead of a PostgreSQL group (engine/storage/write_ahead.py).

    def read_ahead_statement(self, dialect: Dialect, record_ids: list[int], new_ids: int) -> tuple[str, Any]:
        """The rows of `record_ids` and `new_ids` ids of the table's sequence (for creates whose INSERT
        is held back), in one statement: the rows, then one row per id with only `_new_id` set."""
        if self._read_ahead is None:
            columns = list(self._select.selected_columns)
            rows = select(*columns, cast(null(), BigInteger).label("_new_id")).where(
                self.table.c.id == any_(bindparam("_ids", type_=ARRAY(BigInteger))))
            sequence = func.pg_get_serial_sequence(bindparam("_table", type_=String()), literal_column("'id'"))
            ids = select(*[null() for _ in columns], func.nextval(sequence)).select_from(
                func.generate_series(literal_column("1"), bindparam("_count", type_=Integer())))
            self._read_ahead = union_all(rows, ids)
        compiled = self._compiled("read_ahead", self._read_ahead, dialect, ("_ids", "_table", "_count"))
        return compiled.sql, compiled.params({"_ids": record_ids, "_table": self.table.name, "_count": new_ids})

    def read_ahead_rows(self, dialect: Dialect, description: Any,
                        rows: Sequence[Sequence[Any]]) -> tuple[list[dict[str, Any]], list[int]]:
        """What read_ahead_statement found: the rows (as select_by_id gives them) and the new ids."""
        if not rows:
            return [], []
        procs = self._row_processors(dialect, description)
        found = [{name: (proc(v) if proc is not None else v) for (name, proc), v in zip(procs, raw)}
                 for raw in rows if raw[-1] is None]
        return found, [int(raw[-1]) for raw in rows if raw[-1] is not None]

    def insert_with_id(self, dialect: Dialect, row: Mapping[str, Any]) -> tuple[str, Any]:
        """The INSERT of a row whose id is given (reserved ahead): its text and bound parameters."""
        compiled = self._compiled("insert_with_id", self._insert_plain, dialect, tuple(row))
        return compiled.sql, compiled.params(row)

    def insert(self, conn: Connection, row: Mapping[str, Any]) -> int:
        compiled = self._compiled("insert", self._insert, conn.dialect, tuple(row))
        cur = self._run(conn, compiled, row)
        new_id = cur.fetchone()[0]
        cur.close()
        return int(new_id)

    def unified_update(self, dialect: Dialect, keys: tuple[str, ...], always: frozenset[str]) -> _Compiled:
        """The guarded UPDATE of several jobs at once (engine/storage/write_ahead.py): columns in `always` are set
        from `_v_<column>`; the others only where `_set_<column>` is true, else kept as they are."""
        kind = "unified_update:" + ",".join(sorted(always))
        found = self._cache.get((dialect.driver, kind, keys))
        if found is None:
            t = self.table
            sets: dict[str, Any] = {}
            for k in keys:
                value = bindparam(f"_v_{k}", type_=t.c[k].type)
                sets[k] = value if k in always else case(
                    (bindparam(f"_set_{k}", type_=Boolean()), value), else_=t.c[k])
            stmt = t.update().where(t.c.id == bindparam("_rid"), t.c.version == bindparam("_ver")).values(sets)
            found = self._cache[(dialect.driver, kind, keys)] = _Compiled(stmt, dialect, None)
        return found

    def update(self, conn: Connection, record_id: int, version: int, values: Mapping[str, Any]) -> int:
        """Rows updated (0 when the version no longer matches)."""
        compiled = self._compiled("update", self._update, conn.dialect, tuple(values))
        cur = self._run(conn, compiled, {**values, "_rid": record_id, "_ver": version})
        count = cur.rowcount
        cur.close()
        return int(count)


class FastInsert:
    """A plain INSERT of fixed columns (history rows, stage results)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._cache: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def compiled(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        key = (dialect.driver, keys)
        found = self._cache.get(key)
        if found is None:
            # inline(): no RETURNING of the new id, which nobody reads
            found = self._cache[key] = _Compiled(self.table.insert().inline(), dialect, keys)
        return found

    def __call__(self, conn: Connection, row: Mapping[str, Any]) -> None:
        """INSERT `row` on `conn`; on a read-ahead batch's connection, held back with the batch's writes
        (a helper given the transaction's connection, such as the stage results of a state entry)."""
        held = held_writes(conn)
        if held is not None:
            held.insert(self, row)
            return
        self.run(conn, row)

    def run(self, conn: Connection, row: Mapping[str, Any]) -> None:
        """INSERT `row` now."""
        compiled = self.compiled(conn.dialect, tuple(row))
        cur = FastStatements._cursor(conn)
        try:
            cur.execute(compiled.sql, compiled.params(row))
        finally:
            cur.close()


ColumnReader = Callable[[Dialect, int, Processor], Processor]
"""(dialect, index of the selected column, the column type's result processor) → what reads that column's values."""


class FastSelect:
    """A fixed SELECT (the rows of one record's table field) run on the driver's cursor, with the column
    types' result processors applied: a record's line rows are read on every write of it.

    `reader`: what reads each column instead of its type's result processor alone (a field's own reading,
    the field's `from_db` after the processor), decided once per driver so that each value costs one call."""

    def __init__(self, stmt: Select[Any], reader: ColumnReader | None = None) -> None:
        self._stmt = stmt
        self._reader = reader
        self._cache: dict[str, tuple[_Compiled, list[Processor] | None]] = {}

    def _converters(self, dialect: Dialect, description: Sequence[Any]) -> list[Processor]:
        out: list[Processor] = []
        for i, (c, d) in enumerate(zip(self._stmt.selected_columns, description)):
            proc = c.type.dialect_impl(dialect).result_processor(dialect, d[1])
            out.append(proc if self._reader is None else self._reader(dialect, i, proc))
        return out

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        dialect = conn.dialect
        found = self._cache.get(dialect.driver)
        if found is None:
            found = self._cache[dialect.driver] = (_Compiled(self._stmt, dialect, None), None)
        compiled, procs = found
        cur = FastStatements._cursor(conn)
        try:
            cur.execute(compiled.sql, compiled.params(params))
            raw = cur.fetchall()
            if procs is None:
                procs = self._converters(dialect, cur.description)
                self._cache[dialect.driver] = (compiled, procs)
        finally:
            cur.close()
        if not raw:
            return []
        pairs = list(enumerate(procs))
        used = [(i, p) for i, p in pairs if p is not None]
        if not used:
            return raw  # type: ignore[no-any-return]
        out = []
        for r in raw:
            row = list(r)
            for i, p in used:
                v = row[i]
                if v is not None:
                    row[i] = p(v)
            out.append(tuple(row))
        return out


def compose(first: Processor, then: Processor) -> Processor:
    """`then` after `first`, either of which may be missing; NULLs never reach them (the caller skips them)."""
    if first is None or then is None:
        return first if then is None else then

    def both(value: Any) -> Any:
        value = first(value)
        return None if value is None else then(value)
    return both


class FastInsertMany:
    """A plain INSERT of many rows at once (the line rows of a record): one executemany on the driver's
    cursor with the bind processors taken from the column types, compiled once per driver and columns."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[_Compiled, list[int], list[tuple[int, Callable[[Any], Any]]]]] = {}

    def run(self, conn: Connection, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT `rows`, each the values of the columns `keys` in that order, as the driver will bind them
        after the column types' processors."""
        dialect = conn.dialect
        found = self._cache.get((dialect.driver, keys))
        if found is None:
            compiled = _Compiled(self.table.insert().inline(), dialect, keys)
            found = self._cache[(dialect.driver, keys)] = (
                compiled, [keys.index(name) for name in compiled.names],
                [(j, proc) for j, (_name, proc) in enumerate(compiled.processors) if proc is not None])
        compiled, order, procs = found
        params: list[Any] = []
        for row in rows:
            bound = [row[i] for i in order]
            for j, proc in procs:
                if (v := bound[j]) is not None:
                    bound[j] = proc(v)
            params.append(tuple(bound) if compiled.positional else dict(zip(compiled.names, bound)))
        cur = FastStatements._cursor(conn)
        try:
            cur.executemany(compiled.sql, params)
        except conn.dialect.loaded_dbapi.IntegrityError as exc:
            raise IntegrityError(compiled.sql, None, exc) from exc
        finally:
            cur.close()
