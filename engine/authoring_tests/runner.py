"""Run the tests of a `<flow>.tests.yaml` on throw-away databases, with injected time.

Each test gets a copy of a prepared database (engine/authoring_tests/sandbox.py) holding the flows of the
set and the file's fixtures, and walks its steps through the engine's own doors: `Records.create / edit /
transition`, `approvals.decide`, the task actions, and for `wait` the SLA scheduler's pass at the instant
reached by adding working time on the flow's calendar. Time is the test's: it starts at `given.now` and
moves only with `wait`. The first step that does not do what the test says stops the test; its failure
is located at that step (or at the expectation that failed) as `file:line:column`.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from engine.authoring_tests.loader import LoadedTests, PathT, TestFileError, load_tests_file
from engine.authoring_tests.reasons import matches, reason_of
from engine.authoring_tests.sandbox import Sandbox
from engine.authoring_tests.spec import AuthorTest, Expect, FixtureRecord, Step, parse_instant
from engine.files.store import FolderStore
from engine.files.uploads import receive
from engine.language.durations import parse_duration
from engine.language.flow import CompiledFlow
from engine.language.problems import FlowProblem
from engine.people.departments import add_department, add_member
from engine.people.users import create_user, load_actor
from engine.records.actor import Actor
from engine.records.approval_rounds import OPEN
from engine.records.approvals import decide, lock_record, round_tasks
from engine.records.errors import WorkflowError
from engine.records.records import Record, Records
from engine.records.system_moves import move
from engine.records.task_actions import hand_over, return_record, urge
from engine.records.transitions import to_db, values_from_row
from engine.sla.calendar import BusinessCalendar, CalendarSpec, ElapsedClock
from engine.sla.scheduler import run_flow_pass
from engine.storage.plain import PlainExecutor
from engine.storage.registry import FlowRegistry
from engine.storage.schema import outbox, role_grants, users


class StepFailed(Exception):
    """A step or an expectation did not hold; `path` is where in the file."""

    def __init__(self, path: PathT, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class TestResult:
    __test__ = False

    name: str
    line: int
    column: int
    failure: FlowProblem | None
    seconds: float
    steps: int = 0

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class FileResult:
    source: str
    flow: str
    results: list[TestResult] = field(default_factory=list)
    refused: TestFileError | None = None

    @property
    def failed(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]


# --- values as the record shows them -----------------------------------------------------------------

def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def shown(flow_field: Any, value: Any) -> Any:
    """A value as the record shows it in JSON (money '2400.00', a date '2026-11-20', a table: row dicts)."""
    if value is None:
        return None
    if getattr(flow_field, "type", None) == "table":
        return [{k: shown(flow_field.fields.get(k), v) for k, v in row.items()} for row in value]
    return flow_field.to_json(value) if flow_field is not None else value


def same(expected: Any, actual: Any) -> bool:
    """Does a value written in the test mean the value shown? Numbers by value (2400 = '2400.00'), rows by the
    keys the test names, everything else as text."""
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and same(v, actual[k]) for k, v in expected.items())
    if expected is None or actual is None:
        return expected is None and actual in (None, "", [])
    a, b = _number(expected), _number(actual)
    if a is not None and b is not None and not isinstance(expected, str):
        return a == b
    return str(expected) == str(actual)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _doing(step: Step, action: str) -> str:
    target = {"move": step.move, "decide": step.decide, "hand_over": step.hand_over, "return": step.return_,
              "wait": step.wait}.get(action)
    who = f" as {step.as_}" if step.as_ else ""
    return f"{action} {target}{who}" if target else f"{action}{who}"


# --- one run of one test ---------------------------------------------------------------------------------

class _Run:
    def __init__(self, loaded: LoadedTests, db: Engine, registry: FlowRegistry, store: FolderStore, now: datetime) -> None:
        self.t = loaded
        self.db = db
        self.registry = registry
        self.records = Records(db, registry)
        self.store = store
        self.now = now
        self.flow = registry.get(loaded.flow).flow
        self.record: Record | None = None
        self.reader = loaded.spec.tests[0].given.user  # who reads lookups (the test's own user once it runs)
        self._actors: dict[str, Actor] = {}

    def actor(self, username: str) -> Actor:
        if username not in self._actors:
            self._actors[username] = load_actor(self.db, username=username)
        return self._actors[username]

    # values written in the test → values the engine takes
    def resolve(self, flow: CompiledFlow, path: PathT, values: Mapping[str, Any], actor: Actor,
                fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
        fields = flow.fields if fields is None else fields
        return {name: self._resolve_one(flow, path + (name,), fields[name], name, value, actor) for name, value in values.items()}

    def _resolve_one(self, flow: CompiledFlow, path: PathT, f: Any, name: str, value: Any, actor: Actor) -> Any:
        kind = getattr(f, "type", None)
        if isinstance(value, dict) and set(value) == {"find"}:
            return self.find(path + ("find",), str(f.flow), value["find"])
        if kind == "file":
            items = value if isinstance(value, list) else [value]
            ids = [self.upload(flow, path, name, item["file"], actor) if isinstance(item, dict) else item for item in items]
            return ids if getattr(f, "multiple", False) else (ids[0] if ids else None)
        if kind == "table" and isinstance(value, list):
            return [self.resolve(flow, path + (k,), row, actor, f.fields) for k, row in enumerate(value)]
        if isinstance(value, float):
            return str(value)  # 0.1 stays 0.1: no binary float reaches a decimal field
        return value

    def find(self, path: PathT, flow_name: str, wanted: Mapping[str, Any]) -> int:
        """The id of the one record of `flow_name` whose fields show `wanted`; a find that matches none or several
        is a mistake of the test file (refused like one, located)."""
        live = self.registry.get(flow_name)
        with self.db.connect() as conn:
            rows = conn.execute(select(live.table)).mappings().all()
        hits = []
        for row in rows:
            values = values_from_row(live.flow, row)
            if all(same(v, shown(live.flow.fields[k], values.get(k))) for k, v in wanted.items()):
                hits.append(int(row["id"]))
        if len(hits) != 1:
            what = ", ".join(f"{k} = {_text(v)}" for k, v in wanted.items())
            why = "matches no record" if not hits else f"matches {len(hits)} records; name more fields"
            raise TestFileError([self.t.problem(path, f"find in flow '{flow_name}' ({what}) {why}")])
        return hits[0]

    def upload(self, flow: CompiledFlow, path: PathT, field_name: str, name: str, actor: Actor) -> str:
        file = self.t.folder / self.t.spec.files[name]
        data = file.read_bytes()
        return receive(PlainExecutor(self.db), self.store, flow, field_name, actor, file.name, iter([data]), now=self.now).id

    def current(self, path: PathT) -> Record:
        if self.record is None:
            raise StepFailed(path, "there is no record yet: a test starts with a create")
        self.record = self.records.get(self.flow.name, self.record.id)
        return self.record

    # the steps
    def step(self, path: PathT, step: Step, default_user: str) -> None:
        action = step.action
        if action is not None:
            actor = self.actor(step.as_ or default_user)
            try:
                self._act(path, step, action, actor)
            except WorkflowError as exc:
                if step.expect_error is None:
                    raise StepFailed(path, f"expected {_doing(step, action)} to go through, but it was refused "
                                           f"({reason_of(exc)}): {exc.message}") from None
                if not matches(step.expect_error, exc):
                    raise StepFailed(path + ("expect_error",), f"expected the step to be refused with {step.expect_error}, "
                                     f"but it was refused with {reason_of(exc)}: {exc.message}") from None
            else:
                if step.expect_error is not None:
                    after = f"; the record is now in state {self.record.state}" if self.record is not None else ""
                    raise StepFailed(path + ("expect_error",),
                                     f"expected the step to be refused with {step.expect_error}, but it went through{after}")
        if step.expect is not None:
            self.expect(path + ("expect",), step.expect)

    def _act(self, path: PathT, step: Step, action: str, actor: Actor) -> None:
        flow = self.flow
        if action == "create":
            self.record = self.records.create(flow.name, actor, self.resolve(flow, path + ("create",), step.create or {}, actor),
                                              now=self.now)
            return
        if action == "wait":
            self.wait(str(step.wait))
            return
        rec = self.current(path)
        if action == "edit":
            self.record = self.records.edit(flow.name, rec.id, actor, self.resolve(flow, path + ("edit",), step.edit or {}, actor),
                                            expected_version=None, comment=step.comment, now=self.now)
        elif action == "move":
            values = self.resolve(flow, path + ("values",), step.values, actor) if step.values else None
            self.record = self.records.transition(flow.name, rec.id, str(step.move), actor, expected_version=None,
                                                  values=values, comment=step.comment, now=self.now)
        elif action == "decide":
            decide(self.records, flow.name, rec.id, actor, str(step.decide), step.comment, now=self.now)
        elif action == "hand_over":
            hand_over(self.records, flow.name, rec.id, actor, str(step.hand_over), step.comment, now=self.now)
        elif action == "return":
            return_record(self.records, flow.name, rec.id, actor, str(step.return_), step.comment, now=self.now)
        elif action == "urge":
            urge(self.records, flow.name, rec.id, actor, step.urge if isinstance(step.urge, str) else step.comment, now=self.now)

    def wait(self, duration: str) -> None:
        """Working time on the flow's calendar passes (elapsed time when it has none); the SLA scheduler runs."""
        self.now = flow_clock(self.flow, self.registry.calendars).add(self.now, parse_duration(duration))
        for live in self.registry.all():
            if live.flow.clocks:  # a flow without clocks has no SLA events to file or fan out
                run_flow_pass(self.db, live, now=self.now)

    # the expectations
    def expect(self, path: PathT, ex: Expect) -> None:
        rec = self.current(path)
        flow = self.flow
        if ex.state is not None and rec.state != ex.state:
            raise StepFailed(path + ("state",), f"expected state {ex.state}, but the record is in {rec.state}")
        if ex.assignee is not None or ex.assignee_role is not None:
            self._expect_assignee(path, rec, ex)
        for name, want in (ex.values or {}).items():
            got = self._shown_value(path + ("values", name), rec, name, want)
            if not same(want, got):
                raise StepFailed(path + ("values", name), f"expected {name} {_text(want)}, but it is {_text(got)}")
        if ex.due is not None:
            want_at = parse_instant(ex.due)
            due = rec.system.get("sla_due_at")
            if due is None or due != want_at:
                shown_due = due.astimezone(want_at.tzinfo).isoformat(timespec="minutes") if due else "not set (no clock runs)"
                raise StepFailed(path + ("due",), f"expected due {ex.due}, but it is {shown_due}")
        if ex.pending_approvers is not None:
            with self.db.connect() as conn:
                tasks = round_tasks(conn, flow.name, rec.id, rec.state)
            pending = sum(t["status"] in OPEN for t in tasks)
            if pending != ex.pending_approvers:
                names = ", ".join(str(t["approver_name"]) for t in tasks if t["status"] in OPEN) or "nobody"
                raise StepFailed(path + ("pending_approvers",),
                                 f"expected {ex.pending_approvers} pending approvers, but there are {pending} ({names})")
        if ex.notifications is not None:
            self._expect_notifications(path + ("notifications",), rec, ex)
        if ex.history is not None:
            actions = [str(h["action"]) for h in self.records.history(flow.name, rec.id)]
            it = iter(actions)
            if not all(a in it for a in ex.history):
                raise StepFailed(path + ("history",), f"expected the history {', '.join(ex.history)} (in this order), "
                                                      f"but it is {', '.join(actions)}")

    def _shown_value(self, path: PathT, rec: Record, name: str, want: Any) -> Any:
        flow = self.flow
        if name in flow.spec.lookups:
            from engine.records.references import lookup_values, shown_targets
            targets = shown_targets(self.db, self.registry, flow, rec.values, self.actor(self.reader))
            return lookup_values(flow, targets).get(name)
        got = shown(flow.fields[name], rec.values.get(name))
        if isinstance(want, dict) and set(want) == {"find"}:  # a reference, named by what it refers to
            target = str(getattr(flow.fields[name], "flow", ""))
            return {"find": want["find"]} if got == self.find(path + ("find",), target, want["find"]) else got
        return got

    def _expect_assignee(self, path: PathT, rec: Record, ex: Expect) -> None:
        uid = rec.system.get("assignee_id")
        with self.db.connect() as conn:
            name = conn.execute(select(users.c.username).where(users.c.id == uid)).scalar() if uid else None
            roles = {r for (r,) in conn.execute(select(role_grants.c.role).where(role_grants.c.user_id == uid))} if uid else set()
        if ex.assignee is not None and (name or "") != ex.assignee:
            raise StepFailed(path + ("assignee",), f"expected the assignee {ex.assignee or 'nobody'}, but it is {name or 'nobody'}")
        if ex.assignee_role is not None:
            queued = rec.system.get("assignee_role")
            ok = ex.assignee_role in roles if uid else queued == ex.assignee_role
            if not ok:
                who = f"{name} (roles: {', '.join(sorted(roles)) or 'none'})" if uid else f"the queue of {queued or 'nobody'}"
                raise StepFailed(path + ("assignee_role",), f"expected an assignee with role {ex.assignee_role}, but it is {who}")

    def _expect_notifications(self, path: PathT, rec: Record, ex: Expect) -> None:
        o = outbox
        with self.db.connect() as conn:
            sent = [dict(r) for r in conn.execute(select(o.c.event, o.c.channel, o.c.user_id, users.c.username)
                                                  .outerjoin(users, users.c.id == o.c.user_id)
                                                  .where(o.c.flow == self.flow.name, o.c.record_id == rec.id)
                                                  .order_by(o.c.id)).mappings()]
            members: dict[str, list[str]] = {}
            for n in ex.notifications or []:
                if n.to.startswith("role:"):
                    q = (select(users.c.username).join(role_grants, role_grants.c.user_id == users.c.id)
                         .where(role_grants.c.role == n.to[5:], users.c.active.is_(True)))
                    members[n.to] = [str(u) for (u,) in conn.execute(q)]
        listed = "; ".join(f"{s['event']} to {s['username'] or '—'} via {s['channel']}" for s in sent) or "none"
        if not ex.notifications:
            if sent:
                raise StepFailed(path, f"expected no notifications, but these were sent: {listed}")
            return
        for k, n in enumerate(ex.notifications):
            people = members.get(n.to, [n.to])
            for person in people or ["(nobody has the role)"]:
                if not any(s["username"] == person and (n.kind is None or s["event"] == n.kind)
                           and (n.via is None or s["channel"] == n.via) for s in sent):
                    what = " ".join(x for x in (n.kind or "a notification", f"to {person}", f"via {n.via}" if n.via else "") if x)
                    raise StepFailed(path + (k,), f"expected {what}, but the notifications sent were: {listed}")


