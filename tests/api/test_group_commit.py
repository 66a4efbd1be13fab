"""Group commit on SQLite: concurrent writes share a COMMIT, yet each answer is committed and failures stay apart."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from engine.records import state_entry as state_entry_module
from engine.records.errors import ValidationFailed
from tests.api.conftest import ORDER, make_api, served

URL = "/api/flows/sales_order/records"


@pytest.fixture
def server(database_url: str, reference_flow_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Group commit is the default: on the event loop for SQLite, in worker threads for PostgreSQL."""
    client, api = make_api(database_url, reference_flow_text, tmp_path / "flows")
    svc = client.app.state.api  # type: ignore[attr-defined]
    assert svc.group_commit is not None
    try:
        with served(client.app) as base:
            yield base, api, database_url
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]


def _gather(base: str, calls: list[tuple[str, str, dict[str, str], Any]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=50)) as c:
            return list(await asyncio.gather(*(c.request(m, u, headers=h, json=b) for m, u, h, b in calls)))

    return asyncio.run(go())


def _count(url: str, sql: str) -> int:
    db = create_engine(url)
    try:
        with db.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        db.dispose()


def test_concurrent_creates_are_all_committed_before_their_answers(server: Any) -> None:
    base, api, url = server
    answers = _gather(base, [("POST", URL, api.h("sally"), {"values": {**ORDER, "customer": f"Shop {i}"}})
                             for i in range(30)])
    assert [r.status_code for r in answers] == [201] * 30
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 30
    # Read by a connection of its own: every answered record is durable, with its history row.
    assert _count(url, f"SELECT COUNT(*) FROM flow_sales_order WHERE id IN ({','.join(map(str, ids))})") == 30
    assert _count(url, "SELECT COUNT(*) FROM history WHERE flow = 'sales_order' AND action = 'create'") == 30


def test_refused_writes_in_a_batch_do_not_touch_the_others(server: Any) -> None:
    base, api, url = server
    recs = [api.create() for _ in range(6)]
    calls = []
    for i, rec in enumerate(recs):
        stale = i % 2 == 1
        calls.append(("POST", f"{URL}/{rec['id']}/transitions/submit", api.h("sally"),
                      {"version": rec["version"] + (5 if stale else 0)}))
    calls.append(("POST", f"{URL}/{recs[0]['id']}/transitions/approve", api.h("sally"), {}))  # wrong role
    calls.append(("POST", URL, api.h("sally"), {"values": {**ORDER, "quantity": "many"}}))  # invalid
    answers = _gather(base, calls)
    codes = [r.status_code for r in answers]
    assert codes[:6] == [200, 409, 200, 409, 200, 409] and codes[7] == 422, codes
    assert codes[6] in (403, 409), codes  # a sales user may not approve (403), or it is not in review yet (409)
    assert answers[1].json()["current_version"] == recs[1]["version"]
    assert answers[7].json()["errors"][0]["field"] == "quantity"
    states = {r["id"]: api.get("sally", f"{URL}/{r['id']}").json()["state"] for r in recs}
    assert [states[r["id"]] for r in recs] == ["review", "draft", "review", "draft", "review", "draft"]


def test_a_job_failing_after_its_writes_rolls_back_alone(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch is rolled back and every job re-run alone: the good ones land, the failing one leaves nothing."""
    base, api, url = server
    real = state_entry_module.on_state_entry

    def explode_for_boom(conn: Any, flow: Any, record_id: int, before: Any, after: Any, *a: Any, **kw: Any) -> None:
        real(conn, flow, record_id, before, after, *a, **kw)
        if after.get("customer") == "BOOM":  # the record row and its history row are written by now
            raise ValidationFailed({"customer": "refused after writing"})

    monkeypatch.setattr(state_entry_module, "on_state_entry", explode_for_boom)
    names = ["Good 1", "BOOM", "Good 2", "Good 3"]
    answers = _gather(base, [("POST", URL, api.h("sally"), {"values": {**ORDER, "customer": n}}) for n in names])
    assert [r.status_code for r in answers] == [201, 422, 201, 201]
    assert _count(url, "SELECT COUNT(*) FROM flow_sales_order WHERE customer = 'BOOM'") == 0
    assert _count(url, "SELECT COUNT(*) FROM flow_sales_order WHERE customer LIKE 'Good %'") == 3
    assert _count(url, "SELECT COUNT(*) FROM history WHERE action = 'create'") == 3


def test_two_clients_racing_on_one_version_in_one_batch(server: Any) -> None:
    base, api, url = server
    for _ in range(5):
        rec = api.create()
        body = {"version": rec["version"]}
        answers = _gather(base, [("POST", f"{URL}/{rec['id']}/transitions/submit", api.h("sally"), body)] * 2)
        assert sorted(r.status_code for r in answers) == [200, 409]
        history = api.get("sally", f"{URL}/{rec['id']}/history").json()
        assert [h["action"] for h in history] == ["create", "transition"]


def test_other_writes_on_the_server_thread_do_not_wait_on_an_open_batch(server: Any) -> None:
    """Idempotent creates and claims write outside the batch; mixed with plain creates, all finish at once."""
    base, api, url = server
    calls: list[tuple[str, str, dict[str, str], Any]] = []
    for i in range(10):
        calls.append(("POST", URL, api.h("sally"), {"values": {**ORDER, "customer": f"Plain {i}"}}))
        calls.append(("POST", URL, api.h("sally", **{"Idempotency-Key": f"key-{i}"}),
                      {"values": {**ORDER, "customer": f"Keyed {i}"}}))
    answers = asyncio.run(asyncio.wait_for(asyncio.to_thread(_gather, base, calls), 20))
    assert [r.status_code for r in answers] == [201] * 20
    assert _count(url, "SELECT COUNT(*) FROM flow_sales_order") == 20
