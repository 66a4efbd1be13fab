"""Calendar field types: date and datetime.

A datetime is stored as an aware instant in UTC. A value without an offset
(an HTML datetime-local input, a naive Python datetime) is read as wall time
in the `tz` the caller passes (the flow's time zone), or UTC without one.
Wall times in a DST gap take the offset before the gap, ambiguous ones their
first occurrence (zoneinfo's fold=0), as the flow language's clock rules do.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field
from sqlalchemy.types import Date, DateTime, TypeEngine

from .base import FieldValueError, Gettext
from .checked_spec import CheckedFieldSpec, check_range
from .value_checks import wrong_type

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def _to_date(raw: Any) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        if raw.time() != time(0):
            raise FieldValueError.of("has_time", "must be a date without a time of day")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if not _DATE_RE.fullmatch(text):
            raise FieldValueError.of("date", "must be a date like 2026-10-01, not {v}", v=repr(text))
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise FieldValueError.of("date", "is not a valid date ({v}: {why})", v=text, why=str(exc)) from None
    raise wrong_type("a date", raw)


def _to_utc(raw: Any, tz: tzinfo | None) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if not _DATETIME_RE.fullmatch(text):
            raise FieldValueError.of(
                "datetime", "must be a date and time like 2026-10-01T09:30 or 2026-10-01T09:30:00+08:00, not {v}",
                v=repr(text))
        try:
            raw = datetime.fromisoformat(text)
        except ValueError as exc:
            raise FieldValueError.of("datetime", "is not a valid date and time ({v}: {why})", v=text, why=str(exc)) from None
    elif not isinstance(raw, datetime):
        raise wrong_type("a date and time", raw)
    if raw.tzinfo is None or raw.utcoffset() is None:
        raw = raw.replace(tzinfo=tz or UTC)
    try:
        converted: datetime = raw.astimezone(UTC)
        return converted
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00: no such instant in UTC
        raise FieldValueError.of("out_of_range", "is outside the supported range (years 1 to 9999, in UTC)") from None


def _option(parse: Any) -> BeforeValidator:
    def check(raw: Any) -> Any:
        try:
            return parse(raw)
        except FieldValueError as exc:
            raise ValueError(exc.message) from None

    return BeforeValidator(check)


class DateField(CheckedFieldSpec):
    """A calendar date (no time of day)."""

    type: Literal["date"] = "date"
    min: Annotated[date | None, _option(_to_date)] = Field(default=None, description="Earliest allowed date")
    max: Annotated[date | None, _option(_to_date)] = Field(default=None, description="Latest allowed date")

    widget: ClassVar[str] = "date"
    expression_kind: ClassVar[str | None] = "date"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq", "gte", "lte"})
    sortable: ClassVar[bool] = True
    filter_input: ClassVar[str] = "date"

    def check_options(self) -> None:
        check_range(self.min, self.max)

    def column_type(self) -> TypeEngine[Any]:
        return Date()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> date | None:
        value = _to_date(raw)
        if value is None:
            return None
        if self.min is not None and value < self.min:
            raise FieldValueError.of("too_early", "must be on or after {v}", v=self.min.isoformat())
        if self.max is not None and value > self.max:
            raise FieldValueError.of("too_late", "must be on or before {v}", v=self.max.isoformat())
        return value

    def from_db(self, value: Any) -> date | None:
        return _to_date(value)

    def to_json(self, value: Any) -> str | None:
        return None if value is None else value.isoformat()

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return [value.isoformat() if isinstance(value, date) else str(value)]

    def widget_attrs(self) -> dict[str, Any]:
        attrs = super().widget_attrs()
        for key in ("min", "max"):
            if key in attrs:
                attrs[key] = attrs[key].isoformat()
        return attrs

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "format": "date"}
        if self.min is not None:
            schema["formatMinimum"] = self.min.isoformat()
        if self.max is not None:
            schema["formatMaximum"] = self.max.isoformat()
        return self._described(schema)


def _utc_option(raw: Any) -> datetime | None:
    return _to_utc(raw, None)


class DateTimeField(CheckedFieldSpec):
    """An instant, stored in UTC. min/max without an offset are read in UTC."""

    type: Literal["datetime"] = "datetime"
    min: Annotated[datetime | None, _option(_utc_option)] = Field(default=None, description="Earliest allowed instant")
    max: Annotated[datetime | None, _option(_utc_option)] = Field(default=None, description="Latest allowed instant")

    widget: ClassVar[str] = "datetime"
    expression_kind: ClassVar[str | None] = "datetime"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq", "gte", "lte"})
    sortable: ClassVar[bool] = True

    def check_options(self) -> None:
        check_range(self.min, self.max)

    def column_type(self) -> TypeEngine[Any]:
        return DateTime(timezone=True)

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> datetime | None:
        value = _to_utc(raw, tz)
        if value is None:
            return None
        if self.min is not None and value < self.min:
            raise FieldValueError.of("too_early", "must be at or after {v}", v=_iso(self.min))
        if self.max is not None and value > self.max:
            raise FieldValueError.of("too_late", "must be at or before {v}", v=_iso(self.max))
        return value

    def from_db(self, value: Any) -> datetime | None:
        # SQLite (and some drivers) return naive values; what we stored was UTC.
        return _to_utc(value, UTC)

    def to_db(self, value: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def to_json(self, value: Any) -> str | None:
        return None if value is None else _iso(value)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return [value.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if isinstance(value, datetime) else str(value)]

    def widget_attrs(self) -> dict[str, Any]:
        # The input holds wall time in the flow's zone; bounds are instants: the engine checks them.
        attrs = super().widget_attrs()
        attrs.pop("min", None)
        attrs.pop("max", None)
        return attrs

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "format": "date-time"}
        if self.min is not None:
            schema["formatMinimum"] = _iso(self.min)
        if self.max is not None:
            schema["formatMaximum"] = _iso(self.max)
        return self._described(schema)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
