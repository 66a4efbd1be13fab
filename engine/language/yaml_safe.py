"""Safe YAML loading for flow files, with the position of every node.

``load_yaml`` reads one YAML document with PyYAML's *composer* only (a
``yaml.SafeLoader`` subclass) and builds the Python values itself from the
node tree, so that

* nothing in a file can create arbitrary Python objects or run code;
* the start of every mapping key and every value is recorded under its path
  (``Positions``), so that a validation error can be reported as
  ``file:line:column``;
* the YAML 1.1 traps of PyYAML are defused.  Plain scalars are read with the
  YAML 1.2 core schema:

  - ``true``/``True``/``TRUE``/``false``/``False``/``FALSE`` are booleans;
    ``yes``, ``no``, ``on``, ``off``, ``y``, ``n`` stay strings;
  - ``null``/``Null``/``NULL``/``~`` and an empty value are ``None``;
  - integers: decimal (optional sign), ``0o17`` octal, ``0x1F`` hex.  No
    underscores, no base 60 (``1:30`` stays the string ``"1:30"``), and no
    leading-zero octal.  Deliberate choice: a decimal written with a leading
    zero (``012``, ``-007``) stays a *string*, because in a flow file it is
    almost always a code (zip code, part number) whose zeros matter; a
    validator that wants a number can still convert the string;
  - floats per YAML 1.2 (``1.5``, ``.5``, ``1e3``, ``-.inf``, ``.nan``; the
    same leading-zero rule as integers applies to the integer part);
  - everything else, dates included (``2026-10-01``), is a string.

  Quoted and block scalars are always strings.

Mapping keys are always strings: a plain key keeps its source text (``on:``
is ``"on"``, ``1:`` is ``"1"``).  A key that is a mapping or a list is an
error, so is a duplicate key and a merge key (``<<``).

Tags.  Only the standard scalar and collection tags are accepted, and only
where they make sense:

* ``!!str`` on a scalar: the scalar's text as a string (also on keys);
* ``!!int``, ``!!float``, ``!!bool``, ``!!null`` on a scalar: the text must be
  a valid value of that type under the rules above (``!!float 1`` is
  ``1.0``); they are refused on mapping keys, which are always strings;
* ``!!map`` on a mapping, ``!!seq`` on a list: no effect;
* the non-specific tag ``!`` makes a scalar a string.

Every other tag (``!!python/...``, ``!!binary``, ``!!timestamp``, ``!!set``,
``!!omap``, local ``!foo`` tags, ...) is refused with
``YAML tags are not allowed: <tag>``.

Aliases are allowed and expanded (each expansion is a fresh copy), but the
total number of values built is limited (``max_nodes``; this stops "billion
laughs" alias bombs early), so is the nesting depth (``max_depth``, also
while composing, so PyYAML never recurses deeply), and an alias that refers to
a node containing it is an error.  Files larger than ``max_bytes`` are refused
before parsing; bytes must be UTF-8 (a BOM is accepted).

All problems that can be found in one pass (duplicate keys, refused tags,
bad keys, ...) are collected and raised together as ``YamlLoadError``; a
syntax error stops parsing, so it is reported alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingStartEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

__all__ = [
    "Mark",
    "Path",
    "Positions",
    "YamlLoadError",
    "YamlProblem",
    "load_yaml",
]


# --------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A position in the source text; line and column are 1-based."""

    line: int
    column: int


@dataclass(frozen=True)
class YamlProblem:
    """One problem found while loading; ``mark`` is None for whole-file problems."""

    mark: Mark | None
    message: str


