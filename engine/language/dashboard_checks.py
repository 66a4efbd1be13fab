"""Meaning checks of `dashboards:` (engine/language/dashboard_spec.py): roles, fields and what a sum may add up.

Every problem is located: a path into the YAML document.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec

Path = tuple[Any, ...]
Problem = tuple[Path, str]

SUMMABLE_TYPES = frozenset({"money", "integer", "decimal"})


def dashboard_problems(spec: FlowSpec) -> Iterator[Problem]:
    for i, board in enumerate(spec.dashboards):
        base: Path = ("dashboards", i)
        for j, entry in enumerate(board.for_):
            kind, _, name = entry.partition(":")
            if kind.strip() != "role" or not name.strip():
                yield base + ("for", j), f"unknown audience '{entry}': a dashboard is for role:<role> entries"
            elif name.strip() not in spec.roles:
                yield base + ("for", j), f"unknown role '{name.strip()}'{did_you_mean(name.strip(), list(spec.roles))}"
        if not board.widgets:
            yield base + ("widgets",), "a dashboard needs at least one widget"
        for j, widget in enumerate(board.widgets):
            if widget.sum is None:
                continue
            at = base + ("widgets", j, "sum")
            field = spec.fields.get(widget.sum)
            if field is None:
                yield at, f"unknown field '{widget.sum}'{did_you_mean(widget.sum, list(spec.fields))}"
            elif field.type not in SUMMABLE_TYPES:
                yield at, f"field '{widget.sum}' is a {field.type} field; a sum needs a money or number field"
