"""The contract every field type fulfils.

A field type is a pydantic model (its YAML options) that also knows its column
type, how to turn an incoming value into the canonical Python value, how to
check constraints, how to serialise to JSON and its JSON Schema. It knows
nothing of flows, states or roles.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.types import TypeEngine

from forms.messages import Message


class FieldValueError(ValueError):
    """A value that does not fit its field. `message` is written for a person.

    `FieldValueError.of(code, template, **params)` makes the message a `Message`
    (forms/messages.py), which pages in other languages translate.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @classmethod
    def of(cls, code: str, template: str, /, **params: Any) -> FieldValueError:
        return cls(Message(code, template, **params), code)


class FieldSpecBase(BaseModel):
    """Options common to every field type (the keys a flow file may use)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Subclasses narrow this to a Literal so pydantic can discriminate on it.
    type: str
    title: str | None = Field(default=None, description="Label shown to people")
    help: str | None = Field(default=None, description="Help text under the input")
    required: bool = Field(default=False, description="Must be filled whenever the record is saved")
    default: Any = Field(default=None, description="Value a new record starts with")
    unique: bool = Field(default=False, description="No two records may share a value")
    index: bool = Field(default=False, description="Filterable in lists (gets a database index)")
    compute: str | None = Field(default=None, description="Expression over other fields; the field is read-only")
    renamed_from: str | None = Field(default=None, description="Former id of this field, so a reload renames the column")

    # Name of the widget template under ui/templates/widgets/.
    widget: ClassVar[str] = "text"

    def column_type(self) -> TypeEngine[Any]:
        raise NotImplementedError

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> Any:
        """Turn a Python/JSON/form value into the canonical value, or None when empty.

        Raises FieldValueError. Does not check `required` (the engine decides
        when a value must be present) but does check every other constraint.
        """
        raise NotImplementedError

    def from_db(self, value: Any) -> Any:
        """Canonical value from what the database driver returned."""
        return value

    def to_db(self, value: Any) -> Any:
        """What to hand the database driver for a canonical value."""
        return value

    def to_json(self, value: Any) -> Any:
        """JSON-compatible form of a canonical value (Decimal and dates as strings)."""
        return value

    def value_schema(self) -> dict[str, Any]:
        """JSON Schema of one value of this field (used for per-flow API models)."""
        raise NotImplementedError

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> Any:
        """Canonical value from the strings an HTML form posted under this field's name."""
        return self.coerce(values[-1] if values else None, tz=tz)

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == []
