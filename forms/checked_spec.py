"""The common parent of the concrete field types: load-time checks and schema helpers."""
from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, Strict, model_validator

from .base import FieldSpecBase, FieldValueError

# Integer options must be real integers in the flow file: no `true`, no "12".
Length = Annotated[int, Strict(), Field(ge=0)]
PositiveLength = Annotated[int, Strict(), Field(ge=1)]
StrictInt = Annotated[int, Strict()]


class CheckedFieldSpec(FieldSpecBase):
    """FieldSpecBase plus the checks a flow file gets when it is loaded.

    `check_options` (overridden per type) runs first, so that `default` is only
    tried against options that agree with each other.
    """

    @model_validator(mode="after")
    def _options_and_default(self) -> Self:
        self.check_options()
        if self.default is not None:
            try:
                self.coerce(self.default)
            except FieldValueError as exc:
                raise ValueError(f"default {self.default!r} does not fit this field: {exc.message}") from None
        return self

    def check_options(self) -> None:
        """Raise ValueError when the options contradict each other."""

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Add what every value schema carries: title, description, default, readOnly."""
        if self.title is not None:
            schema["title"] = self.title
        if self.help is not None:
            schema["description"] = self.help
        if self.default is not None:
            default = self.coerce(self.default)
            if default is not None:
                schema["default"] = self.to_json(default)
        if self.compute is not None:
            schema["readOnly"] = True
        return schema


def check_range(low: Any, high: Any, low_name: str = "min", high_name: str = "max") -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"{low_name} ({low}) must not be greater than {high_name} ({high})")
