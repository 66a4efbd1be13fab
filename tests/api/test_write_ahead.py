"""PostgreSQL write-ahead groups (engine/storage/write_ahead.py): concurrent writes are grouped, rows read ahead and
writes held back, yet every client gets the answer it would get alone, and only committed data.

Groups are made deterministic by holding a group commit's dispatch until the expected number of jobs wait
(`_one_group`), or by driving a `PostgresGroupCommit` directly on an event loop of the test.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

import api.group_commit as group_commit_module
from api.errors import workflow_problem
from api.group_commit import PostgresGroupCommit, _Batch, _Job
from api.services import ApiServices
from engine.people.users import load_actor, set_active
from engine.records.errors import StaleVersion, WorkflowError
from engine.storage.executor import WriteExecutor
from engine.storage.write_ahead import WriteAhead
from tests.api.conftest import ORDER, Api, make_api, served

FLOW = "sales_order"
URL = f"/api/flows/{FLOW}/records"
Call = tuple[str, str, dict[str, str], Any]


# --- helpers ------------------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    api: Api
    svc: ApiServices
    url: str


@contextlib.contextmanager
def _serve(url: str, flow_text: str, folder: Path) -> Iterator[Server]:
    """The API under a real uvicorn (lifespan on: PostgreSQL groups run on its event loop)."""
    client, api = make_api(url, flow_text, folder)
    svc: ApiServices = client.app.state.api  # type: ignore[attr-defined]
    try:
        with served(client.app) as base:
            yield Server(base, api, svc, url)
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def server(postgres_url: str, reference_flow_text: str, tmp_path: Path) -> Iterator[Server]:
    with _serve(postgres_url, reference_flow_text, tmp_path / "flows") as s:
        yield s


@dataclass
class Groups:
    """What each group commit ran: its job count, the driver it ran on and whether it read ahead."""

    sizes: list[int] = field(default_factory=list)
    on_async: list[bool] = field(default_factory=list)
    ahead: list[bool] = field(default_factory=list)
    reruns: list[int] = field(default_factory=list)  # job counts of groups run again job by job

    def clear(self) -> None:
        for seen in (self.sizes, self.on_async, self.ahead, self.reruns):
            seen.clear()


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> Groups:
    seen = Groups()
    real_run_jobs = PostgresGroupCommit._run_jobs
    real_rerun = group_commit_module._rerun_alone

    def run_jobs(self: PostgresGroupCommit, batch: _Batch, jobs: list[_Job]) -> None:
        seen.sizes.append(len(jobs))
        seen.on_async.append(bool(batch.conn.dialect.is_async))  # a greenlet on the loop, over an asyncio driver
        try:
            real_run_jobs(self, batch, jobs)
        finally:
            seen.ahead.append(batch.ahead is not None)

    def rerun_alone(jobs: list[_Job], executor: Any) -> None:
        seen.reruns.append(len(jobs))
        real_rerun(jobs, executor)

    monkeypatch.setattr(PostgresGroupCommit, "_run_jobs", run_jobs)
    monkeypatch.setattr(group_commit_module, "_rerun_alone", rerun_alone)
    return seen


@contextlib.contextmanager
def _one_group(gc: Any, n: int, timeout: float = 10.0) -> Iterator[None]:
    """Hold the group commit's dispatch until `n` jobs wait, so that they form one group."""
    real = type(gc)._dispatch
    deadline: list[float] = []

    def held(loop: asyncio.AbstractEventLoop) -> None:
        pending = gc._pending or []
        if 0 < len(pending) < n:
            if not deadline:
                deadline.append(time.monotonic() + timeout)
            if time.monotonic() < deadline[0]:  # past it: let the group go, the test's asserts will tell
                loop.call_later(0.002, held, loop)
                return
        real(gc, loop)

    gc._dispatch = held
    try:
        yield
    finally:
        del gc._dispatch


def _gather(base: str, calls: list[Call]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=80)) as c:
            return list(await asyncio.gather(*(c.request(m, u, headers=h, json=b) for m, u, h, b in calls)))

    return asyncio.run(go())


