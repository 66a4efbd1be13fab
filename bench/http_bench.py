"""HTTP throughput of the REST API against a bare FastAPI endpoint, on SQLite and PostgreSQL.

    python -m bench.http_bench [--records N] [--concurrency C] [--db sqlite|postgres|both]
                               [--db-calls inline|thread] [--group-commit on|off] [--json PATH]

For each database it starts two uvicorn servers as subprocesses on 127.0.0.1
(one worker each, same options):

* relayflow -- api.app:create_app serving the bench flow below; each virtual
  user loops: POST a record, then fire three transitions (submit, approve,
  close) with the version it got back. Every request is authenticated with a
  bearer token and writes one transaction with its history row.
* bare      -- a FastAPI app with one `GET /bare` endpoint returning a small
  JSON object.

The load generator runs in this process on the same machine: C keep-alive
connections driven by asyncio with a minimal HTTP/1.1 client (much cheaper per
request than a general client, so that it is not the bottleneck), a bounded
number of requests, a time limit. It reports requests/s, p50/p99 latency and
the ratio relayflow / bare (target: >= 0.25).

The server runs with its defaults unless told otherwise: creates and
transitions take the lean path of api/hot_routes.py, and the writes of
concurrent requests share one COMMIT (api/group_commit.py; `--group-commit
off` measures one transaction per write). On PostgreSQL a group reads ahead
and sends its writes together over asyncpg on the event loop
(engine/storage/write_ahead.py); RELAYFLOW_WRITE_AHEAD=off in the environment
measures the previous way (worker threads, statement by statement).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bench.common import REQUEST_ROLES_AND_CALENDAR

TARGET = 0.25
TIME_LIMIT = 120.0
ROOT = Path(__file__).resolve().parents[1]

FLOW_YAML = """\
flow: bench_order
title: Bench order
""" + REQUEST_ROLES_AND_CALENDAR + """\
fields:
  subject: {type: text, title: Subject, required: true, max_length: 120, index: true}
  amount: {type: money, title: Amount, currency: CNY, min: 0}
  priority: {type: choice, title: Priority, choices: {low: Low, normal: Normal, high: High}, default: normal}
  details: {type: longtext, title: Details}
  due_date: {type: date, title: Wanted by, index: true}
states:
  draft: {title: Draft, owner: requester, assign: creator, edit: [subject, amount, priority, details, due_date]}
  review: {title: In review, owner: reviewer, edit: [priority], sla: {due: 2d, warn: 75%}}
  fulfil: {title: Fulfilment, owner: fulfiller, edit: [details]}
  done: {title: Done, final: true}
transitions:
  submit: {title: Submit, from: draft, to: review, by: requester, require: [subject, amount]}
  approve: {title: Approve, from: review, to: fulfil, by: reviewer, when: "amount < 1000000"}
  close: {title: Close, from: fulfil, to: done, by: fulfiller, comment: optional}
