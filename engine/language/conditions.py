"""Conditional fields: `show_if` and `required_if`, checked when a flow loads and compiled for running.

```yaml
defect_notes: {type: longtext, show_if: "qc_result == 'fail'", required_if: "qc_result == 'fail'"}
```

Both keys are sandboxed expressions over the record's fields (engine/language/expressions.py), like
`when` and `compute`. Loading refuses what could never work: a syntax error (located at its column),
an unknown name, kinds that cannot be compared, a condition that reads its own field, a `required_if`
on a computed or always-required field, and fields whose `show_if` conditions depend on each other in
a cycle (whether one is shown would depend on whether it is shown). What the engine does with them at
run time is in engine/records/conditions.py.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.language.expression_types import expression_problems
from engine.language.expressions import (
    BUILTIN_NAMES, Expression, ExpressionError, compile_expression, parse_expression,
)
from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec

CONDITION_KEYS = ("show_if", "required_if")

ConditionProblem = tuple[tuple[Any, ...], str, int | None]
"""(path into the YAML document, message, offset into the expression's text or None)."""


@dataclass(frozen=True)
class FieldConditions:
    """The compiled conditions of a flow's fields.

    `show_order`: the fields with a `show_if`, each after the fields its condition reads (so that a
    field hidden by its own condition counts as empty for the conditions that read it)."""

    show_if: Mapping[str, Expression] = field(default_factory=dict)
    required_if: Mapping[str, Expression] = field(default_factory=dict)
    show_order: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.show_if or self.required_if)

    @property
    def names(self) -> frozenset[str]:
        """Every field some condition reads: a change of one of them may show, hide or require a field."""
        return frozenset(n for e in (*self.show_if.values(), *self.required_if.values()) for n in e.names
                         if n not in BUILTIN_NAMES)


def _show_deps(spec: FlowSpec, show_if: Mapping[str, Expression]) -> dict[str, list[str]]:
    """field → the fields with a `show_if` that its own `show_if` reads."""
    return {name: sorted(n for n in expr.names if n in show_if and n != name) for name, expr in show_if.items()
            if name in spec.fields}


def compile_conditions(spec: FlowSpec) -> FieldConditions:
    """The conditions of a flow that passed its checks (`condition_problems` found nothing)."""
    show_if = {n: compile_expression(f.show_if) for n, f in spec.fields.items() if f.show_if}
    required_if = {n: compile_expression(f.required_if) for n, f in spec.fields.items() if f.required_if}
    deps = _show_deps(spec, show_if)
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        for dep in deps.get(name, ()):
            place(dep)
        order.append(name)

    for name in spec.fields:
        if name in show_if:
            place(name)
    return FieldConditions(show_if, required_if, tuple(order))


def condition_problems(spec: FlowSpec) -> Iterator[ConditionProblem]:
    """Every problem of the `show_if` / `required_if` keys of `spec`."""
    allowed = set(spec.fields) | BUILTIN_NAMES
    field_kinds = {n: f.expression_kind for n, f in spec.fields.items()}
    titles = {n: f.title for n, f in spec.fields.items() if isinstance(f.title, str)}
    compiled: dict[str, Expression] = {}
    for name, f in spec.fields.items():
        for key in CONDITION_KEYS:
            source = getattr(f, key)
            if source is None:
                continue
            path = ("fields", name, key)
            try:
                expr = compile_expression(source)
            except ExpressionError as exc:
                yield path, str(exc), exc.offset
                continue
            for ref in sorted(expr.names - allowed):
                yield (path, f"{key} of field '{name}' uses unknown field '{ref}'{did_you_mean(ref, list(allowed))}",
                       _offset_of(ref, source))
            if name in expr.names:
                yield (path, f"{key} of field '{name}' reads the field itself; a condition must depend on other fields",
                       _offset_of(name, source))
            for message in expression_problems(parse_expression(source), field_kinds, titles):
                yield path, message, None
            if key == "show_if" and name not in expr.names:
                compiled[name] = expr
        if f.required_if is not None and f.compute is not None:
            yield ("fields", name, "required_if"), f"field '{name}' is computed; it cannot be required", None
        if f.required_if is not None and f.required:
            yield ("fields", name, "required_if"), (f"field '{name}' is always required (required: true); "
                                                    "drop required_if, or required to make it conditional"), None
    yield from _show_cycles(spec, compiled)


def _offset_of(name: str, source: str) -> int | None:
    """Where `name` is first written in `source` as a whole word (to point at it; None if not found)."""
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source)
    return found.start() if found else None


def _show_cycles(spec: FlowSpec, show_if: Mapping[str, Expression]) -> Iterator[ConditionProblem]:
    deps = _show_deps(spec, show_if)
    colour: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        colour[node] = 1
        for nxt in deps.get(node, ()):
            if colour.get(nxt) == 1:
                return trail + [node, nxt]
            if colour.get(nxt) is None:
                found = visit(nxt, trail + [node])
                if found:
                    return found
        colour[node] = 2
        return None

    for name in deps:
        if colour.get(name) is None:
            cycle = visit(name, [])
            if cycle:
                loop = cycle[cycle.index(cycle[-1]):]
                yield (("fields", loop[0], "show_if"),
                       "fields are shown depending on each other in a cycle: " + " → ".join(loop), None)