def _create_call(api: Api, user: str = "sally", **values: Any) -> Call:
    return ("POST", URL, api.h(user), {"values": {**ORDER, **values}})


def _move_call(api: Api, rec: dict[str, Any], name: str, user: str = "sally", version: int | None = None) -> Call:
    return ("POST", f"{URL}/{rec['id']}/transitions/{name}", api.h(user),
            {"version": rec["version"] if version is None else version})


def _assignee(api: Api, rec: dict[str, Any]) -> str:
    """The user a record is assigned to (task ownership: only they act on it)."""
    return {uid: name for name, uid in api.ids.items()}[rec["assignee_id"]]


def _created(base: str, api: Api, n: int, **values: Any) -> list[dict[str, Any]]:
    answers = _gather(base, [_create_call(api, **values, customer=f"Setup {i}") for i in range(n)])
    assert [r.status_code for r in answers] == [201] * n, [r.text for r in answers]
    return [r.json() for r in answers]


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows read through a connection of its own: what is committed."""
    db = create_engine(url)
    try:
        with db.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        db.dispose()


def _record(url: str, record_id: int) -> Any:
    found = _rows(url, f"SELECT * FROM flow_{FLOW} WHERE id = :id", id=record_id)
    assert len(found) == 1, (record_id, found)
    return found[0]._mapping


def _history(url: str, record_id: int) -> list[tuple[str, str | None]]:
    return [(r.action, r.transition) for r in _rows(
        url, "SELECT action, transition FROM history WHERE flow = :f AND record_id = :id ORDER BY id",
        f=FLOW, id=record_id)]


def _bump_after_read_ahead(monkeypatch: pytest.MonkeyPatch, url: str, target: int) -> list[bool]:
    """Another client changes record `target` (version + 1) right after a group read it ahead."""
    real = WriteAhead.read_ahead
    bumped: list[bool] = []

    def read_ahead(self: WriteAhead, loads: Any, creates: Any) -> None:
        loads = list(loads)
        real(self, loads, creates)
        if not bumped and any(record_id == target for _, record_id in loads):
            db = create_engine(url)
            try:
                with db.begin() as conn:
                    conn.execute(text(f"UPDATE flow_{FLOW} SET version = version + 1, customer = 'Changed elsewhere'"
                                      " WHERE id = :id"), {"id": target})
            finally:
                db.dispose()
            bumped.append(True)

    monkeypatch.setattr(WriteAhead, "read_ahead", read_ahead)
    return bumped


def _job(svc: ApiServices, method: str, *args: Any, **kwargs: Any) -> Callable[[WriteExecutor], Any]:
    """A group commit job: `method` of the access layer, writing through the executor the group hands it."""
    return lambda executor: getattr(svc.access.using(executor), method)(*args, **kwargs)


def _answer(outcome: Any) -> tuple[int, Any]:
    """A result of `PostgresGroupCommit.run` as the API would answer it (status, body)."""
    if isinstance(outcome, WorkflowError):
        response = workflow_problem(None, outcome)
        return response.status_code, response.body
    if isinstance(outcome, BaseException):
        raise outcome
    return 200, outcome


# --- 1. the async path under a real server --------------------------------------------------------------


def test_concurrent_creates_and_transitions_are_committed_in_order(server: Server, groups: Groups) -> None:
    """Dozens of concurrent writes all succeed; every answer is committed, ids are unique, history is in order."""
    base, api, url = server.base, server.api, server.url
    gc = server.svc.group_commit
    with _one_group(gc, 16):
        first = _gather(base, [_create_call(api, customer=f"Round1 {i}") for i in range(16)])
    assert [r.status_code for r in first] == [201] * 16, [r.text for r in first]
    recs = [r.json() for r in first]
    # Natural grouping: several groups in flight at once, transitions and creates mixed.
    second = _gather(base, [_move_call(api, rec, "submit") for rec in recs]
                     + [_create_call(api, customer=f"Round2 {i}") for i in range(16)])
    assert [r.status_code for r in second] == [200] * 16 + [201] * 16, [r.text for r in second]
    submitted = [r.json() for r in second[:16]]
    with _one_group(gc, 8):
        third = _gather(base, [_move_call(api, rec, "approve", user=_assignee(api, rec)) for rec in submitted[:8]])
    assert [r.status_code for r in third] == [200] * 8, [r.text for r in third]

    assert 16 in groups.sizes and 8 in groups.sizes, groups.sizes
    assert all(groups.on_async) and all(groups.ahead), groups
    assert groups.reruns == []
    answered = {r.json()["id"]: r.json() for r in first + second + third}
    created_ids = [r.json()["id"] for r in first + second[16:]]
    assert len(set(created_ids)) == 32
    assert _rows(url, f"SELECT COUNT(*) FROM flow_{FLOW}")[0][0] == 32
    for record_id, last in answered.items():
        row = _record(url, record_id)
        assert (row["state"], row["version"]) == (last["state"], last["version"]), (record_id, last)
    for rec in submitted[:8]:
        assert _history(url, rec["id"]) == [("create", None), ("transition", "submit"), ("transition", "approve")]
        assert _record(url, rec["id"])["state"] == "production"
    for rec in submitted[8:]:
        assert _history(url, rec["id"]) == [("create", None), ("transition", "submit")]
    for resp in second[16:]:
        assert _history(url, resp.json()["id"]) == [("create", None)]
        assert _record(url, resp.json()["id"])["customer"] == resp.json()["values"]["customer"]


# --- 2. a record changed after it was read ahead ----------------------------------------------------------


def test_record_changed_after_read_ahead_answers_409_and_spares_the_group(
        server: Server, groups: Groups, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale transition gets 409 with the current version and leaves nothing; the rest of the group lands."""
    base, api, url = server.base, server.api, server.url
    target, other1, other2 = _created(base, api, 3)
    bumped = _bump_after_read_ahead(monkeypatch, url, target["id"])
    with _one_group(server.svc.group_commit, 4):
        answers = _gather(base, [_move_call(api, target, "submit"), _move_call(api, other1, "submit"),
                                 _create_call(api, customer="Fresh"), _move_call(api, other2, "submit")])
    assert bumped == [True]
    assert [r.status_code for r in answers] == [409, 200, 201, 200], [r.text for r in answers]
    assert answers[0].json()["code"] == "stale_version"
    assert answers[0].json()["current_version"] == target["version"] + 1
    assert groups.sizes[-1] == 4 and groups.reruns == [4], groups  # the held-back UPDATE missed: re-run alone

    row = _record(url, target["id"])
    assert (row["state"], row["version"], row["customer"]) == ("draft", target["version"] + 1, "Changed elsewhere")
    assert _history(url, target["id"]) == [("create", None)]
    for rec in (other1, other2):
        assert (_record(url, rec["id"])["state"], _record(url, rec["id"])["version"]) == ("review", 2)
        assert _history(url, rec["id"]) == [("create", None), ("transition", "submit")]
    fresh = _rows(url, f"SELECT id FROM flow_{FLOW} WHERE customer = 'Fresh'")
    assert [r.id for r in fresh] == [answers[2].json()["id"]]
    assert _history(url, answers[2].json()["id"]) == [("create", None)]


