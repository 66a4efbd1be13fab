"""Field values as spreadsheet cells and back, for one reader (language, time zone).

Out: numbers as numbers, money as numbers (the column carries the currency format), dates as dates,
datetimes as wall time in the reader's zone, choices as their labels, references as the target's title,
people as their names. In: the same forms are understood (and a choice's id, any language's label, a
reference by the target's title or any of its unique fields, a person by name or user name).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from engine.transfer.cells import Column, decimal_format, money_format
from forms import FieldSpecBase
from forms.local_text import pick

NOT_EXPORTED = frozenset({"table", "file"})


def field_column(f: FieldSpecBase, title: str) -> Column:
    """The column of a field's values."""
    t = f.type
    if t == "integer":
        return Column(title, "integer")
    if t == "money":
        return Column(title, "money", money_format(str(getattr(f, "currency", "")), int(getattr(f, "scale", 2))))
    if t == "decimal":
        return Column(title, "number", decimal_format(int(getattr(f, "scale", 2))))
    if t in ("date", "datetime", "boolean"):
        return Column(title, t)  # type: ignore[arg-type]
    return Column(title)


def choice_label(f: FieldSpecBase, key: str, lang: str | None, fallback: str | None) -> str:
    choices: Mapping[str, Any] = getattr(f, "choices", {})
    return pick(choices.get(key), lang, fallback) or key


def cell_value(f: FieldSpecBase, value: Any, *, tz: tzinfo, lang: str | None, fallback: str | None,
               titles: Mapping[int, str] | None = None, names: Mapping[int, str] | None = None) -> Any:
    """The cell of a field value (None for an empty one)."""
    if value is None or value == [] or value == "":
        return None
    t = f.type
    if t == "datetime" and isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)
    if t == "choice":
        return choice_label(f, str(value), lang, fallback)
    if t == "multichoice":
        return ", ".join(choice_label(f, str(v), lang, fallback) for v in value)
    if t == "reference":
        return (titles or {}).get(int(value))  # a target the reader may not see: empty
    if t == "user":
        return (names or {}).get(int(value))
    if isinstance(value, (bool, int, Decimal, date)):
        return value
    return str(value)
