"""The yes/no field type."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Literal

from sqlalchemy.types import Boolean, TypeEngine

from .base import FieldValueError, Gettext
from .checked_spec import CheckedFieldSpec
from .value_checks import wrong_type

_TRUE = {"true", "on", "1"}
_FALSE = {"false", "off", "0"}


class BooleanField(CheckedFieldSpec):
    """True or false. From a form, an unticked checkbox (nothing posted) is False."""

    type: Literal["boolean"] = "boolean"

    widget: ClassVar[str] = "boolean"
    own_label: ClassVar[bool] = True
    expression_kind: ClassVar[str | None] = "boolean"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq"})

    def column_type(self) -> TypeEngine[Any]:
        return Boolean()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> bool | None:
        if raw is None or isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            word = raw.strip().lower()
            if not word:
                return None
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise FieldValueError.of("not_boolean", "must be true or false, not {v}", v=repr(raw.strip()))
        raise wrong_type("true or false", raw)

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> bool | None:
        # A checkbox posts nothing when unticked. With the usual hidden "false"
        # input before the checkbox, the last value posted wins.
        if not values:
            return False
        return self.coerce(values[-1], tz=tz)

    def from_db(self, value: Any) -> bool | None:
        return None if value is None else bool(value)

    def value_schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return _("Yes") if value else _("No")

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return ["true" if value else "false"]