class YamlLoadError(Exception):
    """The file could not be loaded; ``problems`` lists every problem found."""

    problems: list[YamlProblem]

    def __init__(self, problems: list[YamlProblem]) -> None:
        self.problems = list(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = []
        for problem in self.problems:
            if problem.mark is None:
                lines.append(problem.message)
            else:
                lines.append(f"{problem.mark.line}:{problem.mark.column}: {problem.message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._describe()


Path = tuple[str | int, ...]
"""Keys of mappings (str) and indexes of sequences (int), from the root."""


def document_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The part of a pydantic error's `loc` that names places in the loaded document `data` (union branch tags
    and validator names dropped), so the problem can be located with Positions."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
    return tuple(path)


class Positions:
    """Where the values and mapping keys of a loaded document start."""

    __slots__ = ("_values", "_keys")

    def __init__(
        self,
        values: dict[Path, Mark] | None = None,
        keys: dict[Path, Mark] | None = None,
    ) -> None:
        self._values: dict[Path, Mark] = values if values is not None else {}
        self._keys: dict[Path, Mark] = keys if keys is not None else {}

    def _written(self, path: Path) -> tuple[Any, ...]:
        """`path` as the file writes it: a list's first item written alone, without the list (`create: {...}`
        for `create: [{...}]`), has no index 0 in the file."""
        out: tuple[Any, ...] = ()
        for part in path:
            if part == 0 and not isinstance(part, bool) and out + (0,) not in self._values and out in self._values:
                continue
            out += (part,)
        return out

    def value(self, path: Path) -> Mark | None:
        """Where the value at ``path`` starts (None if there is no such value)."""
        return self._values.get(self._written(tuple(path)))

    def key(self, path: Path) -> Mark | None:
        """Where the mapping key of the last element of ``path`` starts.

        None for list items, the root and paths that do not exist.
        """
        return self._keys.get(tuple(path))

    def locate(self, path: Path) -> Mark:
        """The best mark for an error at ``path``.

        The key if known, else the value, else the same for the nearest parent
        that exists; the root (or nothing at all) is line 1, column 1.
        """
        path = self._written(tuple(path))
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            mark = self._keys.get(prefix)
            if mark is None:
                mark = self._values.get(prefix)
            if mark is not None:
                return mark
        return Mark(1, 1)


# --------------------------------------------------------------------------
# Scalar rules (YAML 1.2 core schema, see the module docstring)
# --------------------------------------------------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})

_DEC_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_OCT_RE = re.compile(r"0o[0-7]+")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)")

_NOT_A_NUMBER = object()


class _TooManyDigits(Exception):
    pass


def _parse_int(text: str) -> Any:
    """An int for YAML 1.2 core integer text, else ``_NOT_A_NUMBER``."""
    try:
        if _DEC_RE.fullmatch(text):
            return int(text, 10)
        if _OCT_RE.fullmatch(text):
            return int(text[2:], 8)
        if _HEX_RE.fullmatch(text):
            return int(text[2:], 16)
    except ValueError as exc:  # Python's limit on the digits of an int
        raise _TooManyDigits() from exc
    return _NOT_A_NUMBER


def _parse_float(text: str) -> Any:
    """A float for YAML 1.2 core float text (integers excluded), else ``_NOT_A_NUMBER``."""
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if _INF_RE.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN_RE.fullmatch(text):
        return float("nan")
    return _NOT_A_NUMBER


def _resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    first = text[0]
    if first in "0123456789+-.":
        number = _parse_int(text)
        if number is _NOT_A_NUMBER:
            number = _parse_float(text)
        if number is not _NOT_A_NUMBER:
            return number
    return text


# --------------------------------------------------------------------------
# Composition (PyYAML's composer, with limits and tag bookkeeping)
# --------------------------------------------------------------------------


