"""The flow's own tests as a gate before an apply (the admin editor and the admin API).

Before a new revision of a flow is applied, its tests run against it, with the other live flows as they
are: the tests file next to the flow in the server's flows folder (`<flow>.tests.yaml`), or else the tests
stored with the live revision (kept from the last apply that ran them). A failing test, or a tests file
that no longer fits the flow (a renamed field, a removed transition), refuses the apply unless the admin
overrides with a reason; the counts, the failures and the reason are kept on the revision
(`flow_revisions.plan["tests"]`, engine/storage/revisions.py `StoredRevision.tests`).

Results are cached by what they depend on (the flows' texts, the calendars, the tests text), so showing
them beside the plan and checking them again at the apply runs them once.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.authoring_tests.loader import TESTS_SUFFIX
from engine.authoring_tests.runner import FileResult, run_tests_text
from engine.language.flow import CompiledFlow
from engine.sla.calendar import CalendarSpec
from engine.storage.registry import FlowRegistry
from engine.storage.revisions import read_live

MAX_REASON = 1000
_CACHE_SIZE = 16
_cache: OrderedDict[str, FileResult] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class TestsSource:
    __test__ = False

    text: str
    where: str  # the file, or "stored with revision N"
    folder: Path  # files named by the tests are relative to it


@dataclass(frozen=True)
class GateResult:
    """The tests of a flow run before an apply; `result` None: the flow has no tests."""

    flow: str
    source: TestsSource | None
    result: FileResult | None

    @property
    def ran(self) -> bool:
        return self.result is not None

    @property
    def passed(self) -> bool:
        return self.result is None or (self.result.refused is None and not self.result.failed)

    @property
    def counts(self) -> tuple[int, int]:
        if self.result is None:
            return 0, 0
        failed = len(self.result.failed)
        return len(self.result.results) - failed, failed

    def failures(self) -> list[dict[str, Any]]:
        """Each failure (or each problem of a refused tests file) as line, column, message and the test's name."""
        if self.result is None:
            return []
        if self.result.refused is not None:
            return [{"test": None, "line": p.line, "column": p.column, "message": p.message} for p in self.result.refused.problems]
        return [{"test": r.name, "line": r.failure.line, "column": r.failure.column, "message": r.failure.message}
                for r in self.result.results if r.failure is not None]

    def to_dict(self) -> dict[str, Any]:
        passed, failed = self.counts
        return {"ran": self.ran, "passed": self.passed, "source": self.source.where if self.source else None,
                "tests_passed": passed, "tests_failed": failed,
                "refused": bool(self.result is not None and self.result.refused is not None),
                "tests": [{"name": r.name, "passed": r.passed, "ms": round(r.seconds * 1000)} for r in
                          (self.result.results if self.result else [])],
                "failures": self.failures()}

    def notes(self, override_reason: str | None) -> dict[str, Any]:
        """What the revision keeps: the outcome, the tests text (so a later apply can run them again), the reason."""
        if self.source is None:
            return {}
        kept = {k: v for k, v in self.to_dict().items() if k != "tests"}
        return {"tests": {**kept, "text": self.source.text, "override_reason": override_reason}}


def find_tests(flow: str, flows_dir: Path | None, stored: Mapping[str, Any] | None, stored_revision: int | None) -> TestsSource | None:
    """The tests of `flow`: the file next to it in the flows folder, else those stored with its live revision."""
    if flows_dir is not None:
        path = Path(flows_dir) / f"{flow}{TESTS_SUFFIX}"
        if path.is_file():
            return TestsSource(path.read_text(encoding="utf-8"), str(path), path.parent)
    text = (stored or {}).get("text")
    if isinstance(text, str) and text.strip():
        return TestsSource(text, f"stored with revision {stored_revision}", Path(flows_dir or "."))
    return None


def _key(flow: CompiledFlow, others: Iterable[CompiledFlow], calendars: Mapping[str, CalendarSpec], source: TestsSource) -> str:
    h = hashlib.sha256()
    for f in sorted([flow, *others], key=lambda f: f.name):
        h.update(f"{f.name}:{f.sha256}\n".encode())
    h.update(json.dumps({k: v.model_dump(mode="json") for k, v in sorted(calendars.items())}, sort_keys=True).encode())
    h.update(source.text.encode())
    h.update(str(source.folder).encode())
    return h.hexdigest()


def run_gate(flow: CompiledFlow, live_flows: Iterable[CompiledFlow], calendars: Mapping[str, CalendarSpec],
             source: TestsSource | None) -> GateResult:
    """Run `source`'s tests on the set of `live_flows` with `flow` in place of its live revision."""
    if source is None:
        return GateResult(flow.name, None, None)
    others = [f for f in live_flows if f.name != flow.name]
    key = _key(flow, others, calendars, source)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is None:
        cached = run_tests_text(source.text, source.where, [*others, flow], calendars, flow.name, source.folder)
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return GateResult(flow.name, source, cached)


def override_problem(gate: GateResult, reason: str | None) -> str | None:
    """Why the apply may not go ahead (None: it may): tests failed and no reason, or a reason too long."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        return f"the reason is too long (at most {MAX_REASON} characters)"
    if gate.passed or reason:
        return None
    return "the flow's own tests fail; fix the flow or the tests, or apply anyway with a reason"


def gate_for_apply(db: Engine, registry: FlowRegistry, flows_dir: Path | None, flow: CompiledFlow) -> GateResult:
    """The gate of applying `flow` on a server: its tests (file, else stored) on the live flows with `flow` in."""
    with db.connect() as conn:
        live = read_live(conn, flow.name)
    source = find_tests(flow.name, flows_dir, live.tests if live else None, live.revision if live else None)
    return run_gate(flow, [lf.flow for lf in registry.all()], registry.calendars, source)