def flow_clock(flow: CompiledFlow, calendars: Mapping[str, CalendarSpec]) -> BusinessCalendar | ElapsedClock:
    """The clock of the flow's own calendar (`calendar:`), or elapsed time in its timezone when it has none."""
    cal = flow.spec.calendar
    spec = cal if isinstance(cal, CalendarSpec) else calendars.get(str(cal)) if cal else None
    return BusinessCalendar.from_spec(spec) if spec is not None else ElapsedClock(flow.timezone)


# --- a tests file -----------------------------------------------------------------------------------------

def _fixtures(loaded: LoadedTests, db: Engine, registry: FlowRegistry, store: FolderStore) -> None:
    """The people, departments and records every test starts with, written into the template."""
    fx = loaded.spec.fixtures
    for u in fx.users:
        create_user(db, u.username, display_name=u.display_name or u.username, roles=list(u.roles))
    for d in fx.departments:
        add_department(db, d.id, d.title or d.id, parent=d.parent, manager=d.manager)
    for u in fx.users:
        if u.department:
            add_member(db, u.department, u.username)
    now = parse_instant(fx.now or loaded.spec.tests[0].given.now)
    run = _Run(loaded, db, registry, store, now)
    for i, r in enumerate(fx.records):
        path = ("fixtures", "records", i)
        try:
            _fixture_record(run, path, r)
        except WorkflowError as exc:
            raise TestFileError([loaded.problem(path, f"the fixture record was refused ({reason_of(exc)}): {exc.message}")]) from None


