"""A slow flow check in the editor (as you type, plan, apply) does not stall the server: /health stays fast.

The flow's loading is made slow on purpose (3 s of CPU, or 2 s of waiting, when the text carries
a marker), the server runs under uvicorn on 127.0.0.1, and /health is timed while the check runs.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import api.routers.flow_admin as flow_admin
import ui.flow_editor as flow_editor
from tests.ui.live import REFERENCE_FLOW, LiveServer, make_app, sign_in

SLOW = "\n# slow-check\n"
FLOW = REFERENCE_FLOW.read_text(encoding="utf-8")
HEALTH_BOUND = 0.5  # seconds: generous for a request that does nothing


def _slowed(load: Callable[..., Any], *, busy: bool, seconds: float) -> Callable[..., Any]:
    def slow_load(text: str, *args: Any, **kwargs: Any) -> Any:
        if SLOW in text:
            end = time.monotonic() + seconds
            if busy:
                while time.monotonic() < end:  # CPU work that holds the GIL in slices, as parsing does
                    sum(range(1000))
            else:
                time.sleep(seconds)  # work that waits (a database count in a plan)
        return load(text, *args, **kwargs)
    return slow_load


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FastAPI, LiveServer, httpx.Client]]:
    app = make_app(tmp_path)

    @app.get("/_test/small_pool")
    async def small_pool() -> dict[str, int]:
        import anyio.to_thread
        anyio.to_thread.current_default_thread_limiter().total_tokens = 4
        return {"threads": 4}

    client, csrf = sign_in(app, "admin")
    with LiveServer(app) as server:
        http = httpx.Client(base_url=server.url, cookies=dict(client.cookies), timeout=30,
                            headers={"X-CSRF-Token": csrf, "Origin": server.url})
        yield app, server, http
        http.close()
    app.state.db.dispose()


def _health_times(http: httpx.Client, while_running: threading.Thread, *, first_after: float = 0.4) -> list[float]:
    time.sleep(first_after)
    times = []
    while while_running.is_alive() and len(times) < 5:
        t0 = time.monotonic()
        assert http.get("/health").status_code == 200
        times.append(time.monotonic() - t0)
        time.sleep(0.2)
    return times


def test_api_validate_and_plan_of_a_slow_flow_leave_health_fast(served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, _, http = served
    monkeypatch.setattr(flow_admin, "load_flow_text", _slowed(flow_admin.load_flow_text, busy=True, seconds=3))
    for path in ("/api/admin/flows/validate", "/api/admin/flows/plan"):
        answers: list[httpx.Response] = []
        worker = threading.Thread(target=lambda p=path, out=answers: out.append(http.post(p, json={"yaml": FLOW + SLOW})))
        started = time.monotonic()
        worker.start()
        times = _health_times(http, worker)
        worker.join()
        assert time.monotonic() - started >= 3  # the check really was slow
        assert answers[0].status_code == 200, answers[0].text
        assert times and max(times) < HEALTH_BOUND, (path, times)


def test_page_checks_as_you_type_do_not_take_the_shared_threads(served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, _, http = served
    monkeypatch.setattr(flow_editor, "load_flow_text", _slowed(flow_editor.load_flow_text, busy=False, seconds=2))
    assert http.get("/_test/small_pool").status_code == 200  # 4 shared threads: a few typists could take them all
    answers: list[httpx.Response] = []

    def typist() -> None:
        answers.append(http.post("/admin/flows/sales_order/edit/validate", headers={"HX-Request": "true"},
                                 data={"yaml": FLOW + SLOW}))

    typists = [threading.Thread(target=typist) for _ in range(6)]
    for t in typists:
        t.start()
    times = _health_times(http, typists[-1])
    for t in typists:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert times and max(times) < HEALTH_BOUND, times