# --- 3. a failing held-back write ----------------------------------------------------------------------------


def _with_unique_order_no(flow_text: str) -> str:
    """The reference flow plus `order_no`, a unique text field a creator sets."""
    field_line = "  customer:      {type: text"
    edit_line = "    edit: [customer, contact_phone,"
    assert flow_text.count(field_line) == 1 and flow_text.count(edit_line) == 1
    order_no = "  order_no:      {type: text, title: 订单号, max_length: 40, unique: true}\n"
    return (flow_text.replace(field_line, order_no + field_line)
            .replace(edit_line, "    edit: [order_no, customer, contact_phone,"))


def test_duplicate_in_a_group_answers_422_and_the_others_are_stored_once(
        postgres_url: str, reference_flow_text: str, tmp_path: Path, groups: Groups) -> None:
    """A create whose held-back INSERT hits a unique value answers 422 naming the field;
    no other create of the group is lost or stored twice."""
    with _serve(postgres_url, _with_unique_order_no(reference_flow_text), tmp_path / "flows") as s:
        existing = _gather(s.base, [_create_call(s.api, order_no="SO-1")])
        assert existing[0].status_code == 201, existing[0].text
        with _one_group(s.svc.group_commit, 5):
            answers = _gather(s.base, [_create_call(s.api, order_no=n, customer=f"C {i}")
                                       for i, n in enumerate(["SO-2", "SO-1", "SO-3", "SO-2", "SO-4"])])
        codes = [r.status_code for r in answers]
        assert codes[1] == 422 and codes[2] == 201 and codes[4] == 201, [r.text for r in answers]
        assert sorted([codes[0], codes[3]]) == [201, 422], [r.text for r in answers]  # whichever came first wins
        for r in answers:
            if r.status_code == 422:
                assert [e["field"] for e in r.json()["errors"]] == ["order_no"], r.text
        assert groups.sizes[-1] == 5 and groups.reruns == [5], groups

        stored = _rows(s.url, f"SELECT order_no, COUNT(*) AS n FROM flow_{FLOW} GROUP BY order_no ORDER BY order_no")
        assert [(r.order_no, r.n) for r in stored] == [("SO-1", 1), ("SO-2", 1), ("SO-3", 1), ("SO-4", 1)]
        for r in answers:
            if r.status_code == 201:
                assert _record(s.url, r.json()["id"])["order_no"] == r.json()["values"]["order_no"]
                assert _history(s.url, r.json()["id"]) == [("create", None)]
        assert _rows(s.url, "SELECT COUNT(*) FROM history WHERE action = 'create'")[0][0] == 4

        # The connection whose pipeline failed went back to the pool usable: the next group just works.
        with _one_group(s.svc.group_commit, 2):
            after = _gather(s.base, [_create_call(s.api, order_no="SO-5"), _create_call(s.api, order_no="SO-6")])
        assert [r.status_code for r in after] == [201, 201], [r.text for r in after]
        assert groups.reruns == [5]


