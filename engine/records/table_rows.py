"""Line items in the write path: row computations, reading and writing the rows of a record.

The rows of a table field are part of the record's values (a list of dicts),
decided like any other value (engine/records/transitions.py) and written in
the same write transaction as the record row and its history row
(engine/records/records.py): one DELETE and one executemany INSERT per table
that changed, never a statement per row. Reading a record reads all rows of
each table field in one query.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from engine.language.expressions import EvaluationError
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.storage.registry import LiveFlow
from forms import FieldValueError


def compute_rows(flow: CompiledFlow, values: dict[str, Any], actor: Actor, now: datetime) -> dict[str, str]:
    """Fill in every row's computed fields (in place) and return the errors keyed `lines[2].amount`.

    A table that is present but empty becomes `[]`. Like the record's own computed fields, a value that
    cannot be computed yet stays empty, and one its field refuses is an error, never stored as empty."""
    errors: dict[str, str] = {}
    builtins = {"user": actor.expression_view(), "now": now, "today": now.astimezone(flow.timezone).date()}
    for name, table in flow.tables.items():
        if name not in values:
            continue
        rows = values[name]
        if rows is None:
            values[name] = rows = []
        if not table.order:
            continue
        fields = table.spec.fields
        for i, row in enumerate(rows):
            ctx = {**row, **builtins}
            for col in table.order:
                f = fields[col]
                value = None
                try:
                    raw = table.compute[col].evaluate(ctx)
                    if raw is not None and hasattr(f, "quantize"):
                        raw = f.quantize(raw)
                    value = None if raw is None else f.coerce(raw, tz=flow.timezone)
                except EvaluationError:
                    value = None
                except (FieldValueError, ArithmeticError) as exc:
                    errors[f"{name}[{i}].{col}"] = (exc.message if isinstance(exc, FieldValueError)
                                                     else "the computed value cannot be stored")
                row[col] = value
                ctx[col] = value
    return errors


def reads_missing_table(flow: CompiledFlow, computed: str, values: Mapping[str, Any]) -> bool:
    """Whether computed field `computed` aggregates a table whose rows are not in `values` (not loaded):
    it then keeps its stored value instead of being computed from no rows."""
    names = flow.compute[computed].names
    return any(t in names and t not in values for t in flow.tables)


def attach_rows(conn: Connection, live: LiveFlow, records: Mapping[int, dict[str, Any]]) -> None:
    """Put the rows of every table field into each record's values (one query per table field)."""
    ids = list(records)
    for name, rt in live.row_tables.items():
        found = rt.read(conn, ids)
        for rid, values in records.items():
            values[name] = found.get(rid, [])


def write_rows(conn: Connection, live: LiveFlow, record_id: int, values: Mapping[str, Any],
               changed: Iterable[str], *, new: bool = False) -> None:
    """Write the rows of the table fields named in `changed` (the others are left as they are)."""
    tables = live.row_tables
    for name in changed:
        rt = tables.get(name)
        if rt is not None:
            rows = values.get(name) or []
            if rows or not new:
                rt.replace(conn, record_id, rows, new=new)
