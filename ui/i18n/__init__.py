"""The UI's own text in English and Simplified Chinese (gettext .po catalogues).

Message ids are the English text. The catalogues are read with Babel's
`read_po` once at start-up (no compile step). A locale is chosen from the
`rf_lang` cookie (the language switch in the page header), then the user's
setting, then the browser's Accept-Language, then English.

Engine messages (field errors, transition reasons) arrive in English. A
`forms.messages.Message` carries its template (the catalogue's msgid) and
parameters and is translated by them; older plain-text messages with a known
shape are matched by `_PATTERNS`. Both go through `translate_message`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from forms.message_parts import Joined
from forms.messages import Message

LOCALES: tuple[str, ...] = ("en", "zh-CN")
DEFAULT_LOCALE = "en"
LANG_COOKIE = "rf_lang"
_HERE = Path(__file__).parent
_FILES = {"zh-CN": "zh_CN.po", "en": "en.po"}


@lru_cache(maxsize=None)
def catalogue(locale: str) -> Mapping[str, str]:
    """msgid → translation for `locale` (empty for English: ids are English)."""
    name = _FILES.get(locale)
    if name is None:
        return {}
    with open(_HERE / name, "rb") as fh:
        cat = read_po(fh, locale=locale.replace("-", "_"))
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def normalise(tag: str | None) -> str | None:
    """A supported locale for a language tag ('zh', 'zh-Hans-CN', 'en-GB' ...), else None."""
    if not tag:
        return None
    t = tag.strip().replace("_", "-").lower()
    if t.startswith("zh"):
        return "zh-CN"
    if t.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best supported locale of an Accept-Language header."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q=([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        loc = normalise(tag)
        if loc and q > 0:
            choices.append((-q, i, loc))
    return min(choices)[2] if choices else None


def choose_locale(cookie: str | None, user_locale: str | None, accept_language: str | None) -> str:
    """The language switch of this browser, else the user's setting, else the browser's languages."""
    return normalise(cookie) or normalise(user_locale) or from_accept_language(accept_language) or DEFAULT_LOCALE


class Translator:
    """gettext for one locale; `{name}` placeholders are filled from keyword arguments."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._cat = catalogue(locale)

    def gettext(self, msgid: str, /, **kw: Any) -> str:
        text = self._cat.get(msgid, msgid)
        return text.format(**kw) if kw else text

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int, /, **kw: Any) -> str:
        return self.gettext(singular if n == 1 else plural, n=n, **kw)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: marked for the catalogue, translated later
    return message


# Fixed engine and page messages people meet often (translated by `translate_message`).
KNOWN_MESSAGES = (
    N_("this field is required"),
    N_("fill this in first"),
    N_("must be a whole number"),
    N_("must be true or false"),
    N_("must be a single line (no line breaks)"),
    N_("must be an e-mail address like name@example.com"),
    N_("must be a phone number: digits, spaces, hyphens, parentheses and a leading +"),
    N_("must be a web address starting with http:// or https://"),
    N_("must be a finite number"),
    N_("a password has 8 to 1024 characters"),
    N_("a user name is 1 to 64 characters without spaces"),
    N_("you cannot deactivate yourself"),
    N_("only administrators may open this page"),
    N_("someone else has already taken this record"),
    N_("the record is closed; it cannot be claimed"),
    N_("wrong user name or password"),
)

# Engine messages with a known shape: regex → msgid with the same named groups.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), m) for p, m in (
        (r"must be at most (?P<n>\d+) characters long \(has (?P<has>\d+)\)",
         "must be at most {n} characters long (has {has})"),
        (r"must be at least (?P<n>\d+) characters long \(has (?P<has>\d+)\)",
         "must be at least {n} characters long (has {has})"),
        (r"must be at least (?P<n>\S+)", "must be at least {n}"),
        (r"must be at most (?P<n>\S+)", "must be at most {n}"),
        (r"must be a whole number \('(?P<v>.*)' is not a number\)", "must be a whole number ('{v}' is not a number)"),
        (r"must be a number \('(?P<v>.*)' is not a number\)", "must be a number ('{v}' is not a number)"),
        (r"must have at most (?P<n>\d+) decimal places?", "must have at most {n} decimal places"),
        (r"must be a date like 2026-10-01, not (?P<v>.*)", "must be a date like 2026-10-01, not {v}"),
        (r"fill in first: (?P<fields>.*)", "fill in first: {fields}"),
        (r"condition not met: (?P<expr>.*)", "condition not met: {expr}"),
        (r"condition cannot be checked yet: (?P<expr>.*)", "condition cannot be checked yet: {expr}"),
        (r"needs one of the roles: (?P<roles>.*)", "needs one of the roles: {roles}"),
        (r"'(?P<t>.*)' needs a comment", "'{t}' needs a comment"),
        (r"'(?P<t>.*)': fill in first: (?P<fields>.*)", "'{t}': fill in first: {fields}"),
        (r"'(?P<t>.*)': condition not met: (?P<expr>.*)", "'{t}': condition not met: {expr}"),
        (r"does not match the required format \((?P<p>.*)\)", "does not match the required format ({p})"),
        (r"'(?P<v>.*)' is not one of the choices \((?P<c>.*)\)", "'{v}' is not one of the choices ({c})"),
        (r"user (?P<u>\d+) is not an active member of role '(?P<r>.*)'", "user {u} is not an active member of role '{r}'"),
        (r"flow '(?P<f>.*)' has no transition '(?P<t>.*)'", "flow '{f}' has no transition '{t}'"),
        (r"'(?P<t>.*)' cannot fire from state '(?P<s>.*)' \(it leaves (?P<src>.*)\)",
         "'{t}' cannot fire from state '{s}' (it leaves {src})"),
        (r"'(?P<t>.*)' at (?P<at>\S+) is before the stage began \((?P<began>.*)\)",
         "'{t}' at {at} is before the stage began ({began})"),
        (r"'(?P<item>.*)': give the instant with its offset, e\.g\. (?P<eg>.*)",
         "'{item}': give the instant with its offset, e.g. {eg}"),
    )
)


def reader_params(_: Callable[..., str], params: Mapping[str, Any]) -> dict[str, Any]:
    """A message's parameters for one reader: titles (`forms.local_text.Titled`, `TitleList`) in the
    reader's language, nested messages translated the same way, other values as they are."""
    locale = getattr(_, "locale", None)

    def one(value: Any) -> Any:
        if isinstance(value, Message):
            return translate_message(_, value)
        if isinstance(value, Joined):  # parts translated one by one, joined the reader's way
            return value.render(lambda part: str(one(part)), locale)
        if hasattr(value, "for_reader"):
            return value.for_reader(locale)
        return value

    return {key: one(value) for key, value in params.items()}


def translate_message(_: Callable[..., str], message: str) -> str:
    """An engine message in the UI's language when its template or shape is known, else as it is.
    Titles in the message are picked in the reader's language (the translator's locale)."""
    if isinstance(message, Message):
        if not message.params:
            return _(message.template)
        return _(message.template, **reader_params(_, message.params))
    exact = _(message)
    if exact != message:
        return exact
    for rx, msgid in _PATTERNS:
        m = rx.fullmatch(message)
        if m:
            return _(msgid, **m.groupdict())
    return message