def _fixture_record(run: _Run, path: PathT, r: FixtureRecord) -> None:
    """A record of the test's world: created as `r.as_` with what a creator may set; values only a later step
    could set (a credit limit finance sets) are written into it as given, checked by their field."""
    actor = run.actor(r.as_)
    live = run.registry.get(r.flow)
    flow = live.flow
    values = run.resolve(flow, path + ("values",), r.values, actor)
    creatable = {k: v for k, v in values.items() if k in flow.create_fields}
    rec = run.records.create(r.flow, actor, creatable, now=run.now)
    later: dict[str, Any] = {}
    for name, raw in values.items():
        if name in creatable:
            continue
        f = flow.fields[name]
        if not f.stored_in_row or f.compute is not None:
            raise TestFileError([run.t.problem(path + ("values", name), f"{name} cannot be given to a fixture record "
                                               "(a computed field, or rows no creator may write)")])
        try:
            later[name] = f.coerce(raw, tz=flow.timezone)
        except ValueError as exc:
            raise TestFileError([run.t.problem(path + ("values", name), f"{name}: {getattr(exc, 'message', exc)}")]) from None
    with run.records.executor.transaction() as tx:
        if later:
            tx.conn.execute(update(live.table).where(live.table.c.id == rec.id).values(**to_db(flow, later)))
        if r.state is not None and r.state != rec.state:  # the engine moves it there itself (no role, no rule)
            row = lock_record(tx, live, rec.id)
            move(run.records, tx, live, row, actor, run.now, to=r.state, action="transition")


