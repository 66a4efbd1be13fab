"""Field values as people read them and as form inputs hold them.

`display` turns a canonical value into text for a read-only view; `to_inputs`
turns it into the strings an HTML input holds, so a form re-shows exactly
what is stored (or what was typed, after a validation error).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from forms import FieldSpecBase

Gettext = Callable[..., str]


def to_inputs(field: FieldSpecBase, value: Any, tz: ZoneInfo) -> list[str]:
    """The strings a form input shows for a canonical value."""
    if value is None:
        return []
    kind = field.type
    if kind == "multichoice":
        return [str(v) for v in value]
    if kind == "boolean":
        return ["true" if value else "false"]
    if kind in ("decimal", "money") and isinstance(value, Decimal):
        return [format(value, "f")]
    if kind == "datetime" and isinstance(value, datetime):
        return [value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")]
    if kind == "date" and isinstance(value, date):
        return [value.isoformat()]
    return [str(value)]


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
    """Text of a value for a read-only view ('' when empty)."""
    if value is None or value == [] or value == "":
        return ""
    kind = field.type
    if kind == "boolean":
        return _("Yes") if value else _("No")
    if kind == "choice":
        return str(getattr(field, "choices", {}).get(value, value))
    if kind == "multichoice":
        labels = getattr(field, "choices", {})
        return ", ".join(str(labels.get(v, v)) for v in value)
    if kind == "integer" and isinstance(value, int):
        return f"{value:,}"
    if kind in ("decimal", "money") and isinstance(value, Decimal):
        text = f"{value:,.{getattr(field, 'scale', 2)}f}"
        return f"{text} {getattr(field, 'currency', '')}".strip() if kind == "money" else text
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind == "user":
        try:
            uid = int(value)
        except (TypeError, ValueError):
            return str(value)
        return (user_names or {}).get(uid, f"#{uid}")
    return str(value)


def link_of(field: FieldSpecBase, value: Any) -> str | None:
    """A safe href for e-mail, phone and web-address values (the field type validated them)."""
    if not value:
        return None
    if field.type == "email":
        return f"mailto:{value}"
    if field.type == "phone":
        return "tel:" + "".join(ch for ch in str(value) if ch.isdigit() or ch == "+")
    if field.type == "url" and str(value).lower().startswith(("http://", "https://")):
        return str(value)
    return None
