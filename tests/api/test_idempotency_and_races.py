"""Idempotency keys on creates and transitions; two clients racing on one version."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import ORDER, Api, make_api, served

URL = "/api/flows/sales_order/records"


def _count(api: Api) -> int:
    table = api.app.state.registry.get("sales_order").table  # type: ignore[attr-defined]
    with api.app.state.db.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_replayed_create_makes_one_record(api: Api) -> None:
    key = {"Idempotency-Key": "order-2026-0001"}
    first = api.post("sally", URL, {"values": ORDER}, headers=key)
    again = api.post("sally", URL, {"values": dict(reversed(list(ORDER.items())))}, headers=key)  # same body
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert _count(api) == 1
    # the same key with a different body is refused, and nothing is created
    other = api.post("sally", URL, {"values": {**ORDER, "quantity": 11}}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _count(api) == 1
    # keys belong to their user: another sales rep may use the same text
    assert api.post("sam", URL, {"values": ORDER}, headers=key).status_code == 201
    assert _count(api) == 2


def test_a_failed_request_releases_its_key(api: Api) -> None:
    key = {"Idempotency-Key": "retry-me"}
    bad = api.post("sally", URL, {"values": {**ORDER, "quantity": 0}}, headers=key)
    assert bad.status_code == 422
    good = api.post("sally", URL, {"values": ORDER}, headers=key)
    assert good.status_code == 201
    assert api.post("sally", URL, {"values": {"x": 1}}, headers={"Idempotency-Key": "bad key with spaces"}).status_code == 422


def test_a_write_and_its_stored_answer_commit_together(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """If storing the answer fails, the write is undone too: a retry with the key creates exactly one record."""
    store = api.app.state.api.idempotency  # type: ignore[attr-defined]
    real = store.complete
    broken = [True]

    def failing(*args: Any, **kwargs: Any) -> None:
        if broken[0]:
            raise RuntimeError("the server died before the answer was stored")
        real(*args, **kwargs)

    monkeypatch.setattr(store, "complete", failing)
    key = {"Idempotency-Key": "crash-between"}
    lost = api.post("sally", URL, {"values": ORDER}, headers=key)
    assert lost.status_code == 500 and _count(api) == 0
    broken[0] = False
    retry = api.post("sally", URL, {"values": ORDER}, headers=key)
    assert retry.status_code == 201 and _count(api) == 1
    replay = api.post("sally", URL, {"values": ORDER}, headers=key)
    assert replay.json() == retry.json() and replay.headers["idempotent-replayed"] == "true"
    assert _count(api) == 1


def test_replayed_transition_fires_once(api: Api) -> None:
    rec = api.create()
    url = f"{URL}/{rec['id']}/transitions/submit"
    key = {"Idempotency-Key": "submit-1"}
    one = api.post("sally", url, {"version": 1}, headers=key)
    two = api.post("sally", url, {"version": 1}, headers=key)  # a retry after a lost answer: not a 409
    assert one.status_code == two.status_code == 200
    assert two.json()["version"] == one.json()["version"] == 2
    history = api.get("sally", f"{URL}/{rec['id']}/history").json()
    assert [h["action"] for h in history] == ["create", "transition"]


def _race(base: str, headers: dict[str, str], rec: dict, n: int = 2) -> list[int]:  # type: ignore[type-arg]
    barrier = threading.Barrier(n)
    codes: list[int] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            body = {"version": rec["version"], "values": {"customer": f"client {i}"}}
            barrier.wait()
            r = c.patch(f"{URL}/{rec['id']}", json=body)
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(codes)


def test_two_clients_racing_on_one_version(database_url: str, reference_flow_text: str, tmp_path: Path) -> None:
    client, api = make_api(database_url, reference_flow_text, tmp_path / "flows")
    svc = client.app.state.api  # type: ignore[attr-defined]
    svc.db_mode = "thread"  # real concurrency inside the server, whatever the database
    try:
        with served(client.app) as base:
            for round_ in range(5):
                with httpx.Client(base_url=base, headers=api.h("sally")) as c:
                    rec = c.post(URL, json={"values": ORDER}).json()
                assert _race(base, api.h("sally"), rec) == [200, 409], round_
                with httpx.Client(base_url=base, headers=api.h("sally")) as c:
                    now = c.get(f"{URL}/{rec['id']}").json()
                assert now["version"] == 2
                history = c_history = httpx.get(f"{base}{URL}/{rec['id']}/history", headers=api.h("sally")).json()
                assert [h["action"] for h in c_history] == ["create", "edit"], history
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]