"""
FLOW = "bench_order"
VALUES = {"subject": "Bench order", "amount": "1234.50", "priority": "high",
          "details": "Two laptops for the new starters.", "due_date": "2026-12-31"}


def bare_app() -> FastAPI:
    """The baseline: a FastAPI app with one tiny endpoint (uvicorn factory)."""
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        return {"ok": True, "service": "bare"}

    return app


# --- a minimal keep-alive HTTP/1.1 client -----------------------------------------------------------

class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, auth: str) -> None:
        self.reader, self.writer = reader, writer
        self.prefix = f"Host: 127.0.0.1\r\n{auth}"

    @classmethod
    async def open(cls, port: int, token: str | None) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"Authorization: Bearer {token}\r\n" if token else "")

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        if body is None:
            head = f"{method} {path} HTTP/1.1\r\n{self.prefix}\r\n".encode()
            self.writer.write(head)
        else:
            data = json.dumps(body).encode()
            head = (f"{method} {path} HTTP/1.1\r\n{self.prefix}Content-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode()
            self.writer.write(head + data)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", raw)
        payload = await self.reader.readexactly(int(m.group(1))) if m else b""
        return status, payload

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_us: float = 0.0  # server process CPU per request: steadier than req/s on a busy machine
    database_cpu_us: float = 0.0  # PostgreSQL processes' CPU per request (the machine's, so run it alone)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _summary(name: str, latencies: list[float], seconds: float, errors: int) -> Result:
    lat = sorted(latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
    return Result(name, len(lat), seconds, errors, statistics.median(lat) * 1000 if lat else 0.0, p99 * 1000)


async def _workflow_user(conn: Conn, records: list[int], latencies: list[float], errors: list[int]) -> None:
    base = f"/api/flows/{FLOW}/records"
    while records:
        records.pop()
        t0 = time.perf_counter()
        status, body = await conn.request("POST", base, {"values": VALUES})
        t1 = time.perf_counter()
        latencies.append(t1 - t0)
        if status != 201:
            errors.append(status)
            continue
        rec = json.loads(body)
        for name in ("submit", "approve", "close"):
            t0 = time.perf_counter()
            status, body = await conn.request("POST", f"{base}/{rec['id']}/transitions/{name}",
                                              {"version": rec["version"]})
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
                break
            rec = json.loads(body)


async def _bare_user(conn: Conn, budget: list[int], latencies: list[float], errors: list[int]) -> None:
    while budget:
        budget.pop()
        t0 = time.perf_counter()
        status, _ = await conn.request("GET", "/bare")
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            errors.append(status)


async def _drive(port: int, token: str | None, concurrency: int, count: int, workflow: bool) -> tuple[list[float], float, int]:
    conns = [await Conn.open(port, token) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[int] = []
    work = list(range(count))
    user = _workflow_user if workflow else _bare_user
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(user(c, work, latencies, errors) for c in conns)), TIME_LIMIT)
    finally:
        seconds = time.perf_counter() - t0
        for c in conns:
            c.close()
    return latencies, seconds, len(errors)


def _database_cpu_seconds() -> float:
    """CPU time used so far by this machine's PostgreSQL processes (0 without any)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def drive(name: str, server: Server, token: str | None, concurrency: int, count: int, workflow: bool) -> Result:
    cpu0, db0 = server.cpu_seconds(), _database_cpu_seconds()
    latencies, seconds, errors = asyncio.run(_drive(server.port, token, concurrency, count, workflow))
    result = _summary(name, latencies, seconds, errors)
    if latencies:
        result.server_cpu_us = (server.cpu_seconds() - cpu0) / len(latencies) * 1e6
        result.database_cpu_us = (_database_cpu_seconds() - db0) / len(latencies) * 1e6
    return result


# --- servers --------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn in a subprocess on 127.0.0.1, one worker."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port",
               str(self.port), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def prepare(url: str, folder: Path) -> str:
    """Tables, the bench flow and one user holding its three roles; returns an API token."""
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database
    from engine.storage.registry import install_folder, FlowRegistry
    from engine.people.tokens import create_token
    from engine.people.users import create_user

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FLOW}.yaml").write_text(FLOW_YAML, encoding="utf-8")
    db = make_engine(url)
    try:
        upgrade_database(db)
        problems = install_folder(db, FlowRegistry(), folder)
        if problems:
            raise RuntimeError("; ".join(map(str, problems)))
        uid = create_user(db, "bench", roles=["requester", "reviewer", "fulfiller"])
        return create_token(db, uid, "bench").secret
    finally:
        db.dispose()


