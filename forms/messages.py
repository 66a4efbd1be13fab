"""Messages for people that a translating layer can put in another language.

A `Message` is the English text itself (a `str`: APIs, logs and tests see
the same words as before) that also carries a stable `code`, the English
`template` it was made from and the `params` filled into it. The template is
the catalogue's message id: a page in another language looks it up and fills
in the same parameters (ui/i18n). Nothing here knows about languages or web
pages.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Message(str):
    code: str
    template: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, template: str, /, **params: Any) -> Message:
        self = super().__new__(cls, template.format(**params) if params else template)
        self.code = code
        self.template = template
        self.params = dict(params)
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (and copies) as a Message again
        return (_rebuild, (self.code, self.template, dict(self.params)))


def _rebuild(code: str, template: str, params: dict[str, Any]) -> Message:
    return Message(code, template, **params)
