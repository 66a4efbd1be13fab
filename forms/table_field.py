"""Line items: `type: table`, a list of rows whose columns are ordinary field specs.

The value of a table field is a list of rows, each a dict of the row fields'
canonical values (computed row fields included, filled in by the engine).
Nothing is stored in the parent record's own table: the engine keeps the rows
in a child table with one typed column per row field, keyed by the record id
and the row's position (engine/storage/row_tables.py). This module only knows
how a list of rows is checked, shown and described; it knows nothing of flows.

Errors inside the rows are located: `TableValueError.located` maps
`[2].quantity` (row 2, counted from 0, field `quantity`), `[2]` (the row
itself) or `` (the table as a whole) to a message for people.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema
from sqlalchemy.types import TypeEngine

from forms.base import FieldSpecBase, FieldValueError, Gettext
from forms.checked_spec import CheckedFieldSpec, Length, check_range
from forms.messages import Message
from forms.registry import FieldSpec

HARD_MAX_ROWS = 1_000
"""Rows a table may hold when its file sets no `max_rows` (a request cannot make a record unbounded)."""

NOT_IN_ROWS = frozenset({"table", "file"})
"""Field types a row cannot hold (a table in a table, files): refused when the flow loads."""


class TableValueError(FieldValueError):
    """Rows that do not fit: `located` maps a place inside the table ('' / '[i]' / '[i].field') to a message."""

    def __init__(self, located: dict[str, str]) -> None:
        first = next(iter(located.items()))
        super().__init__(first[1] if first[0] == "" else Message(
            "table_rows_invalid", "{n} problem(s) in the rows", n=len(located)), "invalid_rows")
        self.located = located

    def keyed(self, name: str) -> dict[str, str]:
        """The messages keyed for a whole record: `lines`, `lines[2]`, `lines[2].quantity`."""
        return {f"{name}{place}": message for place, message in self.located.items()}


# The row fields' schema in the flow language's JSON Schema: a field spec per row field (a table in a table is a
# load error, so the schema need not, and for want of recursion cannot, repeat the whole union here).
_ROW_FIELDS_SCHEMA = WithJsonSchema({
    "type": "object", "description": "The columns of a row: field id → a field spec (any single-value type)",
    "additionalProperties": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
})


class TableField(CheckedFieldSpec):
    type: Literal["table"] = "table"
    fields: Annotated[dict[str, FieldSpec], _ROW_FIELDS_SCHEMA] = Field(
        description="The columns of a row: field specs of any scalar type")
    min_rows: Length | None = Field(
        default=None, description="Rows written must number at least this many (checked whenever the rows are written)")
    max_rows: Length | None = Field(default=None, description=f"At most this many rows (default {HARD_MAX_ROWS:,})")

    widget: ClassVar[str] = "table"
    own_label: ClassVar[bool] = True
    stored_in_row: ClassVar[bool] = False

    def check_options(self) -> None:
        check_range(self.min_rows, self.max_rows, "min_rows", "max_rows")
        if self.max_rows is not None and self.max_rows > HARD_MAX_ROWS:
            raise ValueError(f"max_rows may be at most {HARD_MAX_ROWS:,}")
        for key in ("unique", "index", "compute", "default"):
            if getattr(self, key):
                raise ValueError(f"a table field cannot have `{key}` (its rows can; aggregates such as "
                                 "sum(lines, 'amount') go in a computed field of the record)")
        if not self.fields:
            raise ValueError("a table needs at least one row field under `fields`")

    @property
    def row_limit(self) -> int:
        return self.max_rows if self.max_rows is not None else HARD_MAX_ROWS

    @property
    def input_fields(self) -> dict[str, FieldSpecBase]:
        """Row fields a person or a client fills in (the computed ones left out)."""
        return {n: f for n, f in self.fields.items() if f.compute is None}

    def column_type(self) -> TypeEngine[Any]:
        raise TypeError("a table field has no column of its own: its rows live in a child table")

    # -- values ------------------------------------------------------------------

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> list[dict[str, Any]] | None:
        if raw is None:
            return []
        if not isinstance(raw, (list, tuple)):
            raise TableValueError({"": Message("table_not_list", "must be a list of rows")})
        located: dict[str, str] = {}
        if len(raw) > self.row_limit:
            raise TableValueError({"": Message("table_too_many_rows", "may have at most {n} rows", n=self.row_limit)})
        if self.min_rows is not None and len(raw) < self.min_rows:
            located[""] = Message("table_too_few_rows", "needs at least {n} rows", n=self.min_rows)
        rows: list[dict[str, Any]] = []
        fields = self.fields
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                located[f"[{i}]"] = Message("table_row_not_object", "each row must be an object of field values")
                continue
            row: dict[str, Any] = {}
            for key in item:
                if key not in fields:
                    located[f"[{i}].{key}"] = Message("table_unknown_row_field", "unknown field '{name}' in a row",
                                                      name=str(key)[:60])
            for name, f in fields.items():
                if f.compute is not None:  # not one of the input_fields
                    row[name] = None  # computed by the engine; a value sent for it is ignored
                    continue
                given = item.get(name, f.default)
                try:
                    value = f.coerce(given, tz=tz)
                except FieldValueError as exc:
                    located[f"[{i}].{name}"] = exc.message
                    continue
                if value is None or (f.is_empty(value)):
                    value = None
                    if f.required:
                        located[f"[{i}].{name}"] = Message("required", "this field is required")
                row[name] = value
            rows.append(row)
        if located:
            raise TableValueError(located)
        return rows

    def is_empty(self, value: Any) -> bool:
        return not value

    def to_json(self, value: Any) -> Any:
        return [{n: (None if v is None else self.fields[n].to_json(v)) for n, v in row.items() if n in self.fields}
                for row in value]

    def value_schema(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required = []
        for name, f in self.fields.items():
            core = dict(f.value_schema())
            meta = {k: core.pop(k) for k in ("title", "description", "default", "readOnly") if k in core}
            props[name] = {**meta, "anyOf": [core, {"type": "null"}]} if not f.required else {**meta, **core}
            if f.required and f.compute is None and f.default is None:
                required.append(name)
        row: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            row["required"] = required
        schema: dict[str, Any] = {"type": "array", "items": row, "maxItems": self.row_limit}
        if self.min_rows:
            schema["minItems"] = self.min_rows
        return self._described(schema)

    # -- pages -------------------------------------------------------------------

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        n = len(value) if isinstance(value, list) else 0
        return _("{n} rows", n=n) if n != 1 else _("1 row")

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return []  # a table's inputs are its cells (ui/table_view.py)

    def widget_attrs(self) -> dict[str, Any]:
        return {k: v for k, v in (("min_rows", self.min_rows), ("max_rows", self.row_limit)) if v is not None}

    # -- reload plans ---------------------------------------------------------------

    def type_details(self) -> list[str]:
        return [f"{len(self.fields)} columns: " + ", ".join(self.fields)]

    def column_family(self) -> str | None:
        return None