class _Kind(str):
    """Marker used as ``node.tag`` for nodes written without an explicit tag (compared by identity;
    a str subclass only because PyYAML's nodes declare their tag a str)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"<untagged {self.name}>"


_PLAIN = _Kind("plain scalar")
_TEXT = _Kind("quoted scalar")  # quoted, block, or tagged with '!'
_MAP = _Kind("mapping")
_SEQ = _Kind("sequence")

_STD = "tag:yaml.org,2002:"
_STR_TAG = _STD + "str"
_INT_TAG = _STD + "int"
_FLOAT_TAG = _STD + "float"
_BOOL_TAG = _STD + "bool"
_NULL_TAG = _STD + "null"
_MAP_TAG = _STD + "map"
_SEQ_TAG = _STD + "seq"
_SCALAR_TAGS = frozenset({_STR_TAG, _INT_TAG, _FLOAT_TAG, _BOOL_TAG, _NULL_TAG})
_ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!map and !!seq"


def _short_tag(tag: str) -> str:
    if tag.startswith(_STD):
        return "!!" + tag[len(_STD):]
    if tag.startswith("!"):
        return tag
    return f"!<{tag}>"


def _refused_tag(tag: str) -> str:
    return f"YAML tags are not allowed: {_short_tag(tag)} (only {_ALLOWED_TAGS} are accepted)"


class _Alias:
    """An alias in the node tree (PyYAML would return the anchored node itself)."""

    __slots__ = ("target", "anchor", "start_mark", "end_mark")

    def __init__(self, target: Any, anchor: str, start_mark: Any, end_mark: Any) -> None:
        self.target = target
        self.anchor = anchor
        self.start_mark = start_mark
        self.end_mark = end_mark


class _Fatal(Exception):
    """A problem after which loading cannot go on."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _mark(yaml_mark: Any) -> Mark:
    return Mark(yaml_mark.line + 1, yaml_mark.column + 1)


def _depth_message(max_depth: int) -> str:
    return f"the document is nested too deeply (more than {max_depth} levels)"


