"""What a file is, by its content: the first bytes of an upload against known signatures.

Content detection is puremagic's (pure Python, maintained, no libmagic to
install): it matches the head of the file against a large table of signatures.
We ask it only about the head (`HEAD_BYTES`), so an upload is judged before
most of it has arrived, and accept a kind only when one of its candidates has
exactly the media type the field's `accept` stands for.
"""
from __future__ import annotations

from dataclasses import dataclass

import puremagic

from forms.file_field import FILE_KINDS, KIND_NAMES

HEAD_BYTES = 8192
_KNOWN = frozenset(FILE_KINDS.values())
PREVIEWABLE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
"""Media types the record page previews (each only after its content was recognised as such)."""


@dataclass(frozen=True)
class Recognised:
    media_type: str | None
    """One of the kinds `accept` may name, or None when the content is none of them."""
    what: str
    """What the content is, as people say it ('PNG', 'ELF executable', 'unknown content')."""


def recognise(head: bytes) -> Recognised:
    """The kind of a file from its first bytes."""
    try:
        candidates = puremagic.magic_string(head) if head else []
    except puremagic.PureError:
        candidates = []
    for c in candidates:
        if c.mime_type in _KNOWN:
            return Recognised(c.mime_type, KIND_NAMES[c.mime_type])
    if candidates:
        return Recognised(None, candidates[0].name or "unknown content")
    return Recognised(None, "unknown content")


def kind_of_name(name: str) -> str | None:
    """The media type a file name claims by its extension, if it is one of the kinds we know."""
    _, dot, ext = name.rpartition(".")
    return FILE_KINDS.get(ext.lower()) if dot else None


def extension_of(name: str) -> str | None:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot and ext else None
