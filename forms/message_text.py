"""A `Message` as plain text with the titles in it picked for one reader's language.

The catalogues that put a message into another language are the pages'
(ui/i18n). An API answer keeps the English wording and picks the titles it
names (`forms.local_text.Titled`) in the language the client asked for.
"""
from __future__ import annotations

from typing import Any

from .message_parts import Joined
from .messages import Message


def message_in(message: str, lang: str | None) -> str:
    """`message` with its titles in `lang` (the flow's language when None or missing)."""
    if not isinstance(message, Message) or not message.params:
        return str(message)
    return message.template.format(**{k: _param(v, lang) for k, v in message.params.items()})


def _param(value: Any, lang: str | None) -> Any:
    if isinstance(value, Message):
        return message_in(value, lang)
    if isinstance(value, Joined):
        return value.render(lambda part: str(_param(part, lang)), lang)
    if hasattr(value, "for_reader"):
        return value.for_reader(lang)
    return value
