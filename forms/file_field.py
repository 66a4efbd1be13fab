"""The file field type: attachments, one or several files per field.

The field's value is the list of the ids of its files (an id names one upload;
the content lives in a file store outside the record, see engine/files/). The
type only knows the shape of that value and the field's options: which kinds
of file it takes (`accept`, checked by content when a file is uploaded) and
how large one may be (`max_size`). It knows nothing of stores or records.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from sqlalchemy.types import JSON, TypeEngine

from .base import FieldValueError, Gettext
from .checked_spec import CheckedFieldSpec
from .value_checks import wrong_type

FILE_ID_RE = re.compile(r"[0-9a-f]{32}")
"""A file id: 128 random bits as hex (unguessable, so an id alone reveals nothing)."""

# What `accept` may name: the kind -> the media type its content must have. Each one is recognised
# by its content (engine/files/content.py), so the list holds only kinds with a reliable signature.
FILE_KINDS: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
KIND_NAMES: dict[str, str] = {
    "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
    "image/webp": "WebP",
}
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([KMG]?B?)\s*", re.IGNORECASE)
DEFAULT_MAX_SIZE = 20 * 1024**2
LARGEST_MAX_SIZE = 4 * 1024**3


def parse_size(raw: Any) -> int:
    """Bytes of a size written as `20MB`, `500KB`, `1GB` or a number of bytes (units of 1024)."""
    if isinstance(raw, bool):
        raise ValueError("must be a size such as 20MB")
    if isinstance(raw, int):
        size = raw
    elif isinstance(raw, str) and (m := _SIZE_RE.fullmatch(raw)):
        size = int(m.group(1)) * _UNITS[m.group(2).upper()]
    else:
        raise ValueError(f"{raw!r} is not a size: write it like 20MB, 500KB or 1GB")
    if not 1 <= size <= LARGEST_MAX_SIZE:
        raise ValueError("must be between 1 byte and 4GB")
    return size


def human_size(size: int) -> str:
    """A size as people read it: 20MB, 1.5MB, 300KB, 12 bytes."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            text = f"{size / factor:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return f"{size} bytes"


class FileField(CheckedFieldSpec):
    """Attached files: the value is the list of their ids (at most one unless `multiple`)."""

    type: Literal["file"] = "file"
    multiple: bool = Field(default=False, description="Several files may be attached")
    accept: list[str] | None = Field(default=None, description="Kinds of file taken, checked by content: pdf, png, jpg, ...")
    max_size: int | None = Field(default=None, description="Largest file taken, such as 20MB (default 20MB)")

    widget: ClassVar[str] = "file"

    @field_validator("max_size", mode="before")
    @classmethod
    def _size(cls, raw: Any) -> int | None:
        return None if raw is None else parse_size(raw)

    @field_validator("accept", mode="before")
    @classmethod
    def _kinds(cls, raw: Any) -> Any:
        if raw is None:
            return None
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            raise ValueError("must be a list of file kinds such as [pdf, jpg, png]")
        out: list[str] = []
        for item in items:
            kind = str(item).strip().lower().lstrip(".")
            if kind not in FILE_KINDS:
                raise ValueError(f"{item!r} is not a file kind this field can check; use some of: {', '.join(FILE_KINDS)}")
            if kind not in out:
                out.append(kind)
        return out

    def check_options(self) -> None:
        if self.default is not None:
            raise ValueError("a file field has no default")
        if self.unique or self.index or self.compute is not None:
            raise ValueError("a file field cannot be unique, indexed or computed")

    @property
    def max_bytes(self) -> int:
        return self.max_size if self.max_size is not None else DEFAULT_MAX_SIZE

    def media_types(self) -> frozenset[str] | None:
        """The media types this field takes (None: any content)."""
        return None if self.accept is None else frozenset(FILE_KINDS[k] for k in self.accept)

    def accept_names(self) -> str:
        """The accepted kinds as people name them: 'PDF, JPEG, PNG'."""
        names: list[str] = []
        for media in (FILE_KINDS[k] for k in self.accept or ()):
            if KIND_NAMES[media] not in names:
                names.append(KIND_NAMES[media])
        return ", ".join(names)

    def column_type(self) -> TypeEngine[Any]:
        return JSON()

    def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> list[str] | None:
        if raw is None:
            return None
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise wrong_type("a list of file ids", raw)
        ids: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise wrong_type("a list of file ids", raw)
            text = item.strip().lower()
            if not text:
                continue
            if not FILE_ID_RE.fullmatch(text):
                raise FieldValueError.of("file_id", "refers to a file that was not found; upload it again")
            if text not in ids:
                ids.append(text)
        if not ids:
            return None
        if not self.multiple and len(ids) > 1:
            raise FieldValueError.of("file_one", "takes one file only")
        return ids

    def parse_form(self, values: list[str], *, tz: tzinfo | None = None) -> list[str] | None:
        return self.coerce(values, tz=tz)

    def from_db(self, value: Any) -> list[str] | None:
        if isinstance(value, str):  # a driver that hands JSON back as text
            value = json.loads(value)
        return [str(v) for v in value] if value else None

    def to_json(self, value: Any) -> list[str] | None:
        return None if value is None else list(value)

    def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
        # History keeps {id, name} pairs of the files (engine/files/attach.py): names, never ids.
        items = value if isinstance(value, (list, tuple)) else [value]
        names = [str(v.get("name", "")) if isinstance(v, dict) else _("a file") for v in items]
        return ", ".join(names)

    def form_inputs(self, value: Any, tz: tzinfo) -> list[str]:
        return [str(v) for v in value]

    def widget_attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"multiple": self.multiple, "max_size": self.max_bytes,
                                 "max_size_text": human_size(self.max_bytes)}
        if self.accept is not None:
            attrs["accept"] = ",".join(f".{k}" for k in self.accept)
            attrs["accept_text"] = self.accept_names()
        return attrs

    def type_details(self) -> list[str]:
        out = ["several files" if self.multiple else "one file"]
        if self.accept:
            out.append(self.accept_names())
        out.append(f"at most {human_size(self.max_bytes)}")
        return out

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array", "items": {"type": "string", "pattern": FILE_ID_RE.pattern},
            "uniqueItems": True,
            "description": "Ids of uploaded files (POST /api/flows/{flow}/files/{field})",
        }
        if not self.multiple:
            schema["maxItems"] = 1
        return self._described(schema)