# --- 4. two jobs on one record in one group --------------------------------------------------------------------


def test_jobs_on_the_same_record_in_one_group_apply_in_order(server: Server, groups: Groups) -> None:
    """An edit, a submit and an approval of one record in one group end as if sent one after another."""
    svc, url = server.svc, server.url
    sally, clerk = load_actor(svc.db, username="sally"), load_actor(svc.db, username="clerk1")
    set_active(svc.db, "clerk2", False)  # round robin gives every review to clerk1, who approves (task ownership)
    grouped, alone = _created(server.base, server.api, 2)
    groups.clear()

    async def in_one_group() -> list[Any]:
        gc = PostgresGroupCommit(svc.db, svc.registry)
        await gc.start()
        try:
            rid = grouped["id"]
            touch = (FLOW, rid)
            return list(await asyncio.gather(
                gc.run(_job(svc, "edit", FLOW, rid, sally, {"quantity": 20}, expected_version=1), touch=touch),
                gc.run(_job(svc, "transition", FLOW, rid, "submit", sally, expected_version=2), touch=touch),
                gc.run(_job(svc, "transition", FLOW, rid, "approve", clerk, expected_version=None), touch=touch),
                return_exceptions=True))
        finally:
            await gc.stop()

    outcomes = asyncio.run(in_one_group())
    assert [_answer(o)[0] for o in outcomes] == [200, 200, 200], outcomes
    assert [(o.state, o.version) for o in outcomes] == [("draft", 2), ("review", 3), ("production", 4)]
    assert groups.sizes == [3] and groups.on_async == [True] and groups.ahead == [True], groups
    assert groups.reruns == []  # a second load of a record in the group sees the first job's held-back write

    # The same writes one after another, outside any group.
    svc.access.edit(FLOW, alone["id"], sally, {"quantity": 20}, expected_version=1)
    svc.access.transition(FLOW, alone["id"], "submit", sally, expected_version=2)
    svc.access.transition(FLOW, alone["id"], "approve", clerk, expected_version=None)
    columns = ("state", "version", "quantity", "amount", "assignee_role")
    got, want = _record(url, grouped["id"]), _record(url, alone["id"])
    assert [got[c] for c in columns] == [want[c] for c in columns]
    assert (got["state"], got["version"], got["quantity"]) == ("production", 4, 20)
    assert _history(url, grouped["id"]) == _history(url, alone["id"]) == [
        ("create", None), ("edit", None), ("transition", "submit"), ("transition", "approve")]


