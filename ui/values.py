"""Field values as people read them and as form inputs hold them.

`display` turns a canonical value into text for a read-only view; `to_inputs`
turns it into the strings an HTML input holds, so a form re-shows exactly
what is stored (or what was typed, after a validation error).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from forms import FieldSpecBase
from forms.base import Gettext

__all__ = ["Gettext", "display", "from_json", "link_of", "to_inputs"]


def to_inputs(field: FieldSpecBase, value: Any, tz: ZoneInfo) -> list[str]:
    """The strings a form input shows for a canonical value (the field type decides)."""
    if value is None:
        return []
    return field.form_inputs(value, tz)


def from_json(field: FieldSpecBase, value: Any) -> Any:
    """A value as history stores it (JSON) back to its canonical form, best effort."""
    if value is None:
        return None
    try:
        return field.coerce(value)
    except Exception:  # noqa: BLE001 - history may hold values of an older revision
        return value


def display(field: FieldSpecBase, value: Any, tz: ZoneInfo, _: Gettext,
            user_names: Mapping[int, str] | None = None) -> str:
    """Text of a value for a read-only view ('' when empty); the field type decides."""
    if value is None or value == [] or value == "":
        return ""
    return field.display_text(value, tz, _, user_names)


def link_of(field: FieldSpecBase, value: Any) -> str | None:
    """A safe href for e-mail, phone and web-address values (the field type validated them)."""
    if not value:
        return None
    return field.link(value)
