"""Numeric field types: integer, decimal and money.

Decimals are exact: the canonical value is a decimal.Decimal with exactly
`scale` places. A value with more places is refused rather than rounded,
because silently changing an amount someone typed is worse than asking again;
`quantize` is there for computed values, which are rounded on purpose.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, Strict, field_validator
from sqlalchemy.types import BigInteger, Numeric, TypeDecorator, TypeEngine

from .base import FieldValueError, Gettext
from .checked_spec import CheckedFieldSpec, StrictInt, check_range
from .number_text import typed_number
from .value_checks import to_decimal

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

# Enough digits for any value of the largest allowed precision (38), rounding included.
_EXACT = Context(prec=80, rounding=ROUND_HALF_UP)
_STEPS = {scale: Decimal(1).scaleb(-scale) for scale in range(0, 11)}  # 10 ** -scale, for every allowed scale


_DIGITS_RE = re.compile(r"[+-]?[0-9]+")


def _whole(raw: Any) -> int | None:
    """A whole number as a person or a client wrote it: digits only.

    "1e3", "1.0", 12.0 and Decimal("5.00") are refused although their value is whole: a
    decimal point or an exponent in a whole-number field is a sign that the wrong field or
    the wrong number was sent ("1.0" may be a version, "1e3" a mangled spreadsheet cell),
    and guessing would store something nobody wrote. Surrounding spaces are trimmed, as in
    every field; digits of other scripts ("١٢", "１２"), "1_000" and true/false are refused.
    """
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if _DIGITS_RE.fullmatch(text):
            return _in_range(Decimal(text))
    elif isinstance(raw, int) and not isinstance(raw, bool):
        return _in_range(Decimal(raw))
    value = to_decimal(raw, "a whole number")
    if value is None:
        return None
    if value != value.to_integral_value():
        raise FieldValueError.of("not_integer", "must be a whole number")
    if isinstance(raw, Decimal) and raw.as_tuple().exponent == 0:
        return _in_range(value)
    raise FieldValueError.of("not_integer_spelling",
                             "must be a whole number written with digits only ({n}, not {v})",
                             n=_plain(value), v=raw if isinstance(raw, str) else _plain_raw(raw))


def _plain(value: Decimal) -> str:
    try:
        return format(value.to_integral_value(), "f") if abs(value.adjusted()) < 40 else "…"
    except (ArithmeticError, ValueError):
        return "…"


def _plain_raw(raw: Any) -> str:
    return str(raw)[:40]


def _in_range(value: Decimal) -> int:
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise FieldValueError.of("too_large", "is too large for a whole-number field")
    return int(value)


class IntegerField(CheckedFieldSpec):
    """A whole number (64-bit). Accepts 12 and "12"; refuses 12.0, "1e3", 1.5, "1.5", "١٢" and true/false."""

    type: Literal["integer"] = "integer"
    min: StrictInt | None = Field(default=None, description="Smallest allowed value")
    max: StrictInt | None = Field(default=None, description="Largest allowed value")

    widget: ClassVar[str] = "integer"
    expression_kind: ClassVar[str | None] = "number"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq", "gte", "lte"})
    sortable: ClassVar[bool] = True

    def check_options(self) -> None:
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is not None and not BIGINT_MIN <= bound <= BIGINT_MAX:
                raise ValueError(f"{name} ({bound}) is outside the 64-bit integer range")
        check_range(self.min, self.max)

    def column_type(self) -> TypeEngine[Any]:
        return BigInteger()

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> int | None:
        return self.coerce(typed_number(values[-1]) if values else None, tz=tz)  # "1,000", "１０００"

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> int | None:
        value = _whole(raw)
        if value is None:
            return None
        if self.min is not None and value < self.min:
            raise FieldValueError.of("too_small", "must be at least {n}", n=self.min)
        if self.max is not None and value > self.max:
            raise FieldValueError.of("too_large", "must be at most {n}", n=self.max)
        return value

    def quantize(self, value: Decimal | int | float | str) -> int:
        """A number the engine computed or converted (not typed): 6.00 is 6; a fraction is refused, not rounded."""
        number = to_decimal(value)
        if number is None:
            raise FieldValueError.of("type", "a number is needed")
        if number != number.to_integral_value():
            raise FieldValueError.of("not_integer", "must be a whole number")
        return _in_range(number)

    def from_db(self, value: Any) -> int | None:
        return None if value is None else int(value)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value)


    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.min is not None:
            schema["minimum"] = self.min
        if self.max is not None:
            schema["maximum"] = self.max
        return self._described(schema)


def _decimal_option(raw: Any) -> Decimal | None:
    """min/max of a decimal field, read the same way as values (never through binary float)."""
    try:
        return to_decimal(raw)
    except FieldValueError as exc:
        raise ValueError(exc.message) from None


DecimalOption = Annotated[Decimal | None, BeforeValidator(_decimal_option)]


# A binary float holds 15 significant decimal digits faithfully (DBL_DIG); past that, the float
# may already differ from the amount someone wrote, so it is refused rather than stored.
_FLOAT_DIGITS = 15
_EXPONENT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")


def _check_spelling(raw: Any) -> None:
    """An amount is written out in full: no exponent in text ("1e3"); a float too long to be exact is refused
    by `_check_float` (after the places and size checks, whose messages say more).

    Browsers let a number input send "1e3"; a person means an amount, not a power of ten, so the
    amount is asked for again instead of read as 1000. JSON numbers reach the API as exact
    decimals (api/body.py) and are not affected; a float only comes from Python callers.
    """
    if isinstance(raw, str) and ("e" in raw or "E" in raw) and _EXPONENT_RE.fullmatch(raw.strip()):
        raise FieldValueError.of("exponent", "write the number in full, without an exponent ('{v}')", v=raw.strip()[:40])


def _check_float(raw: Any) -> None:
    if isinstance(raw, float) and math.isfinite(raw):
        digits = Decimal(repr(raw)).as_tuple().digits
        if len(digits) > _FLOAT_DIGITS:
            raise FieldValueError.of("float_precision",
                                     "has more digits than a floating-point number keeps exactly; send it as text")


def _places(value: Decimal) -> int:
    """Decimal places that carry information: 12.50 has 1, 1E+2 has 0.

    Read from the digits themselves: normalize() would round a very long input.
    """
    _, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0
    places = -int(exponent)
    end = len(digits)
    while places > 0 and end > 0 and digits[end - 1] == 0:
        end -= 1
        places -= 1
    return max(0, places)


class DecimalField(CheckedFieldSpec):
    """An exact decimal number with a fixed number of places (`scale`)."""

    type: Literal["decimal"] = "decimal"
    scale: Annotated[int, Strict(), Field(ge=0, le=10)] = Field(default=2, description="Digits after the decimal point")
    precision: Annotated[int, Strict(), Field(ge=1, le=38)] = Field(default=18, description="Total number of digits")
    min: DecimalOption = Field(default=None, description="Smallest allowed value")
    max: DecimalOption = Field(default=None, description="Largest allowed value")

    widget: ClassVar[str] = "decimal"
    expression_kind: ClassVar[str | None] = "number"
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq", "gte", "lte"})
    sortable: ClassVar[bool] = True

    def check_options(self) -> None:
        if self.precision < self.scale:
            raise ValueError(f"precision ({self.precision}) must be at least scale ({self.scale})")
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if _places(bound) > self.scale:
                raise ValueError(f"{name} ({bound}) has more decimal places than scale ({self.scale}) allows")
            try:
                self._fit(bound)
            except FieldValueError as exc:
                raise ValueError(f"{name} ({bound}) {exc.message}") from None
        check_range(self.min, self.max)

    # -- values -------------------------------------------------------------

    def _fit(self, value: Decimal) -> Decimal:
        """`value` with exactly `scale` places; refuses more places or too many digits."""
        int_digits = self.precision - self.scale
        if value != 0 and value.adjusted() >= int_digits:
            if int_digits == 0:
                raise FieldValueError.of("too_large", "must be less than 1 in absolute value")
            raise FieldValueError.of("too_large", "is too large: at most {n} digits before the decimal point", n=int_digits)
        if value.as_tuple().exponent == -self.scale:  # already `scale` places (a computed amount, quantized)
            return abs(value) if value == 0 else value
        if _places(value) > self.scale:
            if self.scale == 0:
                raise FieldValueError.of("scale", "must be a whole number (no decimal places)")
            raise FieldValueError.of("scale", "must have at most 1 decimal place" if self.scale == 1
                                     else "must have at most {n} decimal places", n=self.scale)
        fitted = value.quantize(_STEPS[self.scale], context=_EXACT)
        # -0.00 and 0.00 are the same amount; keep one spelling.
        return abs(fitted) if fitted == 0 else fitted

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> Decimal | None:
        return self.coerce(typed_number(values[-1]) if values else None, tz=tz)  # "1,200.50", "１２００"

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> Decimal | None:
        _check_spelling(raw)
        value = to_decimal(raw)
        if value is None:
            return None
        value = self._fit(value)
        _check_float(raw)
        if self.min is not None and value < self.min:
            raise FieldValueError.of("too_small", "must be at least {n}", n=self.min)
        if self.max is not None and value > self.max:
            raise FieldValueError.of("too_large", "must be at most {n}", n=self.max)
        return value

    def quantize(self, value: Decimal | int | float | str) -> Decimal:
        """Round a computed value half-up to `scale` places (ranges are not checked here)."""
        number = to_decimal(value)
        if number is None:
            raise FieldValueError.of("type", "a number is needed")
        try:
            rounded = number.quantize(_STEPS[self.scale], context=_EXACT)
        except InvalidOperation:
            raise FieldValueError.of("too_large", "is too large") from None
        return abs(rounded) if rounded == 0 else rounded

    def column_type(self) -> TypeEngine[Any]:
        return ExactDecimal(self.precision, self.scale)

    def from_db(self, value: Any) -> Decimal | None:
        # SQLite hands back a float-derived Decimal; PostgreSQL an exact one. Both
        # are brought back to exactly `scale` places (most already are: ExactDecimal and NUMERIC(p, s)).
        if type(value) is Decimal and value.is_finite() and value.as_tuple().exponent == -self.scale:
            return value
        number = to_decimal(value)
        if number is None:
            return None
        return number.quantize(_STEPS[self.scale], context=_EXACT)

    def db_reader(self, dialect_name: str) -> Callable[[Any], Any] | None:
        if dialect_name != "sqlite":
            return None
        exponent = -self.scale
        # ExactDecimal's count of the smallest unit: the Decimal it makes has `scale` places, as from_db keeps it.
        return lambda value: Decimal(int(value)).scaleb(exponent, _EXACT)  # exact: up to 38 digits, past the default 28

    def to_json(self, value: Any) -> str | None:
        return None if value is None else format(value, "f")

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        return f"{value:,.{self.scale}f}" if isinstance(value, Decimal) else str(value)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return [format(value, "f") if isinstance(value, Decimal) else str(value)]


    def widget_attrs(self) -> dict[str, Any]:
        attrs = super().widget_attrs()
        attrs["step"] = "1" if self.scale == 0 else "0." + "0" * (self.scale - 1) + "1"
        return attrs

    def type_details(self) -> list[str]:
        return [f"{self.scale} places"]

    def value_schema(self) -> dict[str, Any]:
        as_number: dict[str, Any] = {"type": "number"}
        if self.min is not None:
            as_number["minimum"] = float(self.min) if self.min % 1 else int(self.min)
        if self.max is not None:
            as_number["maximum"] = float(self.max) if self.max % 1 else int(self.max)
        fraction = rf"(\.[0-9]{{1,{self.scale}}})?" if self.scale else ""
        as_string = {"type": "string", "pattern": rf"^-?[0-9]+{fraction}$"}
        schema: dict[str, Any] = {
            "anyOf": [as_string, as_number],
            "format": "decimal",
            "x-scale": self.scale,
            "x-precision": self.precision,
        }
        if self.min is not None:
            schema["x-minimum"] = self.to_json(self.quantize(self.min))
        if self.max is not None:
            schema["x-maximum"] = self.to_json(self.quantize(self.max))
        return self._described(schema)


_CURRENCY_RE = re.compile(r"[A-Z]{3}")


class MoneyField(DecimalField):
    """A decimal amount in one currency fixed by the field (the value is the amount only)."""

    type: Literal["money"] = "money"  # type: ignore[assignment]
    currency: str = Field(default="CNY", description="ISO 4217 code, such as CNY, EUR or USD")

    widget: ClassVar[str] = "money"

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        if not _CURRENCY_RE.fullmatch(value):
            raise ValueError(f"currency must be a three-letter upper-case ISO 4217 code such as CNY or USD, not {value!r}")
        return value

    def value_schema(self) -> dict[str, Any]:
        schema = super().value_schema()
        schema["x-currency"] = self.currency
        return schema

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        if not isinstance(value, Decimal):
            return str(value)
        return f"{value:,.{self.scale}f} {self.currency}".strip()


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(p, s) where the database has it; a scaled 64-bit integer on SQLite.

    SQLite's NUMERIC affinity stores a REAL and loses digits past ~15, so there
    the value is kept as an integer count of the smallest unit (12.50 → 1250):
    exact, and it still sorts and compares numerically.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Any) -> TypeEngine[Any]:
        impl: TypeEngine[Any] = BigInteger() if dialect.name == "sqlite" else Numeric(self.precision, self.scale,
                                                                                        asdecimal=True)
        described: TypeEngine[Any] = dialect.type_descriptor(impl)
        return described

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return int(Decimal(value).scaleb(self.scale).to_integral_value())

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return Decimal(int(value)).scaleb(-self.scale)