def test_a_stale_move_in_a_group_is_refused_by_the_group_itself(
        server: Server, groups: Groups, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs of one group move one record from the same version: the first commits; the second hears
    409 with the current version from the group's own knowledge of the row (no second load from the
    database, no write queued, the group neither spoiled nor run again)."""
    from engine.storage.fastsql import FastStatements

    svc, url = server.svc, server.url
    sally = load_actor(svc.db, username="sally")
    rec, = _created(server.base, server.api, 1)
    groups.clear()
    loads: list[int] = []
    real_select = FastStatements.select_by_id

    def select_by_id(self: FastStatements, conn: Any, record_id: int) -> Any:
        loads.append(record_id)
        return real_select(self, conn, record_id)

    monkeypatch.setattr(FastStatements, "select_by_id", select_by_id)
    spoiled: list[bool] = []
    real_settle = _Batch.settle

    def settle(self: _Batch) -> bool:
        spoiled.append(self.spoiled)
        return real_settle(self)

    monkeypatch.setattr(_Batch, "settle", settle)

    async def in_one_group() -> list[Any]:
        gc = PostgresGroupCommit(svc.db, svc.registry)
        await gc.start()
        try:
            touch = (FLOW, rec["id"])
            return list(await asyncio.gather(*(
                gc.run(_job(svc, "transition", FLOW, rec["id"], "submit", sally, expected_version=1), touch=touch)
                for _ in range(2)), return_exceptions=True))
        finally:
            await gc.stop()

    first, second = asyncio.run(in_one_group())
    assert _answer(first)[0] == 200 and (first.state, first.version) == ("review", 2), first
    assert isinstance(second, StaleVersion) and second.current_version == 2, second
    assert _answer(second)[0] == 409
    assert groups.sizes == [2] and groups.ahead == [True] and groups.reruns == [], groups
    assert spoiled == [False]
    assert loads == []  # both jobs loaded the row from the group: the one read ahead, then as job 1 left it
    row = _record(url, rec["id"])
    assert (row["state"], row["version"]) == ("review", 2)
    assert _history(url, rec["id"]) == [("create", None), ("transition", "submit")]


# --- 5. refused jobs do not spoil the group ----------------------------------------------------------------------


def test_refused_jobs_in_a_group_neither_spoil_it_nor_make_it_run_again(
        server: Server, groups: Groups, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong role, a stale version, an invalid value and a create without the role get their errors;
    the others commit in the same group, which is not run again."""
    base, api, url = server.base, server.api, server.url
    recs = _created(base, api, 4)
    batch_reruns: list[int] = []
    monkeypatch.setattr(_Batch, "rerun_alone", lambda self: batch_reruns.append(len(self.jobs)))
    calls = [_move_call(api, recs[0], "submit"), _move_call(api, recs[1], "submit"),
             _move_call(api, recs[2], "submit", version=recs[2]["version"] + 5),  # stale
             _move_call(api, recs[3], "approve"),  # sally is no clerk
             _create_call(api, quantity="many"),  # invalid
             _create_call(api, user="nobody"),  # no role to create
             _create_call(api, customer="Good create")]
    with _one_group(server.svc.group_commit, len(calls)):
        answers = _gather(base, calls)
    assert [r.status_code for r in answers] == [200, 200, 409, 403, 422, 403, 201], [r.text for r in answers]
    assert answers[2].json()["current_version"] == recs[2]["version"]
    assert answers[4].json()["errors"][0]["field"] == "quantity"
    assert groups.sizes[-1] == len(calls), groups
    assert groups.reruns == [] and batch_reruns == []

    assert [_record(url, r["id"])["state"] for r in recs] == ["review", "review", "draft", "draft"]
    assert [len(_history(url, r["id"])) for r in recs] == [2, 2, 1, 1]
    assert _rows(url, f"SELECT COUNT(*) FROM flow_{FLOW}")[0][0] == 5
    assert _record(url, answers[6].json()["id"])["customer"] == "Good create"


