"""Type changes of a field: is it one, how the column changes, and does every stored value convert.

A value converts when the new field accepts what the old field would show:
`new.coerce(old.to_json(old.from_db(value)))` — the same rules a clerk's input
meets, so the plan's count of values that would not convert is exact, and
apply writes exactly what the plan checked.

How the column changes, per database:
* `none`  — the stored form stays as it is (SQLite does not enforce text
  lengths, so a text length change is only a rule);
* `alter` — PostgreSQL changes the type in place (`ALTER COLUMN ... TYPE`),
  for changes within one family (text lengths, integer to decimal, more
  decimal places) whose cast gives the same values as the conversion; the
  field types say their family (`column_family`);
* `rewrite` — a new column is filled with the converted values, the old one is
  dropped and the new one takes its name.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal

from sqlalchemy import Column, Integer, column, select, table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import JSON, String, TypeEngine

from forms import FieldSpecBase, FieldValueError
from forms.base import column_family
from forms.messages import Message
from forms.number_fields import ExactDecimal

Strategy = Literal["none", "alter", "rewrite"]

# Keys of a field that say nothing about which values it accepts.
# choices_moved: what a reload does to records (engine/evolve/lookalikes.py), not a rule on values.
_PRESENTATION = {"title", "help", "default", "renamed_from", "index", "unique", "required", "compute",
                 "show_if", "required_if", "choices_moved"}
CHUNK = 5000
MAX_EXAMPLES = 5


def type_key(spec: FieldSpecBase) -> str:
    return f"{spec.type}:{spec.column_type()!r}"


def value_rules(spec: FieldSpecBase) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude=_PRESENTATION)


def _texty(t: TypeEngine[Any]) -> bool:
    return isinstance(t, String) and not isinstance(t, JSON)


def storage_key(t: TypeEngine[Any], dialect: Dialect) -> str:
    """How values of type `t` sit in the database (equal keys: nothing to convert)."""
    if dialect.name == "sqlite":
        if isinstance(t, ExactDecimal):
            return f"scaled-integer/{t.scale}"  # 12.50 is stored as 1250: the scale is in the data
        if _texty(t):
            return "text"
    return t.compile(dialect=dialect)


def strategy_for(old: TypeEngine[Any], new: FieldSpecBase, dialect: Dialect,
                 old_spec: FieldSpecBase | None = None) -> Strategy:
    """How the column of type `old` (of field `old_spec`, when known) becomes the column of field `new`."""
    if storage_key(old, dialect) == storage_key(new.column_type(), dialect):
        return "none"
    fam = old_spec.column_family() if old_spec is not None else column_family(old)
    if dialect.name == "postgresql" and fam is not None and fam == new.column_family():
        return "alter"
    return "rewrite"


def ignore_text_lengths_on_sqlite(context: Any, inspected_column: Any, metadata_column: Any,
                                  inspected_type: TypeEngine[Any], metadata_type: TypeEngine[Any]) -> bool | None:
    """Alembic `compare_type` hook: SQLite does not enforce VARCHAR lengths, so they are no difference."""
    if context.dialect.name == "sqlite" and _texty(inspected_type) and _texty(metadata_type):
        return False
    return None


def describe(spec: FieldSpecBase | None) -> str:
    """A field's type as people say it: 'text (at most 100 characters)', 'decimal (2 places)'."""
    return "an unknown type" if spec is None else spec.describe_type()


Converter = Callable[[Any], Any]


def converter(old: FieldSpecBase | None, new: FieldSpecBase, tz: tzinfo) -> Converter:
    """Stored value of the old field (as the driver returns it) → canonical value of the new field."""
    # A stored number becoming a whole number (decimal 12.00 -> integer 12) is a number the engine
    # converts, not one a clerk spells: the integer field's `quantize` takes 12.00 and refuses 12.50.
    numeric = old is not None and old.expression_kind == "number" and new.type == "integer" and hasattr(new, "quantize")

    def convert(value: Any) -> Any:
        if old is not None:
            value = old.to_json(old.from_db(value))
        if numeric and value is not None:
            value = new.quantize(value)  # type: ignore[attr-defined]
        return new.coerce(value, tz=tz)
    return convert


def read_type(old: FieldSpecBase | None, reflected: TypeEngine[Any]) -> TypeEngine[Any]:
    return old.column_type() if old is not None else reflected


def stored_values(conn: Connection, table_name: str, name: str, type_: TypeEngine[Any]) -> Iterator[list[tuple[int, Any]]]:
    """Non-null values of one column in id order, in chunks (keyset pagination: no long cursor)."""
    t = table(table_name, column("id", Integer()), Column(name, type_))
    last = None
    while True:
        q = select(t.c.id, t.c[name]).where(t.c[name].is_not(None)).order_by(t.c.id).limit(CHUNK)
        if last is not None:
            q = q.where(t.c.id > last)
        rows = [(int(r[0]), r[1]) for r in conn.execute(q).all()]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


@dataclass(frozen=True)
class ValueCheck:
    checked: int
    failed: int
    examples: tuple[str, ...]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "...'"


def check_values(conn: Connection, table_name: str, name: str, type_: TypeEngine[Any], convert: Converter) -> ValueCheck:
    checked = failed = 0
    examples: list[str] = []
    for rows in stored_values(conn, table_name, name, type_):
        for record_id, value in rows:
            checked += 1
            try:
                convert(value)
            except (FieldValueError, TypeError, ValueError, ArithmeticError) as exc:
                failed += 1
                if len(examples) < MAX_EXAMPLES:
                    reason = exc.message if isinstance(exc, FieldValueError) else str(exc)
                    examples.append(Message("plan.value_example", "record #{id}: {value} — {reason}",
                                            id=record_id, value=_show(value), reason=reason))
    return ValueCheck(checked, failed, tuple(examples))
