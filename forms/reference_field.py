"""The reference field type: the id of a record of another flow.

The field only knows that its value is a record id and which flow it names
(`flow`); whether that record exists, may be seen by the person writing and
passes `filter` is the engine's business (engine/records/references.py), as
is showing the target's title and link.
"""
from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field
from sqlalchemy.types import BigInteger, TypeEngine

from .base import FieldValueError
from .checked_spec import CheckedFieldSpec
from .value_checks import wrong_type

_ID_RE = re.compile(r"[0-9]+")
MAX_RECORD_ID = 2**63 - 1


class ReferenceField(CheckedFieldSpec):
    """A record of flow `flow`, stored as its id in an indexed column."""

    type: Literal["reference"] = "reference"
    flow: str = Field(description="Id of the flow whose records may be referred to")
    filter: str | None = Field(
        default=None,
        description="Which records may be picked: a condition over the target record, e.g. state == 'active'",
    )
    # Always indexed: the referenced record's page lists what refers to it, by this column.
    index: bool = Field(default=True, description="Filterable in lists (a reference always gets a database index)")

    widget: ClassVar[str] = "reference"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq"})
    sortable: ClassVar[bool] = False
    expression_kind: ClassVar[str | None] = "number"

    def check_options(self) -> None:
        if self.default is not None:
            raise ValueError("a reference cannot have a default (records differ from one database to another)")
        if self.unique:
            raise ValueError("a reference cannot be unique")

    def column_type(self) -> TypeEngine[Any]:
        return BigInteger()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            if not _ID_RE.fullmatch(text):
                raise FieldValueError.of("reference", "must be a record number, not {v}", v=repr(text[:40]))
            raw = int(text) if len(text) <= 19 else MAX_RECORD_ID + 1
        elif isinstance(raw, bool) or not isinstance(raw, int):
            raise wrong_type("a record number", raw)
        if not 1 <= raw <= MAX_RECORD_ID:
            raise FieldValueError.of("reference", "{v} is not a valid record number", v=raw)
        return int(raw)

    def from_db(self, value: Any) -> int | None:
        return None if value is None else int(value)

    def value_schema(self) -> dict[str, Any]:
        return self._described({"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID, "x-reference-flow": self.flow})

    def type_details(self) -> list[str]:
        return [f"a record of {self.flow}"]