def test_failing_jobs_that_only_read_do_not_make_the_group_run_again(server: Server, groups: Groups) -> None:
    """An unknown record (404) and a second submit of a record another job of the group already moved
    (409) are read from the database, not from the read-ahead: a read is no write, so the group
    still commits once."""
    base, api, url = server.base, server.api, server.url
    recs = _created(base, api, 3)
    groups.clear()
    calls = [_move_call(api, r, "submit") for r in recs]
    calls.append(("POST", f"{URL}/999999/transitions/submit", api.h("sally"), {"version": 1}))
    calls.append(_move_call(api, recs[0], "submit"))  # same version as the first call: loses
    with _one_group(server.svc.group_commit, len(calls)):
        answers = _gather(base, calls)
    codes = [r.status_code for r in answers]
    assert codes[1:4] == [200, 200, 404], [r.text for r in answers]
    # The two submits of the first record: whichever the group ran first wins, the other hears 409.
    assert sorted([codes[0], codes[4]]) == [200, 409], [r.text for r in answers]
    loser = answers[0] if codes[0] == 409 else answers[4]
    assert loser.json()["current_version"] == recs[0]["version"] + 1
    assert groups.reruns == [], groups
    assert [_record(url, r["id"])["state"] for r in recs] == ["review"] * 3
    assert [len(_history(url, r["id"])) for r in recs] == [2, 2, 2]


# --- 6. the sync fallback -------------------------------------------------------------------------------------------


def test_sync_fallback_without_lifespan_commits_and_reruns_correctly(
        postgres_url: str, reference_flow_text: str, tmp_path: Path, groups: Groups,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the server's lifespan, groups run in a worker thread on the blocking driver, with the same results."""
    client, api = make_api(postgres_url, reference_flow_text, tmp_path / "flows")
    svc: ApiServices = client.app.state.api  # type: ignore[attr-defined]
    try:
        assert isinstance(svc.group_commit, PostgresGroupCommit) and svc.group_commit.registry is not None
        # Plain TestClient requests: groups of one, each reading ahead.
        rec = api.create()
        moved = api.move("sally", rec, "submit")
        assert (moved["state"], moved["version"]) == ("review", 2)
        r = api.post("sally", f"{URL}/{rec['id']}/transitions/approve", {"version": 1})
        assert r.status_code == 403, r.text  # sally is no clerk
        r = api.post("clerk1", f"{URL}/{rec['id']}/transitions/approve", {"version": 1})
        assert r.status_code == 409 and r.json()["current_version"] == 2, r.text
        assert groups.sizes and not any(groups.on_async) and all(groups.ahead), groups

        # One group of several jobs on the blocking driver, one record changed after the read-ahead.
        others = [api.create(values={**ORDER, "customer": f"Sync {i}"}) for i in range(3)]
        bumped = _bump_after_read_ahead(monkeypatch, postgres_url, others[0]["id"])
        sally = load_actor(svc.db, username="sally")
        gc = svc.group_commit

        async def one_group() -> list[Any]:
            return list(await asyncio.gather(
                *(gc.run(_job(svc, "transition", FLOW, o["id"], "submit", sally, expected_version=1),
                         touch=(FLOW, o["id"])) for o in others),
                gc.run(_job(svc, "create", FLOW, sally, {**ORDER, "customer": "Sync new"}), touch=(FLOW, None)),
                return_exceptions=True))

        groups.clear()
        outcomes = asyncio.run(one_group())
        assert bumped == [True]
        assert isinstance(outcomes[0], StaleVersion) and outcomes[0].current_version == 2
        assert [_answer(o)[0] for o in outcomes] == [409, 200, 200, 200], outcomes
        assert groups.sizes == [4] and groups.on_async == [False] and groups.reruns == [4], groups
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]

    assert _record(postgres_url, rec["id"])["state"] == "review"
    assert _history(postgres_url, rec["id"]) == [("create", None), ("transition", "submit")]
    assert (_record(postgres_url, others[0]["id"])["state"], _history(postgres_url, others[0]["id"])) == (
        "draft", [("create", None)])
    for o in others[1:]:
        assert _record(postgres_url, o["id"])["state"] == "review"
        assert _history(postgres_url, o["id"]) == [("create", None), ("transition", "submit")]
    new = outcomes[3]
    assert _record(postgres_url, new.id)["customer"] == "Sync new"
    assert _history(postgres_url, new.id) == [("create", None)]


