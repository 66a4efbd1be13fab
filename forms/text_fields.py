"""Text-valued field types: text, longtext, email, phone, url.

Values are stripped, brought to Unicode NFC (forms/unicode_text.py) and an
empty string becomes None. Control characters are
refused (a tab is fine; line breaks only in longtext), because they are
invisible in the UI and break exports.
"""
from __future__ import annotations

import ipaddress
import re
from datetime import tzinfo
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, Strict, field_validator, model_validator
from sqlalchemy.types import String, Text, TypeEngine

from .base import FieldValueError
from .checked_spec import CheckedFieldSpec, Length, PositiveLength
from .local_text import LocalText
from .pattern_rule import mismatch_message, split_pattern
from .unicode_text import nfc
from .value_checks import check_length, find_control_char, wrong_type


@lru_cache(maxsize=1024)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """Each flow's `pattern` is compiled once, however many values it checks."""
    return re.compile(pattern)


class _TextLike(CheckedFieldSpec):
    """Rules shared by the string-valued types."""

    min_length: Length | None = Field(default=None, description="Fewest characters allowed")
    max_length: PositiveLength = Field(default=200, description="Most characters allowed")

    multiline: ClassVar[bool] = False
    filter_ops: ClassVar[frozenset[str]] = frozenset({"eq"})
    sortable: ClassVar[bool] = True
    searchable: ClassVar[bool] = True
    expression_kind: ClassVar[str | None] = "text"

    def check_options(self) -> None:
        if self.min_length is not None and self.min_length > self.max_length:
            raise ValueError(f"min_length ({self.min_length}) must not be greater than max_length ({self.max_length})")

    def column_type(self) -> TypeEngine[Any]:
        return String(self.max_length)

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise wrong_type("text", raw)
        text = raw.replace("\r\n", "\n").replace("\r", "\n") if self.multiline else raw
        text = nfc(text.strip())
        if not text:
            return None
        bad = find_control_char(text, multiline=self.multiline)
        if bad is not None:
            if bad in "\n\r\u2028\u2029":
                raise FieldValueError.of("line_break", "must be a single line (no line breaks)")
            raise FieldValueError.of("control_char", "contains an invisible control character (U+{code})", code=f"{ord(bad):04X}")
        check_length(text, self.min_length, self.max_length)
        return self._check_format(text)

    def _check_format(self, text: str) -> str:
        """Type-specific syntax check; returns the canonical text."""
        return text

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        schema.update(self._format_schema())
        return self._described(schema)

    def _format_schema(self) -> dict[str, Any]:
        return {}

    def type_details(self) -> list[str]:
        return [f"at most {self.max_length} characters"]


class TextField(_TextLike):
    """A single line of text, optionally matching a regular expression."""

    type: Literal["text"] = "text"
    pattern: str | None = Field(default=None, description="Regular expression the whole value must match; "
                                "with its message: {regex: ..., message: ...}")
    pattern_message: LocalText | None = Field(default=None, description="Written as pattern: {regex: ..., message: ...}")

    widget: ClassVar[str] = "text"

    @model_validator(mode="before")
    @classmethod
    def _pattern_with_message(cls, data: Any) -> Any:
        return split_pattern(dict(data)) if isinstance(data, dict) else data

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compiled_pattern(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
        return value

    def _check_format(self, text: str) -> str:
        if self.pattern is not None and not compiled_pattern(self.pattern).fullmatch(text):
            raise FieldValueError(mismatch_message(self.pattern_message, self.help), "pattern")
        return text

    def _format_schema(self) -> dict[str, Any]:
        # JSON Schema patterns search; anchor them to mean "the whole value".
        return {"pattern": f"^(?:{self.pattern})$"} if self.pattern is not None else {}


class LongTextField(_TextLike):
    """Multi-line text; line endings are normalised to "\\n"."""

    type: Literal["longtext"] = "longtext"
    max_length: PositiveLength = Field(default=10000, description="Most characters allowed")

    multiline: ClassVar[bool] = True
    widget: ClassVar[str] = "longtext"
    preformatted: ClassVar[bool] = True
    filter_ops: ClassVar[frozenset[str]] = frozenset()
    sortable: ClassVar[bool] = False
    searchable: ClassVar[bool] = False
    expression_kind: ClassVar[str | None] = "text"

    def column_type(self) -> TypeEngine[Any]:
        return Text()


# atext of RFC 5322 plus any non-ASCII character (internationalised addresses).
_LOCAL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010FFFF-]+"
_LOCAL_RE = re.compile(rf"{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*")
# A DNS label: letters/digits (any script) and inner hyphens, at most 63 characters.
_LABEL_RE = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")


