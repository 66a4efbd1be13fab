"""The language an API client reads: titles in answers are picked for it.

Flow text may be written in several languages (forms/local_text.py). An API
answer gives each title (`state_title`, a transition's `title`, `flow_title`,
`confirm`, the refusal `reasons` and the problem `detail`) as one string: in
the language of `?lang=` if the request has it, else the first language of
`Accept-Language` the text is written in, else the flow's `language`. The
flow definition (`GET /api/flows/{name}` `spec`) keeps every mapping as
written. The wording of the app's own messages stays English in the API;
the pages translate it.
"""
from __future__ import annotations

import re
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import parse_qs


from forms.local_text import pick
from forms.message_text import message_in

_reader: ContextVar[tuple[str, ...]] = ContextVar("relayflow_reader_language", default=())
_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
MAX_TAGS = 8
# Clients send the same few Accept-Language headers and query strings again and again: parse each once.
_seen: dict[tuple[bytes, bytes | None], tuple[str, ...]] = {}
_SEEN_MAX = 512


def wanted_languages(query: str, accept_language: str | None) -> tuple[str, ...]:
    """`?lang=` first, then the tags of Accept-Language by preference (at most a few; `*` ignored)."""
    out: list[str] = []
    lang = parse_qs(query).get("lang", [""])[0].strip()
    if lang and _TAG.match(lang) and len(lang) <= 35:
        out.append(lang)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or not _TAG.match(tag) or len(tag) > 35:
            continue
        q = 1.0
        m = re.search(r"q=([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, i, tag))
    out += [tag for _, _, tag in sorted(ranked)]
    return tuple(dict.fromkeys(out))[:MAX_TAGS]


def enter_reader(query_string: bytes, accept_language: bytes | None) -> Token[tuple[str, ...]]:
    """Remember the languages this request asks for while it is answered (api/request_context.py calls it
    with the request's query string and Accept-Language header; `leave_reader` with the token at its end)."""
    key = (query_string, accept_language)
    wanted = _seen.get(key)
    if wanted is None:
        wanted = wanted_languages(query_string.decode("latin-1"),
                                  accept_language.decode("latin-1") if accept_language is not None else None)
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        _seen[key] = wanted
    return _reader.set(wanted)


def leave_reader(token: Token[tuple[str, ...]]) -> None:
    _reader.reset(token)


def _language_for(text: Any, fallback: str | None) -> str | None:
    """The first wanted language `text` is written in (by tag or base language), else None."""
    wanted = _reader.get()
    if not wanted or not isinstance(text, dict):
        return wanted[0] if wanted else None
    keys = {str(k).lower() for k in text} | {str(k).split("-")[0].lower() for k in text}
    for tag in wanted:
        if tag.lower() in keys or tag.split("-")[0].lower() in keys:
            return tag
    return fallback


def api_text(text: Any, flow: Any = None) -> str | None:
    """A title for the client: its language, else the flow's."""
    fallback = getattr(getattr(flow, "spec", flow), "language", None)
    if text is None or isinstance(text, str):
        return text
    return pick(text, _language_for(text, fallback), fallback)


def wanted_language() -> str | None:
    """The client's first wanted language (`?lang=` / Accept-Language), or None."""
    wanted = _reader.get()
    return wanted[0] if wanted else None


def api_message(message: str) -> str:
    """A refusal or validation message with its titles in the client's language."""
    wanted = _reader.get()
    return message_in(message, wanted[0] if wanted else None)