@contextmanager
def _sandbox(loaded: LoadedTests, flows: Sequence[CompiledFlow], calendars: Mapping[str, CalendarSpec]) -> Iterator[
        tuple[Sandbox, FolderStore]]:
    box = Sandbox(flows, calendars)
    try:
        store = FolderStore(box.files)
        db = box.open_template()
        try:
            _fixtures(loaded, db, box.registry(), store)
        finally:
            box.seal(db)
        yield box, store
    finally:
        box.close()


def run_one(loaded: LoadedTests, test: AuthorTest, index: int, box: Sandbox, store: FolderStore) -> TestResult:
    started = time.perf_counter()
    line, column = loaded.where(("tests", index, "name"))
    db, path = box.fresh()
    failure: FlowProblem | None = None
    done = 0
    try:
        run = _Run(loaded, db, box.registry(), store, parse_instant(test.given.now))
        run.reader = test.given.user
        for j, step in enumerate(test.steps):
            try:
                run.step(("tests", index, "steps", j), step, test.given.user)
            except StepFailed as exc:
                failure = loaded.problem(exc.path, exc.message)
                break
            except TestFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - an engine bug is reported at the step that hit it, and the run goes on
                failure = loaded.problem(("tests", index, "steps", j), f"the engine failed: {type(exc).__name__}: {exc}")
                break
            done += 1
    finally:
        box.discard(db, path)
    return TestResult(test.name, line, column, failure, time.perf_counter() - started, done)


