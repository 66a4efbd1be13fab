"""The flow's own tests beside the editor's plan: which passed, where each failure is, and whether Apply needs
a reason (engine/authoring_tests/gate.py runs them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from engine.authoring_tests.gate import GateResult, gate_for_apply
from engine.language.flow import CompiledFlow
from ui.services import services
from ui.values import Gettext


@dataclass(frozen=True)
class TestLine:
    __test__ = False

    name: str
    passed: bool
    ms: int


@dataclass(frozen=True)
class FailureLine:
    where: str  # line:column in the tests file
    test: str | None
    message: str


@dataclass(frozen=True)
class TestsView:
    __test__ = False

    ran: bool
    passed: bool
    refused: bool
    source: str
    summary: str
    tests: tuple[TestLine, ...]
    failures: tuple[FailureLine, ...]


def flows_dir(request: Request) -> Path | None:
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "flows_dir", None)


def run_flow_tests(request: Request, flow: CompiledFlow) -> GateResult:
    svc = services(request)
    return gate_for_apply(svc.db, svc.registry, flows_dir(request), flow)


def tests_view(gate: GateResult, _: Gettext) -> TestsView:
    data = gate.to_dict()
    if not gate.ran:
        summary = _("This flow has no tests (write them in {file}).", file=f"{gate.flow}.tests.yaml")
    elif data["refused"]:
        summary = _("The tests file does not fit this flow file; no test ran.")
    else:
        summary = _("{passed} passed, {failed} failed", passed=data["tests_passed"], failed=data["tests_failed"])
    return TestsView(gate.ran, gate.passed, data["refused"], data["source"] or "", summary,
                     tuple(TestLine(t["name"], t["passed"], t["ms"]) for t in data["tests"]),
                     tuple(FailureLine(f"{f['line']}:{f['column']}", f["test"], f["message"]) for f in data["failures"]))
