"""The words a reload plan's sentences are made of, as parts of `forms.messages.Message`s.

Each change of a plan is a `Message`: the command line and the API read its
English text (unchanged: `'Customer' (customer)`, `3 records`), the admin
pages translate it by its template and fill in the parts for the reader (a
field's title without its id, the bare number for a Chinese sentence). This
module turns field types and durations into such parts.
"""
from __future__ import annotations

import re
from typing import Any

from forms import FieldSpecBase
from forms.message_parts import Joined, Label
from forms.messages import Message

# Field types as a plan names them; a type another module registers and this list lacks keeps its English name.
_TYPE_NAMES: dict[str, Message] = {
    "text": Message("type.text", "text"),
    "longtext": Message("type.longtext", "longtext"),
    "email": Message("type.email", "email"),
    "phone": Message("type.phone", "phone"),
    "url": Message("type.url", "url"),
    "integer": Message("type.integer", "integer"),
    "decimal": Message("type.decimal", "decimal"),
    "money": Message("type.money", "money"),
    "boolean": Message("type.boolean", "boolean"),
    "date": Message("type.date", "date"),
    "datetime": Message("type.datetime", "datetime"),
    "choice": Message("type.choice", "choice"),
    "multichoice": Message("type.multichoice", "multichoice"),
    "user": Message("type.user", "user"),
    "file": Message("type.file", "file"),
}
MAX_CHOICES_SHOWN = 6


def _detail(spec: FieldSpecBase, text: str) -> Any:
    """One of `spec.type_details()` as a message part (the English words as they are when the shape is unknown)."""
    choices = getattr(spec, "choices", None)
    if isinstance(choices, dict) and choices:
        shown: list[Any] = [Label(key, words, plain=key) for key, words in list(choices.items())[:MAX_CHOICES_SHOWN]]
        if len(choices) > MAX_CHOICES_SHOWN:
            shown.append("...")
        return Joined.from_parts(shown)
    if m := re.fullmatch(r"at most (\d+) characters", text):
        return Message("type.max_chars", "at most {n} characters", n=int(m.group(1)))
    if m := re.fullmatch(r"(\d+) places", text):
        return Message("type.places", "{n} places", n=int(m.group(1)))
    if text == "one file":
        return Message("type.one_file", "one file")
    if text == "several files":
        return Message("type.several_files", "several files")
    if m := re.fullmatch(r"at most (.+)", text):
        return Message("type.at_most", "at most {size}", size=m.group(1))
    return text


def type_words(spec: FieldSpecBase | None) -> str:
    """A field's type as people say it, 'text (at most 100 characters)', as a message part."""
    if spec is None:
        return Message("plan.unknown_type", "an unknown type")
    name = _TYPE_NAMES.get(spec.type)
    if name is None:
        return spec.describe_type()
    details = spec.type_details()
    if not details:
        return name
    if getattr(spec, "choices", None):
        details = details[:1]
    return Message("plan.type_details", "{type} ({details})", type=name,
                   details=Joined.from_parts((_detail(spec, d) for d in details), "; "))


def seconds_words(seconds: float) -> str:
    """How long a slow part takes, rounded: 'under a second', 'about 4 s', 'about 3 min'."""
    if seconds < 1:
        return Message("plan.under_second", "under a second")
    if seconds < 90:
        return Message("plan.about_seconds", "about {n} s", n=round(seconds))
    return Message("plan.about_minutes", "about {n} min", n=round(seconds / 60))
