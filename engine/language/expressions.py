"""Expressions of a flow file, compiled once in Jinja2's sandbox.

Nothing in a flow file executes Python: conditions (`when`), computed values
(`compute`) and the record title template run in an immutable sandbox and
see only the record's fields, `user`, `now` and `today`, and the aggregates
over a table's rows (`sum`, `count`, `min`, `max`).
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from engine.language.aggregates import AGGREGATES
from engine.language.date_functions import DATE_FUNCTIONS
from engine.language.expression_limits import LimitedEnvironment, deadline
from engine.language.fast_arithmetic import NOT_FAST, Fast, fast_form, run_fast

BUILTIN_NAMES = frozenset({"user", "now", "today", *AGGREGATES, *DATE_FUNCTIONS})
MAX_SOURCE = 2_000  # characters of one expression or template

_ENV = LimitedEnvironment(undefined=StrictUndefined, autoescape=False)
_ENV.globals.update(AGGREGATES)  # sum/count/min/max over a table's rows (engine/language/aggregates.py)
_ENV.globals.update(DATE_FUNCTIONS)  # days(n) (engine/language/date_functions.py)
_TEXT_ENV = LimitedEnvironment(autoescape=False)
# A title or label template shows values; loops and macros could make it as slow as one likes.
_TEMPLATE_STATEMENTS = (nodes.Output, nodes.If)


class ExpressionError(ValueError):
    """An expression that does not compile; `message` is for a person, `offset` (0-based, when
    known) is where in the expression's text the mistake is."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


def _syntax_offset(source: str) -> int | None:
    """Where a one-line expression that Jinja2 refused goes wrong: Jinja2 only says the line, so ask
    Python's parser, whose expression syntax is the same for what flows write (None if it parses)."""
    if "\n" in source:
        return None
    try:
        ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        if exc.offset is None:
            return None
        lead = len(source) - len(source.lstrip())
        return min(max(exc.offset - 1, 0) + lead, len(source))
    return None


@dataclass(frozen=True)
class Expression:
    """A compiled expression with the names it reads."""

    source: str
    names: frozenset[str]
    _fn: Callable[..., Any]
    _fast: Fast | None = None  # plain arithmetic of numbers, computed directly (engine/language/fast_arithmetic.py)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Value of the expression; raises EvaluationError when it cannot be computed."""
        if self._fast is not None:
            value = run_fast(self._fast, context)
            if value is not NOT_FAST:
                return value
        try:
            with deadline():
                return self._fn(**context)
        except (TypeError, ValueError, ArithmeticError, UndefinedError, SecurityError,
                AttributeError, KeyError, IndexError) as exc:
            raise EvaluationError(f"cannot evaluate '{self.source}': {exc}") from exc


class EvaluationError(ValueError):
    """An expression that failed at run time (e.g. an empty field in arithmetic)."""


@dataclass(frozen=True)
class TextTemplate:
    """A compiled `{{ }}` template, e.g. the record title."""

    source: str
    names: frozenset[str]
    _render: Callable[..., str]

    # Text and bare `{{ name }}`s only (most titles): joined directly, as Jinja2 would render them.
    _parts: tuple[tuple[bool, str], ...] | None = None

    def render(self, context: Mapping[str, Any]) -> str:
        if self._parts is not None:
            out = []
            for is_name, text in self._parts:
                if is_name:
                    value = context.get(text)
                    out.append("" if value is None else str(value))
                else:
                    out.append(text)
            return "".join(out)
        try:
            with deadline():
                return self._render(**{k: ("" if v is None else v) for k, v in context.items()})
        except Exception:  # a title must never break a page
            return ""


def _plain_parts(ast: nodes.Template) -> tuple[tuple[bool, str], ...] | None:
    """(is a name, text or name) of a template of text and bare names only; else None."""
    parts: list[tuple[bool, str]] = []
    for node in ast.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((False, child.data))
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                parts.append((True, child.name))
            else:
                return None
    return tuple(parts)


def _check_statements(body: list[nodes.Node]) -> None:
    for node in body:
        if not isinstance(node, _TEMPLATE_STATEMENTS):
            raise ExpressionError("a template may use {{ value }} and {% if %} only (no loops, macros or blocks)")
        if isinstance(node, nodes.If):
            _check_statements([*node.body, *node.elif_, *node.else_])


def _names(ast: nodes.Template) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(ast))


def parse_expression(source: str) -> nodes.Template:
    """The syntax tree of an expression that compiles (for checks when a flow loads)."""
    return _ENV.parse("{{ (" + source + ") }}")


def compile_expression(source: str) -> Expression:
    """Compile a sandboxed expression; raises ExpressionError with a readable message."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the expression is empty")
    if "{{" in source or "{%" in source:
        raise ExpressionError("write the expression without {{ }} (e.g. amount >= 100000)")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"the expression is longer than {MAX_SOURCE:,} characters")
    try:
        ast = _ENV.parse("{{ (" + source + ") }}")
        fn = _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not compile: {exc.message}", _syntax_offset(source)) from None
    output = ast.body[0] if len(ast.body) == 1 else None
    fast = (fast_form(output.nodes[0]) if isinstance(output, nodes.Output) and len(output.nodes) == 1
            and isinstance(output.nodes[0], nodes.Expr) else None)
    return Expression(source=source, names=_names(ast), _fn=fn, _fast=fast)


def compile_template(source: str) -> TextTemplate:
    """Compile a text template such as `{{ customer }} · {{ product_model }}`."""
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"the template is longer than {MAX_SOURCE:,} characters")
    try:
        ast = _TEXT_ENV.parse(source)
        tpl = _TEXT_ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"template does not compile: {exc.message}") from None
    _check_statements(ast.body)
    return TextTemplate(source=source, names=_names(ast), _render=tpl.render, _parts=_plain_parts(ast))
