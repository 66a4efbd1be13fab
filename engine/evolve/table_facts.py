"""What the database really holds for one flow: its table, columns, indexes and retired columns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from engine.storage.schema import retired_columns
from engine.storage.search_index import is_search_index
from engine.storage.tables import system_columns
from forms import FieldSpec, FieldSpecBase

SYSTEM_COLUMNS = frozenset(c.name for c in system_columns())
_FIELD: TypeAdapter[FieldSpecBase] = TypeAdapter(FieldSpec)


def field_from_json(data: Any) -> FieldSpecBase | None:
    """A field spec stored as JSON (retired columns); None when absent or no longer valid."""
    if not data:
        return None
    try:
        return _FIELD.validate_python(data)
    except ValueError:
        return None


def field_to_json(spec: FieldSpecBase) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_defaults=True) | {"type": spec.type}


@dataclass(frozen=True)
class TableFacts:
    name: str
    exists: bool
    columns: dict[str, TypeEngine[Any]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    retired: dict[str, FieldSpecBase | None] = field(default_factory=dict)

    @property
    def field_columns(self) -> list[str]:
        return [c for c in self.columns if c not in SYSTEM_COLUMNS]

    def indexes_on(self, column: str) -> list[str]:
        return [name for name, cols in self.indexes.items() if column in cols]


def read_facts(conn: Connection, flow: str, table_name: str) -> TableFacts:
    insp = inspect(conn)
    retired = {r.column_name: field_from_json(r.field) for r in
               conn.execute(select(retired_columns).where(retired_columns.c.flow == flow)).all()}
    if not insp.has_table(table_name):
        return TableFacts(table_name, False, retired=retired)
    columns = {c["name"]: c["type"] for c in insp.get_columns(table_name)}
    indexes = {str(ix["name"]): tuple(c for c in ix["column_names"] if c) for ix in insp.get_indexes(table_name)
               if ix.get("name") and not is_search_index(ix["name"])}
    return TableFacts(table_name, True, columns, indexes, retired)


def quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def count_rows(conn: Connection, table_name: str) -> int:
    return int(conn.execute(select(func.count()).select_from(table(table_name))).scalar() or 0)


def count_values(conn: Connection, table_name: str, column: str) -> int:
    q = f"SELECT count({quoted(conn, column)}) FROM {quoted(conn, table_name)}"
    return int(conn.execute(text(q)).scalar() or 0)


def distinct_states(conn: Connection, table_name: str) -> list[str]:
    """The states records are in, by a loose index scan (a few index lookups, not a table scan)."""
    t, s = quoted(conn, table_name), quoted(conn, "state")
    q = (f"WITH RECURSIVE seen(v) AS (SELECT min({s}) FROM {t} UNION ALL "
         f"SELECT (SELECT min({s}) FROM {t} WHERE {s} > seen.v) FROM seen WHERE seen.v IS NOT NULL) "
         "SELECT v FROM seen WHERE v IS NOT NULL")
    return [r[0] for r in conn.execute(text(q)).all()]