class _Loader(yaml.SafeLoader):
    """SafeLoader used for composing only; never constructs Python objects."""

    def __init__(self, stream: str, max_depth: int) -> None:
        super().__init__(stream)
        self._max_depth = max_depth
        self._depth = 0

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # Called only for nodes without an explicit tag: remember *how* the
        # node was written; the values are resolved later with YAML 1.2 rules.
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _TEXT
        if kind is SequenceNode:
            return _SEQ
        return _MAP

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is None:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            return _Alias(target, event.anchor, event.start_mark, event.end_mark)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        if nested:
            self._depth += 1
            if self._depth > self._max_depth:
                raise _Fatal(YamlProblem(_mark(event.start_mark), _depth_message(self._max_depth)))
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1

    def compose_scalar_node(self, anchor: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        node = super().compose_scalar_node(anchor)
        if event.tag == "!":  # the non-specific tag: a string
            node.tag = _TEXT
        return node


# --------------------------------------------------------------------------
# Construction of Python values from the node tree
# --------------------------------------------------------------------------


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Builder:
    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.values: dict[Path, Mark] = {}
        self.keys: dict[Path, Mark] = {}
        self.problems: list[YamlProblem] = []
        self._count = 0
        self._active: set[int] = set()  # collection nodes being built (cycle check)
        self._alias_mark: Mark | None = None  # outermost alias being expanded
        self._saw_alias = False
        self._sizes: dict[int, int] = {}  # values a node expands to (aliases followed), by node id

    # -- helpers -----------------------------------------------------------

    def _problem(self, yaml_mark: Any, message: str) -> None:
        self.problems.append(YamlProblem(_mark(yaml_mark), message))

    def _tick(self, yaml_mark: Any) -> None:
        self._count += 1
        if self._count > self.max_nodes:
            if self._saw_alias:
                message = (
                    "document too large after expanding aliases "
                    f"(more than {self.max_nodes} values)"
                )
            else:
                message = f"document too large (more than {self.max_nodes} values)"
            where = self._alias_mark if self._alias_mark is not None else _mark(yaml_mark)
            raise _Fatal(YamlProblem(where, message))

    # -- values ------------------------------------------------------------

    def build(self, node: Any, path: Path, depth: int) -> Any:
        """Build the value of ``node`` and record where it starts."""
        if path not in self.values:
            self.values[path] = _mark(node.start_mark)
        return self._construct(node, path, depth)

    def _construct(self, node: Any, path: Path, depth: int) -> Any:
        if isinstance(node, _Alias):
            return self._expand(node, path, depth)
        self._tick(node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        depth += 1
        if depth > self.max_depth:
            raise _Fatal(YamlProblem(_mark(node.start_mark), _depth_message(self.max_depth)))
        self._check_collection_tag(node)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,), depth) for i, item in enumerate(node.value)]
            return self._mapping(node, path, depth)
        finally:
            self._active.discard(id(node))

    def _size(self, node: Any) -> int:
        """How many values building ``node`` would count, aliases expanded; each node is measured
        once, so a bomb is measured in a few steps per anchor instead of being expanded."""
        if isinstance(node, _Alias):
            node = node.target
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        self._sizes[id(node)] = 1  # a node that contains itself: _expand reports the cycle
        if isinstance(node, SequenceNode):
            total = 1 + sum(self._size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            total = 1 + sum(1 + self._size(value) for _key, value in node.value)
        else:
            total = 1
        self._sizes[id(node)] = total
        return total

    def check_expansion(self, root: Any) -> None:
        """Refuse a document whose aliases would expand past ``max_nodes`` before building any of it,
        located at the first alias (in reading order) that passes the limit."""
        if self._size(root) <= self.max_nodes:
            return
        seen = 0

        def walk(node: Any) -> None:
            nonlocal seen
            if isinstance(node, _Alias):
                seen += self._size(node)
                if seen > self.max_nodes:
                    raise _Fatal(YamlProblem(_mark(node.start_mark), "document too large after expanding "
                                             f"aliases (more than {self.max_nodes} values)"))
                return
            seen += 1
            if isinstance(node, SequenceNode):
                for item in node.value:
                    walk(item)
            elif isinstance(node, MappingNode):
                for _key, value in node.value:
                    seen += 1
                    walk(value)

        walk(root)

    def _expand(self, alias: _Alias, path: Path, depth: int) -> Any:
        self._saw_alias = True
        if id(alias.target) in self._active:
            self._problem(
                alias.start_mark,
                f"recursive alias '*{alias.anchor}': it refers to a node that contains it",
            )
            return None
        outermost = self._alias_mark is None
        if self._count + self._size(alias.target) > self.max_nodes:
            # Refused at the first alias that would pass the limit, before expanding anything.
            where = self._alias_mark if not outermost else _mark(alias.start_mark)
            raise _Fatal(YamlProblem(where, "document too large after expanding aliases "
                                            f"(more than {self.max_nodes} values)"))
        if outermost:
            self._alias_mark = _mark(alias.start_mark)
        try:
            return self._construct(alias.target, path, depth)
        finally:
            if outermost:
                self._alias_mark = None

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        text = node.value
        if tag is _PLAIN:
            try:
                return _resolve_plain(text)
            except _TooManyDigits:
                self._problem(node.start_mark, f"the number {_clip(text)!r} has too many digits")
                return text
        if tag is _TEXT or tag == _STR_TAG:
            return text
        if tag == _NULL_TAG:
            if text in _NULLS:
                return None
            self._problem(node.start_mark, f"!!null accepts only null or ~, not {_clip(text)!r}")
            return text
        if tag == _BOOL_TAG:
            if text in _TRUES:
                return True
            if text in _FALSES:
                return False
            self._problem(node.start_mark, f"!!bool accepts only true or false, not {_clip(text)!r}")
            return text
        if tag in (_INT_TAG, _FLOAT_TAG):
            kind = "an integer" if tag == _INT_TAG else "a number"
            try:
                number = _parse_int(text)
                if tag == _FLOAT_TAG:
                    number = _parse_float(text) if number is _NOT_A_NUMBER else float(number)
            except (_TooManyDigits, OverflowError):
                number = _NOT_A_NUMBER
            if number is _NOT_A_NUMBER:
                self._problem(
                    node.start_mark, f"{_short_tag(tag)}: {_clip(text)!r} is not {kind}"
                )
                return text
            return number
        if tag in (_MAP_TAG, _SEQ_TAG):
            self._problem(node.start_mark, f"{_short_tag(tag)} cannot be applied to a scalar")
            return text
        self._problem(node.start_mark, _refused_tag(tag))
        return text

    def _check_collection_tag(self, node: Any) -> None:
        tag = node.tag
        if tag is _MAP or tag is _SEQ:
            return
        is_map = isinstance(node, MappingNode)
        if tag == (_MAP_TAG if is_map else _SEQ_TAG):
            return
        if tag in _SCALAR_TAGS or tag in (_MAP_TAG, _SEQ_TAG):
            kind = "a mapping" if is_map else "a list"
            self._problem(node.start_mark, f"{_short_tag(tag)} cannot be applied to {kind}")
            return
        self._problem(node.start_mark, _refused_tag(tag))

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            key_mark = _mark(key_node.start_mark)
            key = self._key(key_node)
            if key is None:
                # Still look inside the value for more problems.
                self._construct(value_node, path + ("?",), depth)
                continue
            if key == "<<" and getattr(key_node, "tag", None) is _PLAIN:
                self._problem(
                    key_node.start_mark,
                    "merge keys ('<<') are not supported: write the keys out in full",
                )
                self._construct(value_node, path + (key,), depth)
                continue
            first = first_seen.get(key)
            if first is not None:
                self._problem(
                    key_node.start_mark, f"duplicate key {key!r} (first at line {first.line})"
                )
                self._construct(value_node, path + (key,), depth)
                continue
            first_seen[key] = key_mark
            child = path + (key,)
            self.keys[child] = key_mark
            result[key] = self.build(value_node, child, depth)
        return result

    def _key(self, node: Any) -> str | None:
        """The string a mapping key stands for, or None (after a problem) if none."""
        via = ""
        target = node
        if isinstance(node, _Alias):
            target = node.target
            via = f" (via alias '*{node.anchor}')"
        self._tick(node.start_mark)
        if not isinstance(target, ScalarNode):
            kind = "a mapping" if isinstance(target, MappingNode) else "a list"
            self._problem(node.start_mark, f"a mapping key must be a string, not {kind}{via}")
            return None
        tag = target.tag
        text: str = target.value
        if tag is _PLAIN or tag is _TEXT or tag == _STR_TAG:
            return text
        if tag in _SCALAR_TAGS:
            self._problem(
                node.start_mark,
                f"mapping keys are always strings: remove the {_short_tag(tag)} tag",
            )
        elif tag in (_MAP_TAG, _SEQ_TAG):
            self._problem(node.start_mark, f"{_short_tag(tag)} cannot be applied to a scalar")
        else:
            self._problem(node.start_mark, _refused_tag(tag))
        return text


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _offset_mark(text: str, offset: int) -> Mark:
    line_start = text.rfind("\n", 0, offset) + 1
    return Mark(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _decode(data: str | bytes, max_bytes: int) -> str:
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
    else:
        size = len(data)
    if size > max_bytes:
        raise YamlLoadError(
            [YamlProblem(None, f"the file is too large: {size} bytes (the limit is {max_bytes} bytes)")]
        )
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    raw = bytes(data)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line_start = raw.rfind(b"\n", 0, bad) + 1
        line = raw.count(b"\n", 0, bad) + 1
        column = len(raw[line_start:bad].decode("utf-8", "replace")) + 1
        if raw.startswith(b"\xef\xbb\xbf") and line == 1:
            column -= 1
        raise YamlLoadError(
            [
                YamlProblem(
                    Mark(line, column),
                    f"the file is not valid UTF-8 (byte 0x{raw[bad]:02x} cannot be decoded); "
                    "save it as UTF-8",
                )
            ]
        ) from None


# The parser's own words for the mistakes people make most, said the way a flow author thinks of them.
_PLAIN_SYNTAX = (
    ("found character '\\t'", "a tab character: YAML is indented with spaces only, never tabs"),
    ("mapping values are not allowed here",
     "a ':' inside a value: put the text in quotes, or check the indentation of this line"),
    ("could not find expected ':'", "a key without ':' (or a line indented differently from the lines above)"),
    ("found unexpected end of stream", "a quote is opened but never closed"),
    ("did not find expected key", "this line is indented differently from the lines above"),
    ("expected <block end>", "this line is indented differently from the lines above"),
    ("did not find expected '-' indicator", "this line is indented differently from the list above"),
)


def _plain_syntax_message(problem: str, context: str) -> str | None:
    for needle, text in _PLAIN_SYNTAX:
        if needle in problem or needle in context:
            return text
    return None


def _syntax_problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    context, problem = exc.context, exc.problem
    context_mark, problem_mark = exc.context_mark, exc.problem_mark
    if context and "duplicate anchor" in context and context_mark is not None:
        # PyYAML: "found duplicate anchor 'x'; first occurrence" / "second occurrence"
        name = context.split("anchor", 1)[1].split(";", 1)[0].strip()
        return YamlProblem(
            _mark(problem_mark) if problem_mark is not None else None,
            f"duplicate anchor {name} (first at line {context_mark.line + 1})",
        )
    plain = _plain_syntax_message(problem or "", context or "")
    if plain is not None:
        where = problem_mark if problem_mark is not None else context_mark
        return YamlProblem(_mark(where) if where is not None else None, plain)
    message = problem or context or "invalid YAML"
    if problem and context:
        if context_mark is not None and context_mark is not problem_mark:
            message += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
        else:
            message += f" ({context})"
    where = problem_mark if problem_mark is not None else context_mark
    return YamlProblem(_mark(where) if where is not None else None, message)


def _ordered(problems: list[YamlProblem]) -> list[YamlProblem]:
    unique = list(dict.fromkeys(problems))  # aliases can repeat a problem
    return sorted(
        unique,
        key=lambda p: (0, 0, 0) if p.mark is None else (1, p.mark.line, p.mark.column),
    )


def _compose(text: str, max_depth: int, problems: list[YamlProblem]) -> Any:
    """The root node of the only document in ``text``; adds problems it finds."""
    loader = _Loader(text, max_depth)
    try:
        loader.get_event()  # type: ignore[no-untyped-call]  # STREAM-START
        if loader.check_event(StreamEndEvent):
            raise YamlLoadError([YamlProblem(None, "the file is empty")])
        root = loader.compose_document()
        if not loader.check_event(StreamEndEvent):
            second = loader.peek_event()  # type: ignore[no-untyped-call]
            problems.append(
                YamlProblem(
                    _mark(second.start_mark),
                    "a flow file holds one YAML document, but a second one starts here",
                )
            )
        return root
    finally:
        loader.dispose()


def load_yaml(
    text: str | bytes,
    *,
    max_bytes: int = 1_000_000,
    max_nodes: int = 200_000,
    max_depth: int = 64,
) -> tuple[Any, Positions]:
    """Load one YAML document safely; return its value and where its parts start.

    Raises ``YamlLoadError`` with every problem found.  See the module
    docstring for the rules.
    """
    source = _decode(text, max_bytes)
    problems: list[YamlProblem] = []
    try:
        root = _compose(source, max_depth, problems)
    except _Fatal as exc:
        raise YamlLoadError([exc.problem]) from None
    except yaml.MarkedYAMLError as exc:
        raise YamlLoadError([_syntax_problem(exc)]) from None
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = char if isinstance(char, int) else ord(char) if isinstance(char, str) else 0
        raise YamlLoadError(
            [
                YamlProblem(
                    _offset_mark(source, exc.position),
                    f"the file contains the character U+{code:04X}, which YAML does not allow",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError([YamlProblem(None, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise YamlLoadError([YamlProblem(None, _depth_message(max_depth))]) from None

    if isinstance(root, ScalarNode) and root.tag is _PLAIN and root.value == "":
        raise YamlLoadError(_ordered([YamlProblem(None, "the file is empty"), *problems]))

    builder = _Builder(max_nodes, max_depth)
    try:
        builder.check_expansion(root)
        value = builder.build(root, (), 0)
    except _Fatal as exc:
        builder.problems.append(exc.problem)
        value = None
    except RecursionError:
        builder.problems.append(YamlProblem(None, _depth_message(max_depth)))
        value = None
    problems.extend(builder.problems)
    if problems:
        raise YamlLoadError(_ordered(problems))
    return value, Positions(builder.values, builder.keys)
