"""`<flow>.tests.yaml` → a checked `TestFile`, every problem located as `file:line:column` like a flow file's.

Two passes, like the flow loader (engine/language/loader.py): the structure (pydantic, unknown keys with a
"did you mean"), then the meaning against the flows of the set: every field, transition, state, role, user,
department, file and reason a test names must exist. A test file that names something that is not there
is refused before anything runs, so a typo never passes as a test that checks nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.authoring_tests.reasons import known_reasons
from engine.authoring_tests.spec import (
    ACTIONS, AuthorTest, Expect, FixtureDepartment, FixtureRecord, Fixtures, FixtureUser, Given, NotificationExpect, Step,
    TestFile,
)
from engine.language.flow import CompiledFlow
from engine.language.identifiers import did_you_mean
from engine.language.problems import FlowLoadError, FlowProblem
from engine.language.yaml_safe import Positions, YamlLoadError, document_path, load_yaml

MAX_TESTS_BYTES = 1_000_000
TESTS_SUFFIX = ".tests.yaml"
PathT = tuple[Any, ...]


class TestFileError(FlowLoadError):
    """A tests file that cannot run: every problem, located."""

    __test__ = False


@dataclass
class LoadedTests:
    """A checked tests file: its model, where each of its values starts, the flow it tests."""

    __test__ = False

    spec: TestFile
    positions: Positions
    source: str
    flow: str
    folder: Path

    def where(self, path: PathT, *, key: bool = False) -> tuple[int, int]:
        mark = (self.positions.key(path) if key else None) or self.positions.value(path) or self.positions.locate(path)
        return mark.line, mark.column

    def problem(self, path: PathT, message: str, *, key: bool = False) -> FlowProblem:
        line, column = self.where(path, key=key)
        return FlowProblem(line, column, message, self.source)


def flow_of_tests_file(path: Path) -> str:
    """`sales_order.tests.yaml` tests the flow `sales_order` (named by its flow id; a file named otherwise is
    read as the tests of the flow whose file has that name)."""
    return path.name.removesuffix(TESTS_SUFFIX).removesuffix(".tests.yml")


def _dotted(path: PathT) -> str:
    return ".".join(str(p) for p in path) or "the file"


_MODELS: dict[str, type[BaseModel]] = {
    "": TestFile, "fixtures": Fixtures, "fixtures.users": FixtureUser, "fixtures.departments": FixtureDepartment,
    "fixtures.records": FixtureRecord, "tests": AuthorTest, "tests.given": Given, "tests.steps": Step,
    "tests.steps.expect": Expect, "tests.steps.expect.notifications": NotificationExpect,
}


def _model_at(path: PathT) -> type[BaseModel] | None:
    return _MODELS.get(".".join(str(p) for p in path if not isinstance(p, int)))


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _structure_problems(exc: ValidationError, data: Any, positions: Positions, source: str) -> list[FlowProblem]:
    out: list[FlowProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = document_path(data, loc)
        etype = err["type"]
        mark = positions.value(path) or positions.locate(path)
        if etype == "extra_forbidden":
            key = loc[-1]
            parent = path[:-1] if path and path[-1] == key else path
            model = _model_at(parent)
            hint = did_you_mean(str(key), _keys_of(model)) if model else ""
            if model is Step:
                hint = hint or f" (a step is one of {', '.join(ACTIONS)} or expect)"
                message = f"unknown step '{key}' in {_dotted(parent)}{hint}"
            else:
                message = f"unknown key '{key}' in {_dotted(parent)}{hint}"
            mark = positions.key(parent + (key,)) or mark
        elif etype == "missing":
            message = f"{_dotted(path)}: missing required key '{loc[-1]}'"
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            message = f"{_dotted(path)}: {msg}"
        out.append(FlowProblem(mark.line, mark.column, message, source))
    return list(dict.fromkeys(out))


def _without_broken_steps(data: dict[str, Any], exc: ValidationError) -> TestFile | None:
    """`data` with every step that failed validation made an empty `expect` (indices stay, so positions still
    point at the right steps), validated again: one run also reports what the rest of the file names wrongly.
    None when something else than steps is broken."""
    import copy

    fixed = copy.deepcopy(data)
    for err in exc.errors(include_url=False):
        path = document_path(data, tuple(err["loc"]))
        if len(path) < 4 or path[0] != "tests" or path[2] != "steps" or not isinstance(path[3], int):
            return None
        fixed["tests"][path[1]]["steps"][path[3]] = {"expect": {}}
    try:
        return TestFile.model_validate(fixed)
    except ValidationError:
        return None


def parse_tests_text(text: str | bytes, source: str) -> tuple[TestFile, Positions]:
    try:
        data, positions = load_yaml(text, max_bytes=MAX_TESTS_BYTES)
    except YamlLoadError as exc:
        raise TestFileError([FlowProblem(p.mark.line if p.mark else 1, p.mark.column if p.mark else 1, p.message, source)
                             for p in exc.problems]) from None
    if not isinstance(data, dict):
        raise TestFileError([FlowProblem(1, 1, "a tests file is a mapping with keys fixtures, files, tests", source)])
    return TestFile.model_validate(data), positions


def _parse_all(text: str | bytes, source: str) -> tuple[TestFile | None, Positions | None, list[FlowProblem]]:
    """The model and positions, or the structure problems with what a repaired model can still be checked by."""
    try:
        spec, positions = parse_tests_text(text, source)
        return spec, positions, []
    except ValidationError as exc:
        data, positions = load_yaml(text, max_bytes=MAX_TESTS_BYTES)
        return _without_broken_steps(data, exc), positions, _structure_problems(exc, data, positions, source)


def load_tests_text(text: str | bytes, source: str, flows: Mapping[str, CompiledFlow], flow: str,
                    folder: Path) -> LoadedTests:
    """Parse and check a tests file for `flow` against the flow set `flows`; TestFileError lists every problem."""
    spec, positions, problems = _parse_all(text, source)
    if spec is None or positions is None:
        raise TestFileError(problems)
    loaded = LoadedTests(spec, positions, source, flow, folder)
    problems = sorted(set(problems + _Checker(loaded, flows).run()))
    if problems:
        raise TestFileError(problems)
    return loaded


def load_tests_file(path: Path, flows: Mapping[str, CompiledFlow], flow: str | None = None) -> LoadedTests:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TestFileError([FlowProblem(1, 1, f"cannot read the file: {exc.strerror}", str(path))]) from None
    return load_tests_text(raw, str(path), flows, flow or flow_of_tests_file(path), path.parent)


# --- the meaning: everything a test names exists ---------------------------------------------------------

class _Checker:
    def __init__(self, loaded: LoadedTests, flows: Mapping[str, CompiledFlow]) -> None:
        self.t = loaded
        self.flows = flows
        self.problems: list[FlowProblem] = []
        fx = loaded.spec.fixtures
        self.users = [u.username for u in fx.users]
        self.departments = [d.id for d in fx.departments]
        self.roles = sorted({r for f in flows.values() for r in f.spec.roles})

    def bad(self, path: PathT, message: str, *, key: bool = False) -> None:
        self.problems.append(self.t.problem(path, message, key=key))

    def run(self) -> list[FlowProblem]:
        flow = self.flows.get(self.t.flow)
        if flow is None:
            self.bad((), f"there is no flow '{self.t.flow}' next to this tests file{did_you_mean(self.t.flow, self.flows)} "
                         f"(a file <flow>.tests.yaml tests the flow <flow>)")
            return self.problems
        self._fixtures()
        for name, rel in self.t.spec.files.items():
            if not (self.t.folder / rel).is_file():
                self.bad(("files", name), f"file '{rel}' not found next to the tests file")
        names: dict[str, int] = {}
        for i, test in enumerate(self.t.spec.tests):
            if test.name in names:
                self.bad(("tests", i, "name"), f"two tests are named '{test.name}': give each its own name")
            names[test.name] = i
            self._user(("tests", i, "given", "user"), test.given.user)
            for j, step in enumerate(test.steps):
                self._step(flow, ("tests", i, "steps", j), step)
        return sorted(set(self.problems))

    # people and places
    def _user(self, path: PathT, name: str) -> None:
        if name not in self.users:
            self.bad(path, f"unknown user '{name}' (users are listed under fixtures.users){did_you_mean(name, self.users)}")

    def _fixtures(self) -> None:
        fx = self.t.spec.fixtures
        seen: set[str] = set()
        for i, u in enumerate(fx.users):
            if u.username in seen:
                self.bad(("fixtures", "users", i, "username"), f"user '{u.username}' is listed twice")
            seen.add(u.username)
            for k, role in enumerate(u.roles):
                if role not in self.roles:
                    self.bad(("fixtures", "users", i, "roles", k),
                             f"unknown role '{role}'{did_you_mean(role, self.roles)}: no flow of the set has it")
            if u.department is not None and u.department not in self.departments:
                self.bad(("fixtures", "users", i, "department"), f"unknown department '{u.department}' (departments are listed under "
                         f"fixtures.departments){did_you_mean(u.department, self.departments)}")
        for i, d in enumerate(fx.departments):
            if d.manager is not None:
                self._user(("fixtures", "departments", i, "manager"), d.manager)
            if d.parent is not None and d.parent not in self.departments[:i]:
                self.bad(("fixtures", "departments", i, "parent"),
                         f"unknown department '{d.parent}': a parent is listed before its children")
        for i, r in enumerate(fx.records):
            path = ("fixtures", "records", i)
            self._user(path + ("as",), r.as_)
            target = self.flows.get(r.flow)
            if target is None:
                self.bad(path + ("flow",), f"unknown flow '{r.flow}'{did_you_mean(r.flow, self.flows)}")
                continue
            self._values(target, path + ("values",), r.values)
            if r.state is not None and r.state not in target.spec.states:
                self.bad(path + ("state",), f"flow '{r.flow}' has no state '{r.state}'{did_you_mean(r.state, target.spec.states)}")

    # values: fields of the flow; references by find, files by name, table rows as lists
    def _values(self, flow: CompiledFlow, path: PathT, values: Mapping[str, Any],
                fields: Mapping[str, Any] | None = None) -> None:
        fields = flow.fields if fields is None else fields
        for name, value in values.items():
            f = fields.get(name)
            if f is None:
                self.bad(path + (name,), f"unknown field '{name}' of flow '{flow.name}'{did_you_mean(name, fields)}", key=True)
                continue
            self._value(flow, path + (name,), f, value)

    def _value(self, flow: CompiledFlow, path: PathT, f: Any, value: Any) -> None:
        kind = getattr(f, "type", None)
        if isinstance(value, dict) and set(value) == {"find"}:
            target = self.flows.get(getattr(f, "flow", "")) if kind == "reference" else None
            if target is None:
                self.bad(path, "find: picks a record for a reference field; this field is not one")
            elif not isinstance(value["find"], dict) or not value["find"]:
                self.bad(path + ("find",), "find: {field: value, ...} names the fields of the record to pick")
            else:
                for k in value["find"]:
                    if k not in target.fields:
                        self.bad(path + ("find", k), f"unknown field '{k}' of flow '{target.name}'"
                                 f"{did_you_mean(k, target.fields)}", key=True)
            return
        if isinstance(value, dict) and set(value) == {"file"}:
            if kind != "file":
                self.bad(path, "file: attaches a file to a file field; this field is not one")
            elif value["file"] not in self.t.spec.files:
                self.bad(path + ("file",), f"unknown file '{value['file']}' (files are named under files:)"
                                           f"{did_you_mean(str(value['file']), self.t.spec.files)}")
            return
        if kind == "table":
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                self.bad(path, "the rows of a table field are a list of mappings: [{field: value, ...}, ...]")
                return
            for k, row in enumerate(value):
                self._values(flow, path + (k,), row, f.fields)
            return
        if kind == "file" and isinstance(value, list):
            for k, item in enumerate(value):
                self._value(flow, path + (k,), f, item)

    def _step(self, flow: CompiledFlow, path: PathT, step: Step) -> None:
        if step.as_ is not None:
            self._user(path + ("as",), step.as_)
        if step.create is not None:
            self._values(flow, path + ("create",), step.create)
        if step.edit is not None:
            self._values(flow, path + ("edit",), step.edit)
        if step.move is not None:
            if step.move not in flow.spec.transitions:
                self.bad(path + ("move",), f"unknown transition '{step.move}' of flow '{flow.name}'"
                                           f"{did_you_mean(step.move, flow.spec.transitions)}")
            if step.values:
                self._values(flow, path + ("values",), step.values)
        if step.decide is not None and not any(s.approval is not None for s in flow.spec.states.values()):
            self.bad(path + ("decide",), f"flow '{flow.name}' has no state with an approval: nothing to decide")
        if step.hand_over is not None:
            self._user(path + ("hand_over",), step.hand_over)
        if step.return_ is not None and step.return_ not in flow.spec.states:
            self.bad(path + ("return",), f"unknown state '{step.return_}'{did_you_mean(step.return_, flow.spec.states)}")
        if step.expect_error is not None and step.expect_error not in known_reasons():
            self.bad(path + ("expect_error",), f"unknown reason '{step.expect_error}'"
                     f"{did_you_mean(step.expect_error, known_reasons())} (reasons: {', '.join(known_reasons())})")
        if step.expect is not None:
            self._expect(flow, path + ("expect",), step.expect)

    def _expect(self, flow: CompiledFlow, path: PathT, ex: Expect) -> None:
        if ex.state is not None and ex.state not in flow.spec.states:
            self.bad(path + ("state",), f"unknown state '{ex.state}' of flow '{flow.name}'{did_you_mean(ex.state, flow.spec.states)}")
        if ex.assignee:
            self._user(path + ("assignee",), ex.assignee)
        if ex.assignee_role is not None and ex.assignee_role not in flow.spec.roles:
            self.bad(path + ("assignee_role",), f"unknown role '{ex.assignee_role}' of flow '{flow.name}'"
                                                f"{did_you_mean(ex.assignee_role, flow.spec.roles)}")
        shown = [*flow.fields, *flow.spec.lookups]
        for name in (ex.values or {}):
            if name not in shown:
                self.bad(path + ("values", name), f"unknown field '{name}' of flow '{flow.name}'{did_you_mean(name, shown)}", key=True)
        for k, n in enumerate(ex.notifications or []):
            if n.to.startswith("role:"):
                if n.to[5:] not in self.roles:
                    self.bad(path + ("notifications", k, "to"), f"unknown role '{n.to[5:]}'{did_you_mean(n.to[5:], self.roles)}")
            else:
                self._user(path + ("notifications", k, "to"), n.to)


def tests_files(paths: Iterable[Path]) -> list[Path]:
    """The tests files named, and those of the folders named (each folder's `*.tests.yaml`, sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted([*p.glob("*" + TESTS_SUFFIX), *p.glob("*.tests.yml")]))
        else:
            out.append(p)
    return list(dict.fromkeys(out))
