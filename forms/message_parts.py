"""Pieces of a `forms.messages.Message` that read differently per reader: counts, labels, lists.

A message's parameters are filled in per reader by the pages (ui/i18n
`reader_params`): a value with `for_reader(lang)` gives its words for that
reader; as plain text (`str`: the command line, logs, API answers) it keeps
the English form. These pieces are what reload plans put into their sentences:

* `Count` — "3 records" in English; in Chinese just "3", the catalogue's
  sentence carries the measure word ("3 条记录").
* `Label` — a field or state named for people. As plain text it is
  `'Customer' (customer)` (an admin at the command line needs the id); for a
  reader of a page it is the title alone, quoted in the reader's way, so a
  page never shows the id when the thing has a title.
* `Joined` — several parts (messages, labels) joined with the reader's
  separator; the page translates each part first (`render`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .local_text import Words, pick


def _chinese(lang: str | None) -> bool:
    return bool(lang) and str(lang).lower().startswith("zh")


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 record', '1,234 records'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, slots=True)
class Count:
    """A number of things: the English noun with it, or the bare number for a Chinese sentence."""

    n: int
    one: str
    many: str | None = None

    def for_reader(self, lang: str | None) -> str:
        return f"{self.n:,}" if _chinese(lang) else plural(self.n, self.one, self.many)

    def __str__(self) -> str:
        return plural(self.n, self.one, self.many)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True, slots=True)
class Label:
    """A field, state, transition or role: its title for a reader, title and id as plain text."""

    name: str
    words: Words | None = None
    fallback: str | None = None
    plain: str | None = None  # the plain text when it is not `'Title' (id)` (a choice id in a list of choices)

    def title(self, lang: str | None) -> str:
        return pick(self.words, lang, self.fallback) or self.name

    def for_reader(self, lang: str | None) -> str:
        title = self.title(lang)
        return f"“{title}”" if _chinese(lang) else f"'{title}'"

    def __str__(self) -> str:
        if self.plain is not None:
            return self.plain
        title = self.title(None)
        return f"'{title}' ({self.name})" if title != self.name else f"'{self.name}'"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True, slots=True)
class Joined:
    """Parts joined by `sep` ("; ", ", "); a Chinese reader gets the matching Chinese separator."""

    parts: tuple[Any, ...]
    sep: str = ", "

    @classmethod
    def from_parts(cls, parts: Iterable[Any], sep: str = ", ") -> Joined:
        return cls(tuple(parts), sep)

    def render(self, each: Callable[[Any], str], lang: str | None) -> str:
        """The parts, each made text by `each` (a page translates messages there), joined for `lang`."""
        sep = {", ": "、", "; ": "；"}.get(self.sep, self.sep) if _chinese(lang) else self.sep
        return sep.join(each(p) for p in self.parts)

    def for_reader(self, lang: str | None) -> str:
        return self.render(lambda p: p.for_reader(lang) if hasattr(p, "for_reader") else str(p), lang)

    def __str__(self) -> str:
        return self.sep.join(str(p) for p in self.parts)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
