"""Small value checks shared by several field types.

Every function raises FieldValueError with a message meant to follow a field's
label ("Quantity: must be a whole number"), so messages start in lower case and
never name the field themselves.
"""
from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from .base import FieldValueError

# ASCII digits only: Python's int()/Decimal() would also take "١٢" or "1_000".
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}


def kind_of(raw: Any) -> str:
    """How a person would call the kind of a value that has the wrong type."""
    if isinstance(raw, bool):
        return "true/false"
    if isinstance(raw, (int, float, Decimal)):
        return "a number"
    if isinstance(raw, str):
        return "text"
    if isinstance(raw, (list, tuple, set, frozenset)):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return type(raw).__name__


def wrong_type(expected: str, raw: Any) -> FieldValueError:
    return FieldValueError.of("type", f"must be {expected}, not {{kind}}", kind=kind_of(raw))


def find_control_char(text: str, *, multiline: bool) -> str | None:
    """First character a person cannot have meant to type, or None.

    Tabs are allowed everywhere, line breaks only in multi-line text. NUL and the other control
    characters are refused, and so is a lone surrogate (half of a character, which no database can
    store: PostgreSQL refuses NUL and both refuse to encode it).
    """
    if text.isprintable():  # no character of the categories Other or Separator (space aside): nothing to find
        return None
    for ch in text:
        if ch == "\t" or (multiline and ch == "\n"):
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or (not multiline and category in ("Zl", "Zp")):
            return ch
    return None


def text_problem(text: str, *, multiline: bool) -> str | None:
    """What is wrong with free text a person typed (a comment, a name), in words, or None."""
    bad = find_control_char(text, multiline=multiline)
    if bad is None:
        return None
    if bad in "\n\r\u2028\u2029":
        return "must be a single line (no line breaks)"
    return f"contains an invisible control character (U+{ord(bad):04X})"


def check_length(text: str, min_length: int | None, max_length: int | None) -> None:
    size = len(text)
    if min_length is not None and size < min_length:
        raise FieldValueError.of("too_short", "must be at least {n} characters long (has {has})", n=min_length, has=size)
    if max_length is not None and size > max_length:
        raise FieldValueError.of("too_long", "must be at most {n} characters long (has {has})", n=max_length, has=size)


def to_decimal(raw: Any, expected: str = "a number") -> Decimal | None:
    """Exact Decimal from int, Decimal, str or float (a float is read through its repr).

    Returns None for None and blank strings; refuses bool, NaN and infinities.
    """
    if raw is None:
        return None
    if type(raw) is Decimal:  # the common case first (values already read or computed)
        if not raw.is_finite():
            raise FieldValueError.of("not_finite", "must be a finite number")
        return raw
    if isinstance(raw, bool):
        raise wrong_type(expected, raw)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise FieldValueError.of("not_finite", "must be a finite number")
        # repr gives the shortest text that reads back as the same float: 0.1 -> "0.1".
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise FieldValueError.of("not_finite", "must be a finite number")
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if not _NUMBER_RE.fullmatch(text):
            if text.lower().lstrip("+-") in _NOT_FINITE:
                raise FieldValueError.of("not_finite", "must be a finite number")
            raise FieldValueError.of("not_a_number", f"must be {expected} ('{{v}}' is not a number)", v=_shorten(text))
        return Decimal(text)
    raise wrong_type(expected, raw)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ASCII_DIGITS_RE = re.compile(r"[0-9]+")


def ascii_whole(text: str, max_digits: int = 19) -> int | None:
    """The number `text` spells with the digits 0-9 only (at most `max_digits`), else None.

    `str.isdecimal()` and `int()` also take "١٢" (Arabic-Indic), "１２" (full width), "1_000"
    and " 12 ", and pydantic's lax int takes "1.0": an id, a version or a page size from a
    URL or a form is read with this instead.
    """
    if len(text) > max_digits or not _ASCII_DIGITS_RE.fullmatch(text):
        return None
    return int(text)
