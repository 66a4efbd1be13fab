"""Field types that pick from a fixed list: choice (one) and multichoice (several).

`choices` maps an id (what is stored and what expressions compare, e.g.
`qc_result == 'pass'`) to a label (what people read). Ids are always strings,
even when they look like numbers or YAML 1.1 booleans ("no", "yes").
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import tzinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator
from sqlalchemy.types import JSON, String, TypeEngine

from .base import FieldValueError, Gettext
from .local_text import LocalText, pick
from .checked_spec import CheckedFieldSpec, Length
from .unicode_text import nfc
from .value_checks import wrong_type


def _string_ids(raw: Any) -> Any:
    """Integer ids (`1: 一级`) become strings; boolean keys mean a YAML 1.1 reader mangled `no:`/`yes:`."""
    if not isinstance(raw, dict):
        return raw
    out: dict[Any, Any] = {}
    for key, label in raw.items():
        if isinstance(key, bool):
            raise ValueError(f"choice id {key!r} is not a string (quote it: '{str(key).lower()}')")
        key = str(key) if isinstance(key, int) else key
        out[nfc(key) if isinstance(key, str) else key] = label
    return out


Choices = Annotated[dict[str, LocalText], BeforeValidator(_string_ids)]


class _ChoiceBase(CheckedFieldSpec):
    choices: Choices = Field(description="Choice id -> label, in the order shown")
    choices_moved: dict[str, str] = Field(
        default_factory=dict,
        description="Removed choice id -> the choice that replaces it: a reload moves the records holding it")

    def _check_moves(self) -> None:
        for old, new in self.choices_moved.items():
            if old in self.choices:
                raise ValueError(f"choices_moved: '{old}' is still one of the choices; only a removed choice moves")
            if new not in self.choices:
                raise ValueError(f"choices_moved: '{old}' moves to '{new}', which is not one of the choices")

    def check_options(self) -> None:
        self._check_moves()

    @field_validator("choices")
    @classmethod
    def _usable_ids(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("choices must list at least one choice")
        for key in value:
            if not key.strip():
                raise ValueError("a choice id must not be empty")
            if key != key.strip():
                raise ValueError(f"choice id {key!r} must not start or end with spaces")
        return value

    def widget_options(self) -> list[tuple[str, str]]:
        return [(k, pick(v) or k) for k, v in self.choices.items()]  # the pages pick the reader's language

    def type_details(self) -> list[str]:
        return [", ".join(list(self.choices)[:6]) + (", ..." if len(self.choices) > 6 else "")]

    def _allowed(self) -> str:
        return ", ".join(self.choices)

    def _choice_id(self, raw: Any) -> str | None:
        """The id `raw` names, None for blank; refuses anything else."""
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise wrong_type(f"one of: {self._allowed()}", raw)
        key = nfc(raw.strip())
        if not key:
            return None
        key = self.choices_moved.get(key, key)  # an id a reload moved: what it became
        if key not in self.choices:
            raise FieldValueError.of("choice", "'{v}' is not one of the choices ({c})", v=key, c=self._allowed())
        return key

    def _labels_schema(self) -> dict[str, Any]:
        return {
            "enum": list(self.choices),
            "x-labels": dict(self.choices),
        }


class ChoiceField(_ChoiceBase):
    """One choice out of `choices`; the value is the choice id."""

    type: Literal["choice"] = "choice"

    widget: ClassVar[str] = "choice"
    expression_kind: ClassVar[str | None] = "text"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq"})
    sortable: ClassVar[bool] = True

    def column_type(self) -> TypeEngine[Any]:
        return String(max(32, *(len(key) for key in self.choices)))

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> str | None:
        return None if raw is None else self._choice_id(raw)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return _label(self.choices.get(value, value), _)

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", **self._labels_schema()}
        schema["oneOf"] = [{"const": key, "title": label} for key, label in self.choices.items()]
        return self._described(schema)


class MultiChoiceField(_ChoiceBase):
    """Several choices; the value lists their ids in the order of `choices`, each once."""

    type: Literal["multichoice"] = "multichoice"
    min_items: Length | None = Field(default=None, description="Fewest choices to pick")
    max_items: Length | None = Field(default=None, description="Most choices to pick")

    widget: ClassVar[str] = "multichoice"
    own_label: ClassVar[bool] = True

    def check_options(self) -> None:
        self._check_moves()
        if self.min_items is not None and self.max_items is not None and self.min_items > self.max_items:
            raise ValueError(f"min_items ({self.min_items}) must not be greater than max_items ({self.max_items})")
        if self.min_items is not None and self.min_items > len(self.choices):
            raise ValueError(f"min_items ({self.min_items}) is more than the {len(self.choices)} choices there are")

    def column_type(self) -> TypeEngine[Any]:
        return JSON()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> list[str] | None:
        if raw is None:
            return None
        items = [raw] if isinstance(raw, (str, int)) and not isinstance(raw, bool) else raw
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise wrong_type("a list of choices", raw)
        picked: set[str] = set()
        unknown: list[str] = []
        for item in items:
            try:
                key = self._choice_id(item)
            except FieldValueError as exc:
                if exc.code != "choice":
                    raise
                unknown.append(repr(str(item).strip()))
                continue
            if key is not None:
                picked.add(key)
        if unknown:
            raise FieldValueError.of(
                "choice", "{v} is not among the choices ({c})" if len(unknown) == 1
                else "{v} are not among the choices ({c})", v=", ".join(unknown), c=self._allowed())
        value = [key for key in self.choices if key in picked]
        if not value:
            return None
        if self.min_items is not None and len(value) < self.min_items:
            raise FieldValueError.of("too_few", "pick at least {n} (picked {has})", n=self.min_items, has=len(value))
        if self.max_items is not None and len(value) > self.max_items:
            raise FieldValueError.of("too_many", "pick at most {n} (picked {has})", n=self.max_items, has=len(value))
        return value

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> list[str] | None:
        return self.coerce(values, tz=tz)

    def from_db(self, value: Any) -> list[str] | None:
        if isinstance(value, str):  # a driver that hands JSON back as text
            value = json.loads(value)
        return list(value) if value else None

    def to_json(self, value: Any) -> list[str] | None:
        return None if value is None else list(value)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return ", ".join(_label(self.choices.get(v, v), _) for v in value)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return [str(v) for v in value]

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string", **self._labels_schema()},
            "uniqueItems": True,
        }
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return self._described(schema)


def _label(label: Any, _: Gettext) -> str:
    """A choice label in the language of the page that shows it (its translator's `locale`)."""
    return pick(label, getattr(_, "locale", None)) or ""
