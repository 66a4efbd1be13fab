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
    (r"(?P<what>flow|field|row field|state|role|transition) id '(?P<name>[^']*)' must be snake_case ASCII: a lower-case "
     r"letter, then lower-case letters, digits or underscores",
     N_("{what} id '{name}' must be snake_case ASCII: a lower-case letter, then lower-case letters, digits or underscores")),
    (r"(?P<what>flow|field|row field|state|role|transition) id '(?P<name>[^']*)' is longer than (?P<n>\d+) characters",
     N_("{what} id '{name}' is longer than {n} characters")),
    (r"flow id '(?P<name>[^']*)' would share a table with the engine's own; choose another name",
     N_("flow id '{name}' would share a table with the engine's own; choose another name")),
    (r"(?P<what>flow|field|row field) id '(?P<name>[^']*)' is an SQL keyword; choose another name \(e\.g\. '(?P<other>[^']*)'\)",
     N_("{what} id '{name}' is an SQL keyword; choose another name (e.g. '{other}')")),
    (r"(?P<what>field|row field) id '(?P<name>[^']*)' is a word of the expression language; choose another name "
     r"\(e\.g\. '(?P<other>[^']*)'\)",
     N_("{what} id '{name}' is a word of the expression language; choose another name (e.g. '{other}')")),
    (r"(?P<what>field|row field) id '(?P<name>[^']*)' is reserved for a system column; choose another name",
     N_("{what} id '{name}' is reserved for a system column; choose another name")),
    (r"no path leads from (?P<states>.+) to a final state: records there could never be closed; add a transition toward "
     r"a final state", N_("no path leads from {states} to a final state: records there could never be closed; add a "
                          "transition toward a final state")),
    (r"unknown unit '(?P<unit>[^']*)' in duration '(?P<raw>[^']*)': units are lower-case d, h, m, s: did you mean "
     r"'(?P<hint>[^']*)'\?", N_("unknown unit '{unit}' in duration '{raw}': units are lower-case d, h, m, s: did you mean '{hint}'?")),
    (r"unknown unit '(?P<unit>[^']*)' in duration '(?P<raw>[^']*)': (?P<rest>.+)",
     N_("unknown unit '{unit}' in duration '{raw}': use d (days), h (hours), m (minutes) or s (seconds)")),
    (r"duration '(?P<raw>[^']*)': fractions are not supported, combine units instead \(e\.g\. 1h30m\)",
     N_("duration '{raw}': fractions are not supported, combine units instead (e.g. 1h30m)")),
    (r"duration '(?P<raw>[^']*)' repeats the unit '(?P<unit>[^']*)': give each unit once, e\.g\. '1h30m'",
     N_("duration '{raw}' repeats the unit '{unit}': give each unit once, e.g. '1h30m'")),
    (r"duration '(?P<raw>[^']*)' has no unit: write e\.g\. '(?P<a>[^']*)', '(?P<b>[^']*)' or '(?P<c>[^']*)'",
     N_("duration '{raw}' has no unit: write e.g. '{a}', '{b}' or '{c}'")),
    (r"duration '(?P<raw>[^']*)' is (?P<what>zero|negative): durations must be positive",
     N_("duration '{raw}' is not positive: durations must be positive")),
    (r"duration '(?P<raw>[^']*)' is too long: at most (?P<days>\d+)d \(about 10 years\)",
     N_("duration '{raw}' is too long: at most {days}d (about 10 years)")),
    (r"cannot read duration '(?P<raw>[^']*)' \(at '(?P<at>[^']*)'\): write a number followed by d, h, m or s, "
     r"e\.g\. '4h' or '1h30m'", N_("cannot read duration '{raw}' (at '{at}'): write a number followed by d, h, m or s, "
                                    "e.g. '4h' or '1h30m'")),
    (r"empty duration: write e\.g\. '4h', '90m' or '2d'", N_("empty duration: write e.g. '4h', '90m' or '2d'")),
    (r"Field required", N_("Field required")),
    (r"Extra inputs are not permitted", N_("Extra inputs are not permitted")),
    (r"Input should be a valid string", N_("Input should be a valid string")),
    (r"Input should be a valid integer.*", N_("Input should be a valid integer")),
    (r"Input should be a valid boolean.*", N_("Input should be a valid boolean")),
    (r"Input should be a valid dictionary.*", N_("Input should be a valid dictionary")),
    (r"Input should be a valid list", N_("Input should be a valid list")),
    (r"Input should be (?P<options>'.*)", N_("Input should be {options}")),
))

_KINDS = {"field": N_("field"), "state": N_("state"), "role": N_("role"), "transition": N_("transition"),
          "flow": N_("flow"), "row field": N_("row field")}


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
            if "what" in groups and groups["what"] in _KINDS:
                groups["what"] = _(_KINDS[groups["what"]])
            return _(msgid, **groups)
    return translate_message(_, text)