# --- 7. switched off ------------------------------------------------------------------------------------------------


def test_write_ahead_off_still_groups_and_commits(postgres_url: str, reference_flow_text: str, tmp_path: Path,
                                                  groups: Groups, monkeypatch: pytest.MonkeyPatch) -> None:
    """RELAYFLOW_WRITE_AHEAD=off: no read-ahead, groups in worker threads, and writes work as before."""
    monkeypatch.setenv("RELAYFLOW_WRITE_AHEAD", "off")
    read_aheads: list[int] = []
    monkeypatch.setattr(WriteAhead, "read_ahead", lambda *a: read_aheads.append(1))
    with _serve(postgres_url, reference_flow_text, tmp_path / "flows") as s:
        gc = s.svc.group_commit
        assert isinstance(gc, PostgresGroupCommit) and gc.registry is None
        assert gc._async_db is None  # start() under the lifespan did nothing
        with _one_group(gc, 6):
            created = _gather(s.base, [_create_call(s.api, customer=f"Off {i}") for i in range(6)])
        assert [r.status_code for r in created] == [201] * 6, [r.text for r in created]
        recs = [r.json() for r in created]
        with _one_group(gc, 6):
            moved = _gather(s.base, [_move_call(s.api, rec, "submit") for rec in recs])
        assert [r.status_code for r in moved] == [200] * 6, [r.text for r in moved]
    assert 6 in groups.sizes and not any(groups.on_async) and not any(groups.ahead), groups
    assert read_aheads == []
    assert len({r["id"] for r in recs}) == 6
    for rec in recs:
        assert _record(postgres_url, rec["id"])["state"] == "review"
        assert _history(postgres_url, rec["id"]) == [("create", None), ("transition", "submit")]


