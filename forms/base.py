"""The contract every field type fulfils.

A field type is a pydantic model (its YAML options) that also knows its column
type, how to turn an incoming value into the canonical Python value, how to
check constraints, how to serialise to JSON and its JSON Schema, how a value
reads as text and in a form input, which list filters and sorts it supports
and how a reload plan names it. It knows nothing of flows, states or roles.

A concrete type (one whose `type` has a default) registers itself in
FIELD_TYPES when its class is defined: no central list to edit.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.types import JSON, BigInteger, Integer, Numeric, String, TypeDecorator, TypeEngine

from forms.local_text import LocalText
from forms.messages import Message

Gettext = Callable[..., str]

FIELD_TYPES: dict[str, type[FieldSpecBase]] = {}
"""Field type name (the `type` key in a flow file) -> its spec class, in the order the classes were defined."""

# Attributes a widget may use, when the type has them (see `widget_attrs`).
_WIDGET_OPTIONS = ("max_length", "min_length", "min", "max", "scale", "currency", "pattern")


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
    title: LocalText | None = Field(default=None, description="Label shown to people")
    help: LocalText | None = Field(default=None, description="Help text under the input")
    required: bool = Field(default=False, description="Must be filled whenever the record is saved")
    default: Any = Field(default=None, description="Value a new record starts with")
    unique: bool = Field(default=False, description="No two records may share a value")
    index: bool = Field(default=False, description="Filterable in lists (gets a database index)")
    compute: str | None = Field(default=None, description="Expression over other fields; the field is read-only")
    renamed_from: str | None = Field(default=None, description="Former id of this field, so a reload renames the column")
    show_if: str | None = Field(default=None, description="Condition over other fields: shown (and written) only while it holds")
    required_if: str | None = Field(default=None, description="Condition over other fields: the field must be filled while it holds")
    fetch: str | None = Field(
        default=None,
        description="ref_field.target_field: copied from the referenced record when the reference is set or changed",
    )

    # The widget template is widgets/<widget>.html, looked up in ui/templates and then in the
    # `template_dir` of each registered type (so a type defined elsewhere brings its own).
    widget: ClassVar[str] = "text"
    template_dir: ClassVar[str | None] = None
    # The widget labels itself (a checkbox, a fieldset with a legend): the form adds no <label>.
    own_label: ClassVar[bool] = False
    # Read-only text keeps its line breaks.
    preformatted: ClassVar[bool] = False
    # The value has a column in the record's own table (a table field's rows live in a child table).
    stored_in_row: ClassVar[bool] = True

    # Lists: the filter operators it supports (of "eq", "gte", "lte"; none: not filterable even
    # when indexed), whether lists may sort by it, and the HTML input type of its range filters.
    filter_ops: ClassVar[frozenset[str]] = frozenset()
    sortable: ClassVar[bool] = False
    filter_input: ClassVar[str] = "text"
    # Lists: whether the text search (`q`) looks in it (a trigram index is made for it).
    searchable: ClassVar[bool] = False

    # Expressions: the kind of value it holds ("number", "text", "date", "datetime", "boolean"), so a
    # flow mixing kinds (`qty > 'abc'`) is refused when it loads; None: not checked.
    expression_kind: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.model_fields["type"].default
        if isinstance(name, str):
            register_field_type(name, cls)

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

    def db_reader(self, dialect_name: str) -> Callable[[Any], Any] | None:
        """One function from what the driver returns for this field's column (never NULL) to the canonical
        value, for a field that knows how its column is stored on this database: it then stands for the column
        type's result processor and `from_db` together (line rows are read on every write). None: those two."""
        return None

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

    # -- pages ----------------------------------------------------------------

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        """Text of a non-empty canonical value for a read-only view or a list."""
        return str(value)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        """The strings a form input shows for a non-empty canonical value."""
        return [str(value)]

    def link(self, value: Any) -> str | None:
        """A safe href for a non-empty value shown read-only (e-mail, phone, web address)."""
        return None

    def widget_attrs(self) -> dict[str, Any]:
        """Options the widget template reads (`f.attrs`): lengths, bounds, step, currency, pattern."""
        return {key: v for key in _WIDGET_OPTIONS if (v := getattr(self, key, None)) is not None}

    def widget_options(self) -> list[tuple[str, str]]:
        """(value, label) pairs of a fixed list to pick from (select boxes, checkboxes, list filters)."""
        return []

    # -- lists ----------------------------------------------------------------

    def filter_value(self, raw: Any, *, tz: tzinfo | None = None) -> Any:
        """What a list filter compares the column with, from the value given (None: no value given)."""
        value = self.coerce(raw, tz=tz)
        return None if value is None else self.to_db(value)

    # -- reload plans ---------------------------------------------------------

    def type_details(self) -> list[str]:
        """What a reload plan says after the type's name: 'at most 100 characters', '2 places'."""
        return []

    def describe_type(self) -> str:
        """The type as people say it: 'text (at most 100 characters)', 'decimal (2 places)'."""
        extra = self.type_details()
        return self.type + (f" ({'; '.join(extra)})" if extra else "")

    def column_family(self) -> str | None:
        """Columns of one family ("text", "number") change type in place on PostgreSQL
        (`ALTER COLUMN ... TYPE`) when a reload changes the type; None: rewritten into a new column."""
        return column_family(self.column_type())


def column_family(t: TypeEngine[Any]) -> str | None:
    """The family of a column type ("text", "number" or None)."""
    if isinstance(t, TypeDecorator):
        t = t.impl_instance
    if isinstance(t, String) and not isinstance(t, JSON):
        return "text"
    if isinstance(t, (Integer, BigInteger, Numeric)):
        return "number"
    return None


def register_field_type(name: str, cls: type[FieldSpecBase]) -> None:
    """Make `cls` the field type `name` (done by defining the class); a name is taken once."""
    known = FIELD_TYPES.get(name)
    if known is not None and known is not cls:
        raise TypeError(f"field type '{name}' is already defined by {known.__module__}.{known.__qualname__}")
    FIELD_TYPES[name] = cls


def unregister_field_type(name: str) -> None:
    """Forget the field type `name` (for types defined by a test or a plugin that is unloaded)."""
    FIELD_TYPES.pop(name, None)
