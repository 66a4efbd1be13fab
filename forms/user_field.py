"""The user field type: a reference to one user account by id."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field
from sqlalchemy.types import Integer, TypeEngine

from .base import FieldValueError, Gettext
from .checked_spec import CheckedFieldSpec
from .value_checks import wrong_type

_ID_RE = re.compile(r"[0-9]+")
_MAX_ID = 2**31 - 1  # the column is a 32-bit Integer


class UserField(CheckedFieldSpec):
    """A user id. `role` narrows who may be picked; the engine checks membership."""

    type: Literal["user"] = "user"
    role: str | None = Field(default=None, description="Only members of this role may be picked")

    widget: ClassVar[str] = "user"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq"})
    sortable: ClassVar[bool] = True

    def column_type(self) -> TypeEngine[Any]:
        return Integer()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            if not _ID_RE.fullmatch(text):
                raise FieldValueError.of("user", "must be a user id (a number), not {v}", v=repr(text))
            raw = int(text) if len(text) <= 10 else _MAX_ID + 1
        elif isinstance(raw, bool) or not isinstance(raw, int):
            raise wrong_type("a user id", raw)
        if not 1 <= raw <= _MAX_ID:
            raise FieldValueError.of("user", "{v} is not a valid user id", v=raw)
        return int(raw)

    def from_db(self, value: Any) -> int | None:
        return None if value is None else int(value)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        try:
            uid = int(value)
        except (TypeError, ValueError):
            return str(value)
        return (user_names or {}).get(uid, f"#{uid}")

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": _MAX_ID}
        if self.role is not None:
            schema["x-role"] = self.role
        return self._described(schema)
