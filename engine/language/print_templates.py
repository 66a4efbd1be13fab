"""A flow's print templates (`print: - template: x.html`): Jinja2 HTML in the same sandbox as expressions.

A print template may loop over line items and history, so it gets Jinja2's statements (unlike a
title template), but nothing that reaches outside the record it is given:

* it is compiled in `LimitedEnvironment` (engine/language/expression_limits.py): the immutable
  sandbox, size limits on values, no constant folding, and autoescaping (it makes HTML);
* `{% include %}`, `{% extends %}`, `{% import %}` are refused when the flow loads (a template
  sees no other files), and so is any name or attribute starting with `_` (`''.__class__`,
  `record.__init__`): refused at load with the template's line, and by the sandbox anyway;
* every `{% for %}` goes through a filter that checks the time limit on each item, so nested
  loops cannot spin; the output is capped at MAX_OUTPUT characters and a render at RENDER_SECONDS.

Rendering is given plain data only (dicts, lists, text, numbers, dates: engine/printing/context.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError

from engine.language.expression_limits import ExpressionLimit, LimitedEnvironment, _check_time, deadline
from engine.language.expressions import ExpressionError

MAX_TEMPLATE = 200_000  # characters of one template file
MAX_OUTPUT = 5_000_000  # characters of one rendered print
RENDER_SECONDS = 5.0
_TICK = "_each_item_timed"


def _timed(items: Any) -> Iterator[Any]:
    """The items of a loop, with the time limit checked before each one."""
    if items is None:
        return
    for item in items:
        _check_time()
        yield item


class PrintEnvironment(LimitedEnvironment):
    """The expressions' sandbox with autoescaping and timed loops (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=ChainableUndefined)
        self.filters[_TICK] = _timed


_ENV = PrintEnvironment()
_REFUSED = {
    nodes.Extends: "{% extends %}", nodes.Include: "{% include %}", nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
}


class PrintTemplateError(ExpressionError):
    """A template that does not load; `line` is its line in the template file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class PrintRenderError(ValueError):
    """A template that failed while rendering one record (a limit, a sandbox refusal)."""


def _private(name: object) -> bool:
    return isinstance(name, str) and name.startswith("_")


def _check(ast: nodes.Template) -> None:
    for node in ast.find_all(nodes.Node):
        for kind, what in _REFUSED.items():
            if isinstance(node, kind):
                raise PrintTemplateError(f"a print template may not use {what}: it sees the record only", node.lineno)
        bad = None
        if isinstance(node, nodes.Getattr) and _private(node.attr):
            bad = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and _private(node.arg.value):
            bad = node.arg.value
        elif isinstance(node, nodes.Name) and _private(node.name):
            bad = node.name
        if bad is not None:
            raise PrintTemplateError(f"'{bad}': names starting with _ are not available in a print template", node.lineno)


def _timed_loops(ast: nodes.Template) -> None:
    for loop in ast.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, _TICK, [], [], None, None, lineno=loop.lineno)


@dataclass(frozen=True)
class PrintTemplate:
    """A compiled print template."""

    source: str
    _template: Any

    def render(self, context: Mapping[str, Any]) -> str:
        """The HTML for one record; PrintRenderError when a limit or the sandbox stops it."""
        out: list[str] = []
        size = 0
        try:
            with deadline(RENDER_SECONDS):
                chunks: Iterable[str] = self._template.generate(**context)
                for chunk in chunks:
                    _check_time()
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        raise ExpressionLimit(f"makes more than {MAX_OUTPUT:,} characters")
                    out.append(chunk)
        except (SecurityError, TemplateError, TypeError, ValueError, ArithmeticError, AttributeError, KeyError,
                IndexError, RecursionError) as exc:
            raise PrintRenderError(f"the print template failed: {exc}") from None
        return "".join(out)


def compile_print_template(source: str) -> PrintTemplate:
    """Compile the text of a print template; PrintTemplateError (with the line) when it cannot be used."""
    if len(source) > MAX_TEMPLATE:
        raise PrintTemplateError(f"the template is longer than {MAX_TEMPLATE:,} characters")
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise PrintTemplateError(f"the template does not compile: {exc.message}", exc.lineno) from None
    _check(ast)
    _timed_loops(ast)
    try:
        template = _ENV.from_string(ast)
    except TemplateSyntaxError as exc:  # pragma: no cover - parse() already caught syntax errors
        raise PrintTemplateError(f"the template does not compile: {exc.message}", exc.lineno) from None
    return PrintTemplate(source, template)
