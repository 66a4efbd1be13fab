"""Problems of a flow file (loader and meaning checks) in the reader's language.

The loader reports each problem as English text with a known shape: an
optional location (`fields.quantity: …`), the problem, and perhaps a
` — did you mean 'x'?` hint. The admin editor shows them translated by shape:
the location and the names stay as written (they are what the author typed),
the words around them come from the catalogue. A problem of an unknown shape
is shown as it is.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from forms.messages import Message
from ui.i18n import N_, translate_message

_LOCATION = re.compile(r"^(?P<path>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*): (?P<rest>.+)$", re.S)
_HINT = re.compile(r"^(?P<rest>.*) — did you mean '(?P<name>[^']*)'\?(?P<tail>.*)$", re.S)

# problem shape → msgid with the same named groups (checked in order)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.S), m) for p, m in (
    (r"unknown key '(?P<key>[^']*)' in (?P<where>.+)", N_("unknown key '{key}' in {where}")),
    (r"missing required key '(?P<key>[^']*)'", N_("missing required key '{key}'")),
    (r"missing required key 'type' \(one of (?P<types>.*)\)", N_("missing required key 'type' (one of {types})")),
    (r"unknown field type '(?P<t>[^']*)' \(types: (?P<types>.*)\)", N_("unknown field type '{t}' (types: {types})")),
    (r"unknown field type '(?P<t>[^']*)'", N_("unknown field type '{t}'")),
    (r"unknown (?P<kind>field|state|role|transition) '(?P<name>[^']*)'", N_("unknown {kind} '{name}'")),
    (r"condition uses unknown field '(?P<name>[^']*)'", N_("condition uses unknown field '{name}'")),
    (r"a flow needs at least one field", N_("a flow needs at least one field")),
    (r"a flow needs at least one state", N_("a flow needs at least one state")),
    (r"state '(?P<s>[^']*)' cannot be reached from '(?P<start>[^']*)': no transition leads to it",
     N_("state '{s}' cannot be reached from '{start}': no transition leads to it")),
    (r"transition '(?P<t>[^']*)' names no role that may fire it", N_("transition '{t}' names no role that may fire it")),
    (r"Field required", N_("Field required")),
    (r"Extra inputs are not permitted", N_("Extra inputs are not permitted")),
    (r"Input should be a valid string", N_("Input should be a valid string")),
    (r"Input should be a valid integer.*", N_("Input should be a valid integer")),
    (r"Input should be a valid boolean.*", N_("Input should be a valid boolean")),
    (r"Input should be a valid dictionary.*", N_("Input should be a valid dictionary")),
    (r"Input should be a valid list", N_("Input should be a valid list")),
    (r"Input should be (?P<options>'.*)", N_("Input should be {options}")),
))

_KINDS = {"field": N_("field"), "state": N_("state"), "role": N_("role"), "transition": N_("transition")}


def translate_problem(_: Callable[..., str], text: str) -> str:
    """A loader problem in the language of `_` (the location and names as written)."""
    if getattr(_, "locale", "en") == "en":
        return text
    if isinstance(text, Message):  # the meaning checks' problems carry their template
        return translate_message(_, text)
    m = _LOCATION.match(text)
    if m and not m.group("path").startswith(("unknown", "missing")):
        return m.group("path") + ":" + translate_problem(_, m.group("rest"))
    hint = _HINT.match(text)
    if hint:
        tail = hint.group("tail")
        types = re.fullmatch(r" \(types: (?P<types>.*)\)", tail, re.S)
        return (translate_problem(_, hint.group("rest")) + _("— did you mean '{name}'?", name=hint.group("name"))
                + (_("(types: {types})", types=types.group("types")) if types else tail))
    for rx, msgid in _SHAPES:
        found = rx.fullmatch(text)
        if found:
            groups = found.groupdict()
            if "kind" in groups:
                groups["kind"] = _(_KINDS[groups["kind"]])
            return _(msgid, **groups)
    return translate_message(_, text)
