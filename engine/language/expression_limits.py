"""Limits on what a flow's expressions may cost: size of the values they make, time, no folding.

Jinja2's sandbox stops an expression from reaching Python's internals, but not
from asking for a lot of work: `'a' * 10**9` or `10**10000000 > 0` take
seconds and gigabytes, and Jinja2 even computes such constant parts while
*compiling* (its optimizer folds constants). A flow file is written by a
business user and checked as they type, so none of that may stall a server.
The environment built here:

* never folds constants when compiling (`optimized=False`);
* intercepts `*`, `**` and `%` and refuses, before computing, a text or a list
  longer than MAX_VALUE_SIZE, an integer power of more than MAX_POWER_BITS bits
  and a format with a width over MAX_VALUE_SIZE;
* lets filters and method calls run only with sizes checked first (an
  integer argument over MAX_VALUE_SIZE, a `replace` or `join` whose result
  would be too long) and then checks the size of what they made; text methods
  are limited to a list that cannot blow a value up;
* offers `range` (at most 100,000 items, Jinja2's own limit) as its only
  global, and drops the filters that draw random numbers or make text of
  their own;
* stops an evaluation that runs past EVAL_SECONDS (`deadline`).

Every refusal raises `ExpressionLimit`, a SecurityError, which the callers
turn into "cannot evaluate" like any other failing expression.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from jinja2.filters import FILTERS
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

MAX_VALUE_SIZE = 100_000  # characters of a text, items of a list
MAX_POWER_BITS = 4_096  # bits of the result of `**` on integers
EVAL_SECONDS = 0.25  # one evaluation of one expression

# Text methods an expression may call: none of them makes a text longer than a small multiple of its input.
_TEXT_METHODS = frozenset({
    "lower", "upper", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
    "startswith", "endswith", "find", "rfind", "index", "rindex", "count", "split", "rsplit", "splitlines",
    "partition", "rpartition", "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace",
    "islower", "isupper", "istitle", "removeprefix", "removesuffix", "replace", "join", "format",
})
_DROPPED_FILTERS = frozenset({"random", "pprint", "xmlattr", "wordwrap", "center", "indent", "urlize"})
_WIDTH = re.compile(r"[0-9]{6,}")  # a width or precision of 100,000 or more inside a format

_deadline: ContextVar[float | None] = ContextVar("relayflow_expression_deadline", default=None)


class ExpressionLimit(SecurityError):
    """An expression asked for more than the limits allow."""


@contextmanager
def deadline(seconds: float = EVAL_SECONDS) -> Iterator[None]:
    """Evaluations inside this block stop after `seconds` (checked at every intercepted step)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _check_time() -> None:
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit:
        raise ExpressionLimit(f"took longer than {EVAL_SECONDS:g} s")


def _too_large() -> ExpressionLimit:
    return ExpressionLimit(f"makes a value of more than {MAX_VALUE_SIZE:,} characters or items")


def _weight(value: Any, budget: int = MAX_VALUE_SIZE) -> int:
    """Characters and items in `value`, nested containers counted through; stops once past `budget`."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        total = len(value)
        for item in value:
            if total > budget:
                break
            if isinstance(item, (str, bytes, list, tuple, dict, set, frozenset)):
                total += _weight(item, budget - total)
        return total
    return 1


def _check_size(value: Any) -> Any:
    if _weight(value) > MAX_VALUE_SIZE:
        raise _too_large()
    return value


def _check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE_SIZE:
            raise ExpressionLimit(f"a number over {MAX_VALUE_SIZE:,} given as a size or count")


def _check_format(pattern: Any) -> None:
    if isinstance(pattern, str) and _WIDTH.search(pattern):
        raise ExpressionLimit("a format with a width over the limit")


def _check_join(items: Any, separator: Any) -> None:
    if not isinstance(items, (list, tuple, str)):
        return  # generators and ranges: their items are small, the result is checked after
    sep = len(separator) if isinstance(separator, str) else 1
    if _weight(items) + sep * len(items) > MAX_VALUE_SIZE:
        raise _too_large()


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    hits = len(text) + 1 if old == "" else text.count(old)
    if len(text) + hits * max(0, len(new) - len(old)) > MAX_VALUE_SIZE:
        raise _too_large()


def _power(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * abs(left).bit_length() > MAX_POWER_BITS:
            raise ExpressionLimit(f"a power of more than {MAX_POWER_BITS:,} bits")
    elif isinstance(right, int) and abs(right) > MAX_VALUE_SIZE:
        raise ExpressionLimit("an exponent over the limit")
    return left**right


def _times(left: Any, right: Any) -> Any:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int) and count > 0:
            if _weight(seq) * count > MAX_VALUE_SIZE:
                raise _too_large()
    return left * right


def _modulo(left: Any, right: Any) -> Any:
    _check_format(left)
    return _check_size(left % right)


def _limited_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        if name != "format":  # format's arguments are values to show, not sizes
            _check_arguments(args, kwargs)
        # The filter's own value is the first argument after the environment/context ones.
        plain = [a for a in args if not isinstance(a, (Context, ImmutableSandboxedEnvironment))]
        if name == "format" and plain:
            _check_format(plain[0])
        elif name == "join" and plain:
            _check_join(plain[0], plain[1] if len(plain) > 1 else kwargs.get("d", ""))
        elif name == "replace" and len(plain) >= 3:
            _check_replace(plain[0], plain[1], plain[2])
        elif plain:
            _check_size(plain[0])  # `string` and friends turn a container into text of about its weight
        return _check_size(fn(*args, **kwargs))

    return run


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with the limits of this module."""

    intercepted_binops = frozenset({"*", "**", "%"})
    _binops: dict[str, Callable[[Any, Any], Any]] = {"*": _times, "**": _power, "%": _modulo}

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: _limited_filter(name, fn) for name, fn in FILTERS.items()
                        if name not in _DROPPED_FILTERS}

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        _check_time()
        return self._binops[op](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_time()
        # The sandbox hands out str.format wrapped (functools.update_wrapper keeps the bound method).
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        formatting = False
        if isinstance(owner, str):
            name = getattr(target, "__name__", "")
            if name not in _TEXT_METHODS:
                raise ExpressionLimit(f"the text method '{name}' is not available")
            if name == "format":
                _check_format(owner)
                formatting = True
            elif name == "join" and args:
                _check_join(args[0], owner)
            elif name == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
        if not formatting:
            _check_arguments(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))