class EmailField(_TextLike):
    """An e-mail address. A pragmatic syntax check; the domain is lower-cased."""

    type: Literal["email"] = "email"
    max_length: Annotated[int, Strict(), Field(ge=1, le=254)] = Field(default=254, description="Most characters allowed")

    widget: ClassVar[str] = "email"

    def _check_format(self, text: str) -> str:
        if text.count("@") != 1:
            raise FieldValueError.of("email", "must be an e-mail address like name@example.com")
        local, domain = text.split("@")
        if not local or len(local) > 64 or not _LOCAL_RE.fullmatch(local):
            raise FieldValueError.of("email", "the part before '@' is not valid in an e-mail address ({v})", v=repr(local))
        domain = domain.lower()
        labels = domain.split(".")
        top = labels[-1]
        valid_top = top.startswith("xn--") or any(ch.isalpha() for ch in top)
        if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels) or not valid_top:
            raise FieldValueError.of("email", "the domain after '@' is not valid ({v})", v=repr(domain))
        return f"{local}@{domain}"

    def _format_schema(self) -> dict[str, Any]:
        return {"format": "email"}

    def link(self, value: Any) -> str | None:
        return f"mailto:{value}"


_PHONE_RE = re.compile(r"\+?[0-9 ()-]+")


class PhoneField(_TextLike):
    """A phone number, kept as typed: digits, spaces, a leading +, hyphens and parentheses."""

    type: Literal["phone"] = "phone"
    min_length: Length | None = Field(default=5, description="Fewest characters allowed")
    max_length: Annotated[int, Strict(), Field(ge=1, le=32)] = Field(default=32, description="Most characters allowed")

    widget: ClassVar[str] = "phone"

    def _check_format(self, text: str) -> str:
        if not _PHONE_RE.fullmatch(text):
            raise FieldValueError.of(
                "phone", "must be a phone number: digits, spaces, hyphens, parentheses and a leading +")
        if sum(ch.isdigit() for ch in text) < 3:
            raise FieldValueError.of("phone", "must be a phone number (too few digits)")
        return text

    def _format_schema(self) -> dict[str, Any]:
        return {"pattern": r"^\s*\+?[0-9 ()-]+\s*$"}

    def link(self, value: Any) -> str | None:
        return "tel:" + "".join(ch for ch in str(value) if ch.isdigit() or ch == "+")


_HOST_RE = re.compile(r"[\w-]+(?:\.[\w-]+)*\.?")


class UrlField(_TextLike):
    """An http or https address, kept as typed."""

    type: Literal["url"] = "url"
    max_length: PositiveLength = Field(default=2000, description="Most characters allowed")

    widget: ClassVar[str] = "url"

    def _check_format(self, text: str) -> str:
        if any(ch.isspace() for ch in text):
            raise FieldValueError.of("url", "must not contain spaces (write them as %20)")
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise FieldValueError.of("url", "is not a valid web address") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise FieldValueError.of("url", "must be a web address starting with http:// or https://")
        host = parts.hostname or ""
        if ":" in host:
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise FieldValueError.of("url", "has an invalid host name") from None
        elif not _HOST_RE.fullmatch(host):
            raise FieldValueError.of("url", "must name a host, as in https://example.com/")
        return text

    def _format_schema(self) -> dict[str, Any]:
        return {"format": "uri", "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://"}

    def link(self, value: Any) -> str | None:
        return str(value) if str(value).lower().startswith(("http://", "https://")) else None