def run_one(db_name: str, url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    token = prepare(url, work / f"flows-{db_name}")
    env = {"RELAYFLOW_DATABASE_URL": url, "RELAYFLOW_FLOWS_DIR": str(work / f"flows-{db_name}")}
    if args.db_calls:
        env["RELAYFLOW_API_DB_CALLS"] = args.db_calls
    if args.group_commit:
        env["RELAYFLOW_GROUP_COMMIT"] = args.group_commit
    requests = args.records * 4
    bare = Server("bench.http_bench:bare_app", {})
    try:
        drive("warm-up", bare, None, args.concurrency, 500, workflow=False)
        bare_result = drive("bare", bare, None, args.concurrency, requests, workflow=False)
    finally:
        bare.stop()
    api = Server("api.app:create_app", env)
    try:
        drive("warm-up", api, token, args.concurrency, 50, workflow=True)
        api_result = drive("relayflow", api, token, args.concurrency, args.records, workflow=True)
    finally:
        api.stop()
    ratio = api_result.rps / bare_result.rps if bare_result.rps else 0.0
    for r in (bare_result, api_result):
        print(f"  {db_name:<8} {r.name:<10} {r.requests:>6} req in {r.seconds:6.2f}s  {r.rps:8.0f} req/s  "
              f"p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  server CPU {r.server_cpu_us:6.0f} us/req  "
              + (f"PostgreSQL CPU {r.database_cpu_us:5.0f} us/req  " if db_name == "postgres" else "")
              + f"errors {r.errors}")
    cpu_ratio = bare_result.server_cpu_us / api_result.server_cpu_us if api_result.server_cpu_us else 0.0
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"  {db_name:<8} ratio relayflow/bare = {ratio:.3f} ({verdict} the target {TARGET}); "
          f"by server CPU per request {cpu_ratio:.3f}")
    return {"db": db_name, "bare": {**asdict(bare_result), "rps": bare_result.rps},
            "relayflow": {**asdict(api_result), "rps": api_result.rps}, "ratio": ratio, "cpu_ratio": cpu_ratio}


def profile(records: int, top: int = 30) -> None:
    """The API in this process (no sockets) under cProfile: where a request's server time goes."""
    import cProfile
    import pstats

    import httpx

    from api.app import create_app
    from engine.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="relayflow-http-profile-"))
    try:
        url = f"sqlite:///{work / 'p.db'}"
        token = prepare(url, work / "flows")
        app = create_app(Settings(database_url=url, flows_dir=work / "flows"))
        headers = {"Authorization": f"Bearer {token}"}
        base = f"/api/flows/{FLOW}/records"

        async def run() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                async def one() -> None:
                    rec = (await c.post(base, json={"values": VALUES}, headers=headers)).json()
                    for name in ("submit", "approve", "close"):
                        rec = (await c.post(f"{base}/{rec['id']}/transitions/{name}",
                                            json={"version": rec["version"]}, headers=headers)).json()
                for _ in range(20):
                    await one()
                prof = cProfile.Profile()
                t0 = time.perf_counter()
                prof.enable()
                for _ in range(records):
                    await one()
                prof.disable()
                print(f"profile: {records * 4} requests, {(time.perf_counter() - t0) / (records * 4) * 1e6:.0f} us "
                      f"per request under the profiler (client included)")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(r"(api|engine)/", top)
                if os.environ.get("RELAYFLOW_PROFILE_CALLERS"):
                    pstats.Stats(prof).print_callers(os.environ["RELAYFLOW_PROFILE_CALLERS"])

        asyncio.run(run())
        app.state.db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1500, help="records per database (4 requests each)")
    p.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--db-calls", choices=("inline", "thread"), help="how the API runs database work "
                   "(default: inline on SQLite, threadpool on PostgreSQL)")
    p.add_argument("--group-commit", choices=("on", "off"), help="share one COMMIT among concurrent writes "
                   "(default: on)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--profile", type=int, metavar="N", help="instead: profile N records in-process (SQLite)")
    args = p.parse_args(argv)
    if args.profile:
        profile(args.profile)
        return 0
    print(f"http_bench: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cpus, "
          f"{args.records} records × 4 requests, {args.concurrency} connections, load generator in this process")
    results = []
    work = Path(tempfile.mkdtemp(prefix="relayflow-http-bench-"))
    try:
        if args.db in ("sqlite", "both"):
            results.append(run_one("sqlite", f"sqlite:///{work / 'bench.db'}", args, work))
        if args.db in ("postgres", "both"):
            sys.path.insert(0, str(ROOT))
            from tests.pg_server import PostgresUnavailable, create_database, start_postgres

            try:
                server = start_postgres(label="http-bench")
            except PostgresUnavailable as exc:
                print(f"  postgres skipped: {exc}")
            else:
                try:
                    results.append(run_one("postgres", create_database(server), args, work))
                finally:
                    server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
