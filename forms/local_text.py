"""Text for people written in one or several languages.

A flow file may give any title, description, help, choice label, button title
or confirmation as a plain string (in the flow's `language`) or as a mapping
of language tags: `title: {zh-CN: 销售订单, en: Sales order}`. `LocalText` is
that value as the flow model keeps it; `pick` chooses the words for a reader.
Nothing here knows about web pages: the caller passes the reader's language.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _before(value: Any) -> Any:
    """Catch the common slip of an unquoted comma inside `{zh-CN: 质检不合格,返工, en: ...}`.

    YAML reads that comma as the end of an entry, so `返工` turns into a key
    without a value; the plain type error would not tell the author why.
    """
    if isinstance(value, dict):
        for tag, words in value.items():
            if words is None and isinstance(tag, str) and not _TAG_RE.match(tag):
                raise ValueError(
                    f"'{tag}' is not a language tag: a comma inside {{...}} ends the text before it. "
                    "Put the text in quotes, or use the Chinese comma ，")
    return value


def _check(value: str | dict[str, str]) -> str | dict[str, str]:
    if isinstance(value, dict):
        if not value:
            raise ValueError("give the text in at least one language, e.g. {zh-CN: 销售订单, en: Sales order}")
        for tag, words in value.items():
            if not isinstance(tag, str) or not _TAG_RE.match(tag):
                raise ValueError(f"{tag!r} is not a language tag such as zh-CN or en")
            if not isinstance(words, str):
                raise ValueError(f"the text for {tag} must be a string")
    return value


LocalText = Annotated[
    str | dict[str, str],
    BeforeValidator(_before),
    AfterValidator(_check),
    Field(description="Text in the flow's language, or a mapping of language tags to text: {zh-CN: 销售订单, en: Sales order}"),
]


def _base(tag: str) -> str:
    return tag.split("-")[0].lower()


def pick(text: Any, lang: str | None = None, fallback: str | None = None) -> str | None:
    """The words of `text` for a reader of `lang`, else the flow's `fallback` language, else any.

    Tags match exactly first (case-insensitive), then by their base language
    (`zh` for `zh-CN`), so a page in `zh-CN` finds `zh` and the other way round.
    """
    if text is None or isinstance(text, str):
        return text
    if not isinstance(text, Mapping) or not text:
        return None
    for want in (lang, fallback):
        if not want:
            continue
        lowered = {str(k).lower(): v for k, v in text.items()}
        if want.lower() in lowered:
            return str(lowered[want.lower()])
        for key, words in text.items():
            if _base(str(key)) == _base(want):
                return str(words)
    return str(next(iter(text.values())))


def languages_of(text: Any) -> tuple[str, ...]:
    """The language tags a text is written in (empty for a plain string)."""
    return tuple(text) if isinstance(text, Mapping) else ()


Words = str | dict[str, str]
"""The plain type of a `LocalText` value, for dataclasses that hand it on to the pages."""


@dataclass(frozen=True, slots=True)
class Titled:
    """A title (or help, or an author's message) put into a `forms.messages.Message`.

    The message keeps the words in every language; the page that shows the message picks
    the reader's (`for_reader`), with the flow's language (`fallback`) when the reader's is
    missing. As plain text (`str`, an API answer or a log) it reads in the flow's language.
    """

    words: Words
    fallback: str | None = None

    def for_reader(self, lang: str | None) -> str:
        return pick(self.words, lang, self.fallback) or ""

    def __str__(self) -> str:
        return self.for_reader(None)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True, slots=True)
class TitleList:
    """Several titles in a message: "Order no., Customer" in English, "订单号、客户" in Chinese."""

    items: tuple[Titled, ...]

    @classmethod
    def of(cls, texts: Iterable[Words], fallback: str | None = None) -> TitleList:
        return cls(tuple(Titled(t, fallback) for t in texts))

    def for_reader(self, lang: str | None) -> str:
        chinese = _base(lang or self._language()) == "zh"
        return ("、" if chinese else ", ").join(t.for_reader(lang) for t in self.items)

    def _language(self) -> str:
        return next((t.fallback for t in self.items if t.fallback), "en")

    def __str__(self) -> str:
        return self.for_reader(None)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
