"""Checks of flows against the other flows they refer to, located in the file that holds each problem.

`check_set` runs over a folder read as one set (engine/language/flow_set.py: `relayflow validate
DIR`, the server start); `check_against` checks one flow against the flows already live (the admin
editor, `POST /api/admin/flows/validate`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.language.flow import CompiledFlow
from engine.language.problems import FlowLoadError, FlowProblem
from engine.language.reference_rules import Problem, cross_flow_problems
from engine.language.spec import FlowSpec
from engine.language.yaml_safe import YamlLoadError, load_yaml


def locate(flow: CompiledFlow, problems: Iterable[Problem]) -> list[FlowProblem]:
    """Problems given as paths into `flow`'s file, as line:column in its source."""
    problems = list(problems)
    if not problems:
        return []
    try:
        _, positions = load_yaml(flow.source_text)
    except YamlLoadError:  # it loaded once; cannot happen, but never hide the problems for it
        return [FlowProblem(1, 1, message, flow.source) for _, message in problems]
    out = []
    for path, message in problems:
        mark = positions.value(path) or positions.locate(path)
        out.append(FlowProblem(mark.line, mark.column, message, flow.source))
    return out


def check_against(flow: CompiledFlow, known: Mapping[str, FlowSpec]) -> FlowLoadError | None:
    """`flow` checked against `known` (flow id → spec; `flow` itself may refer to itself)."""
    every = {**known, flow.name: flow.spec}
    found = locate(flow, cross_flow_problems(flow.spec, every))
    return FlowLoadError(found) if found else None


def check_set(flows: list[CompiledFlow], broken: Iterable[str] = ()) -> tuple[list[CompiledFlow], list[FlowLoadError]]:
    """The flows whose references hold within the set, and the errors of the others. `broken`: flow ids
    whose files did not load (a reference to one of them is reported as such, not as unknown)."""
    known = {f.name: f.spec for f in flows}
    broken = set(broken) - set(known)
    good: list[CompiledFlow] = []
    bad: list[FlowLoadError] = []
    for flow in flows:
        problems = []
        for path, message in cross_flow_problems(flow.spec, known):
            target = next((n for n in broken if f"unknown flow '{n}'" in message), None)
            if target is not None:
                message = f"reference to flow '{target}', whose file has errors (see them above)"
            problems.append((path, message))
        found = locate(flow, problems)
        if found:
            bad.append(FlowLoadError(found))
        else:
            good.append(flow)
    return good, bad