def run_loaded(loaded: LoadedTests, flows: Sequence[CompiledFlow], calendars: Mapping[str, CalendarSpec],
               *, only: str | None = None) -> FileResult:
    """Every test of a loaded file (or the one named `only`) on the flow set `flows`."""
    result = FileResult(loaded.source, loaded.flow)
    try:
        with _sandbox(loaded, flows, calendars) as (box, store):
            for i, test in enumerate(loaded.spec.tests):
                if only is None or test.name == only:
                    result.results.append(run_one(loaded, test, i, box, store))
    except TestFileError as exc:
        result.refused = exc
    return result


def run_tests_text(text: str | bytes, source: str, flows: Sequence[CompiledFlow], calendars: Mapping[str, CalendarSpec],
                   flow: str, folder: Path) -> FileResult:
    """Load and run a tests file given as text (the admin editor's: the flow being applied in the set)."""
    from engine.authoring_tests.loader import load_tests_text

    try:
        loaded = load_tests_text(text, source, {f.name: f for f in flows}, flow, folder)
    except TestFileError as exc:
        return FileResult(source, flow, refused=exc)
    return run_loaded(loaded, flows, calendars)


def run_tests_file(path: Path, flows: Sequence[CompiledFlow], calendars: Mapping[str, CalendarSpec]) -> FileResult:
    try:
        loaded = load_tests_file(path, {f.name: f for f in flows})
    except TestFileError as exc:
        from engine.authoring_tests.loader import flow_of_tests_file
        return FileResult(str(path), flow_of_tests_file(path), refused=exc)
    return run_loaded(loaded, flows, calendars)