def test_when_asyncpg_cannot_connect_groups_run_in_threads(server: Server, groups: Groups,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A database asyncpg cannot reach (where psycopg can) costs speed, not answers."""
    gc = server.svc.group_commit
    assert gc._async_db is not None

    class Refusing:
        def connect(self) -> Any:
            raise OSError("asyncpg refused")

    monkeypatch.setattr(gc, "_async_db", Refusing())
    with _one_group(gc, 4):
        created = _gather(server.base, [_create_call(server.api, customer=f"Thread {i}") for i in range(4)])
    assert [r.status_code for r in created] == [201] * 4, [r.text for r in created]
    assert groups.sizes[-1] == 4 and not groups.on_async[-1] and groups.ahead[-1], groups
    for r in created:
        assert _record(server.url, r.json()["id"])["customer"].startswith("Thread ")


def test_writes_go_on_across_a_flow_change(server: Server, groups: Groups, reference_flow_text: str) -> None:
    """An admin adds a field while records are written: the groups on the event loop (asyncpg caches
    its prepared statements) keep writing, old records move on, and the new field is stored."""
    base, api, url = server.base, server.api, server.url
    recs = _created(base, api, 4)
    admin = api.h("root")
    added = reference_flow_text.replace("  paid_amount:", "  remarks: {type: text, title: Remarks}\n  paid_amount:")
    added = added.replace("edit: [customer, contact_phone,", "edit: [remarks, customer, contact_phone,", 1)
    with httpx.Client(base_url=base, timeout=30) as c:
        plan = c.post("/api/admin/flows/plan", json={"yaml": added}, headers=admin).json()
        applied = c.post("/api/admin/flows/apply", headers=admin,
                         json={"yaml": added, "plan_hash": plan["hash"], "base_revision": plan["base_revision"]})
        assert applied.status_code == 200, applied.text
    groups.clear()
    calls = [_move_call(api, r, "submit") for r in recs[:2]]
    calls += [_create_call(api, customer="After", remarks=f"note {i}") for i in range(2)]
    calls.append(("POST", f"{URL}/{recs[2]['id']}/transitions/submit", api.h("sally"),
                  {"version": recs[2]["version"], "values": {"remarks": "late note"}}))
    with _one_group(server.svc.group_commit, len(calls)):
        answers = _gather(base, calls)
    assert [r.status_code for r in answers] == [200, 200, 201, 201, 200], [r.text for r in answers]
    assert all(groups.on_async) and groups.reruns == [], groups
    assert _record(url, recs[2]["id"])["remarks"] == "late note"
    assert sorted(_record(url, r.json()["id"])["remarks"] for r in answers[2:4]) == ["note 0", "note 1"]
    assert [_record(url, r["id"])["state"] for r in recs] == ["review", "review", "review", "draft"]


def test_refused_writes_on_the_event_loop_open_no_blocking_connection(
        server: Server, groups: Groups, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused write probes whether the caller may see the record; in a group on the event loop that
    read uses the group's own connection, never a blocking psycopg one on the loop's thread."""
    import asyncio

    base, api = server.base, server.api
    recs = _created(base, api, 2)
    db = server.svc.db
    real_connect = db.connect
    on_loop: list[str] = []

    def connect(*args: Any, **kwargs: Any) -> Any:
        if asyncio._get_running_loop() is not None:  # the serving loop's thread
            on_loop.append("connect")
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(db, "connect", connect)
    groups.clear()
    calls = [_move_call(api, recs[0], "submit"), _move_call(api, recs[1], "approve"),  # sally is no clerk
             _move_call(api, recs[1], "submit", version=recs[1]["version"] + 3)]  # stale
    with _one_group(server.svc.group_commit, len(calls)):
        answers = _gather(base, calls)
    assert [r.status_code for r in answers] == [200, 403, 409], [r.text for r in answers]
    assert all(groups.on_async) and groups.reruns == [], groups
    assert on_loop == []


def test_an_idempotent_create_on_the_event_loop_stores_and_replays_its_answer(server: Server, groups: Groups) -> None:
    """The stored answer (a JSON column, written through asyncpg in the create's own group) replays."""
    base, api, url = server.base, server.api, server.url
    headers = api.h("sally", **{"Idempotency-Key": "loop-key-1"})
    body = {"values": {**ORDER, "customer": "Keyed on the loop"}}
    with httpx.Client(base_url=base, timeout=30) as c:
        first = c.post(URL, json=body, headers=headers)
        again = c.post(URL, json=body, headers=headers)
        other = c.post(URL, json={"values": {**ORDER, "customer": "Something else"}}, headers=headers)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert other.status_code == 422
    assert groups.on_async and all(groups.on_async), groups
    assert _rows(url, f"SELECT COUNT(*) FROM flow_{FLOW} WHERE customer = 'Keyed on the loop'")[0][0] == 1
