"""The server as `relayflow serve` runs it, on 127.0.0.1: the request-head limit, several workers, and a
PostgreSQL server that goes away and comes back under load."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from api.app import create_app
from cli.serving import uvicorn_options
from engine.settings import Settings
from tests.api.conftest import ORDER
from tests.pg_server import PgServer, _run, create_database, start_postgres


@contextlib.contextmanager
def serving(app: Any, settings: Settings, http: str = "httptools") -> Iterator[str]:
    options = uvicorn_options(settings, http=http)
    options.pop("workers")
    options.pop("log_config")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _raw(base: str, head: bytes, chunk: int = 65536) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            for i in range(0, len(head), chunk):
                sock.sendall(head[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: what is wanted
        data = b""
        try:
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
        except (ConnectionResetError, TimeoutError):
            pass
        return data


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_an_8_mb_request_head_is_refused_and_the_server_keeps_serving(sqlite_url: str, tmp_path: Path,
                                                                     http: str) -> None:
    settings = Settings(database_url=sqlite_url, flows_dir=tmp_path)
    app = create_app(settings)
    with serving(app, settings, http) as base:
        huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
        answer = _raw(base, huge)
        assert answer == b"" or answer.split(b"\r\n", 1)[0].split(b" ")[1] in (b"431", b"400")
        assert b"200 OK" not in answer
        fine = httpx.get(f"{base}/health", headers={"X-Fine": "a" * 30_000}, timeout=10)
        assert fine.status_code == 200  # a large but sane head still passes
        body = '{"values": {"note": "' + "b" * 500_000 + '"}}'  # a large body is not a large head
        r = httpx.post(f"{base}/api/flows/none/records", content=body,
                       headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code in (401, 404)
    app.state.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_two_workers_counts_requests_of_both_in_metrics(tmp_path: Path) -> None:
    port = _free_port()
    flows = tmp_path / "flows"
    flows.mkdir()
    env = {**os.environ, "RELAYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "RELAYFLOW_WORKER": "off",
           "RELAYFLOW_FLOWS_DIR": str(flows), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-c", "from cli.entry import main; main()", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            time.sleep(0.2)
        with httpx.Client() as one, httpx.Client() as two:  # two connections: the kernel spreads them
            for _ in range(20):
                assert one.get(f"{base}/health").status_code == 200
                assert two.get(f"{base}/health").status_code == 200
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        served = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith("relayflow_http_requests_total{") and 'route="/health"' in line)
        assert served >= 40  # every worker's requests, not only those of the worker that answered
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.stderr.close()  # type: ignore[union-attr]


def test_a_served_process_sets_what_it_made_at_start_aside_from_the_garbage_collector(tmp_path: Path) -> None:
    """`relayflow serve` builds the app with ui/app.py `served_app`: startup's objects are frozen, so a full
    collection later walks only what requests made (a 200-line order page's 110-140 ms pauses, once in 20)."""
    flows = tmp_path / "flows"
    flows.mkdir()
    env = {**os.environ, "RELAYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "RELAYFLOW_WORKER": "off",
           "RELAYFLOW_FLOWS_DIR": str(flows), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    code = ("import gc; from ui.app import served_app; app = served_app(); "
            "print(type(app).__name__, gc.get_freeze_count(), len(gc.get_objects()))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    kind, frozen, tracked = done.stdout.split()
    assert kind == "RelayflowApp"
    assert int(frozen) > 50_000 and int(tracked) < int(frozen) // 10  # almost nothing left for a collection to walk


# --- 10. the database goes away and comes back ----------------------------------------------------

@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL server of this test alone: it is stopped and started again."""
    server = start_postgres(label="outage")
    try:
        yield server
    finally:
        server.stop()


def _pg_ctl(server: PgServer, *args: str) -> None:
    assert server.bindir and server.base_dir and server.data_dir
    proc = _run([str(server.bindir / "pg_ctl"), *args, "-D", str(server.data_dir), "-w", "-t", "60"],
                cwd=server.base_dir, timeout=90)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.postgres
def test_a_database_outage_gives_503s_then_the_server_recovers_by_itself(own_pg: PgServer, tmp_path: Path,
                                                                         reference_flow_text: str) -> None:
    from engine.people.tokens import create_token
    from engine.people.users import create_user

    url = create_database(own_pg)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "sales_order.yaml").write_text(reference_flow_text, encoding="utf-8")
    settings = Settings(database_url=url, flows_dir=flows)
    app = create_app(settings)
    uid = create_user(app.state.db, "sally", roles=["sales"])
    token = create_token(app.state.db, uid, "t").secret
    auth = {"Authorization": f"Bearer {token}"}
    statuses: list[tuple[float, int, str]] = []
    created: list[int] = []
    stop = threading.Event()

    def load(base: str) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=15) as c:
            while not stop.is_set():
                try:
                    r = c.post("/api/flows/sales_order/records", json={"values": ORDER})
                except httpx.TransportError as exc:
                    statuses.append((time.monotonic(), -1, type(exc).__name__))
                    continue
                statuses.append((time.monotonic(), r.status_code, r.headers.get("content-type", "")))
                if r.status_code == 201:
                    created.append(r.json()["id"])
                elif r.status_code == 503:
                    assert r.json()["code"] == "database_unavailable" and "Traceback" not in r.text
                    time.sleep(0.05)

    with serving(app, settings) as base:
        workers = [threading.Thread(target=load, args=(base,)) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(1.0)
        _pg_ctl(own_pg, "stop", "-m", "fast")
        down_at = time.monotonic()
        time.sleep(2.0)
        ready_down = httpx.get(f"{base}/ready", timeout=10).status_code
        health_down = httpx.get(f"{base}/health", timeout=10).status_code
        assert own_pg.port
        up_at = time.monotonic()  # before the start: a request may be served while pg_ctl is still returning
        _pg_ctl(own_pg, "start", "-l", str(own_pg.log_file), "-o", f"-p {own_pg.port}")
        recovered_at = None
        while time.monotonic() - up_at < 15:
            if statuses and statuses[-1][1] == 201 and statuses[-1][0] > up_at:
                recovered_at = statuses[-1][0]
                break
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        for w in workers:
            w.join(timeout=30)
        assert ready_down == 503 and health_down == 200
        during = [s for t, s, _ in statuses if down_at + 0.5 < t < up_at]
        assert during and set(during) <= {503}, sorted(set(during))
        assert all(s in (201, 503) for _, s, _ in statuses), sorted({s for _, s, _ in statuses})
        assert recovered_at is not None and recovered_at - up_at < 10, "no success within 10 s of the restart"
    # No partial write: every record answered 201 is there with its history, and no record is there without
    # its creation in the history.
    with app.state.db.connect() as conn:
        table = app.state.registry.get("sales_order").table
        ids = set(conn.execute(select(table.c.id)).scalars())
        from engine.storage.schema import history

        with_history = set(conn.execute(select(history.c.record_id).where(history.c.flow == "sales_order")
                                        .group_by(history.c.record_id)).scalars())
        assert conn.execute(select(func.count()).select_from(history)).scalar()
    assert set(created) <= ids and ids == with_history
    app.state.db.dispose()
