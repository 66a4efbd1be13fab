"""Soak: N clients editing and moving 200 records for T minutes against a real server, then every record checked.

    python3 -m bench.soak --clients 20 --minutes 10                 # SQLite, the full length
    python3 -m bench.soak --clients 20 --minutes 10 --database-url postgresql+psycopg://...
    python3 -m bench.soak --clients 4 --seconds 20                  # what CI runs (tests/faults/test_soak.py)

A server process (uvicorn, 127.0.0.1, the SLA worker off) serves a small looping flow whose
`review` state sends an `enter` reminder. Each client picks a random record and edits it or moves
it (submit / back), sending the version it last saw; a 409 (someone else moved it first) is
expected and answered by reading the record again. At the end:

* no answer was a 5xx;
* for every record, its version equals the number of its history rows, its state is the state the
  last transition entered, and replaying the history's diffs from nothing gives its stored values;
* every entry into `review` left exactly one reminder in the outbox (same transaction);
* every change a client was told succeeded (2xx) is there (version at least the acknowledged one).

The same checks serve the SIGKILL test (tests/faults/test_kill_server.py), where the server dies
mid-traffic: whatever the kill interrupted is either wholly there or wholly absent.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

ROOT = Path(__file__).resolve().parents[1]
FLOW_NAME = "orders"
FLOW = """\
flow: orders
title: Orders
roles: {clerk: Clerk}
fields:
  customer: {type: text, index: true, max_length: 100}
  qty: {type: integer}
  amount: {type: decimal, scale: 2}
  note: {type: longtext}
states:
  draft: {owner: clerk, edit: [customer, qty, amount, note]}
  review: {owner: clerk, edit: [customer, qty, amount, note], sla: {due: 4h, clock: elapsed}}
  done: {final: true}
transitions:
  submit: {from: draft, to: review, by: clerk}
  back: {from: review, to: draft, by: clerk}
  close: {from: review, to: done, by: clerk}
reminders:
  - on: enter
    states: [review]
    notify: [creator]
    via: [inbox]
"""
NAMES = ("ACME", "Globex", "Initech", "Umbrella", "Hooli", "北京华为", "Café Zoë")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Setup:
    """A database with the engine's tables, the flow applied and a clerk with an API token."""

    url: str
    folder: Path
    token: str
    db: Engine


def prepare(url: str, folder: Path) -> Setup:
    from engine.evolve import apply_flow
    from engine.language.loader import load_flow_text
    from engine.people.tokens import create_token
    from engine.people.users import create_user
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FLOW_NAME}.yaml").write_text(FLOW, encoding="utf-8")
    db = make_engine(url)
    upgrade_database(db)
    apply_flow(db, load_flow_text(FLOW))
    uid = create_user(db, "soak", display_name="Soak", roles=["clerk"])
    return Setup(url, folder, create_token(db, uid, "soak").secret, db)


@contextmanager
def server(setup: Setup, *, log: Path | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A uvicorn process on 127.0.0.1 serving the setup's database (the SLA worker off); killed at the end."""
    port = free_port()
    err = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=server_env(setup), stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, lambda: proc.poll() is None, log)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if log is not None:
            err.close()  # type: ignore[union-attr]


def server_env(setup: Setup) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RELAYFLOW_DATABASE_URL": setup.url,
            "RELAYFLOW_FLOWS_DIR": str(setup.folder), "RELAYFLOW_WORKER": "off"}


def wait_ready(base: str, alive: Any, log: Path | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start; see {log}")
        time.sleep(0.02)


class Launcher:
    """bench/fork_server.py: server processes forked from one that has imported the app already."""

    def __init__(self, setup: Setup, log: Path | None = None) -> None:
        self.err = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed in close()
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.fork_server"], cwd=ROOT, env=server_env(setup),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True)

    def start(self) -> tuple[int, str]:
        """A new server process: (its pid, its base URL), once it answers /health."""
        port = free_port()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"serve {port}\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda: _alive(pid), self.log)
        return pid, base

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.log is not None:
            self.err.close()  # type: ignore[union-attr]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill(pid: int) -> None:
    """SIGKILL a server the launcher forked, and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class Tally:
    """What the clients saw: answers by status, and the highest version acknowledged per record."""

    statuses: Counter[int] = field(default_factory=Counter)
    acked: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, status: int, record_id: int | None = None, version: int | None = None, detail: str = "") -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500 and len(self.errors) < 20:
                self.errors.append(f"{status}: {detail[:300]}")
            if record_id is not None and version is not None and 200 <= status < 300:
                self.acked[record_id] = max(self.acked.get(record_id, 0), version)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


def _values(rng: random.Random) -> dict[str, Any]:
    pick = rng.randrange(4)
    if pick == 0:
        return {"customer": rng.choice(NAMES) + f" {rng.randrange(1000)}"}
    if pick == 1:
        return {"qty": rng.randrange(1, 10_000)}
    if pick == 2:
        return {"amount": f"{rng.randrange(0, 10**7)}.{rng.randrange(100):02d}"}
    return {"note": rng.choice(["", "line one\nline two", "备注", "x" * rng.randrange(1, 300)]) or None}


def create_records(base: str, token: str, count: int, tally: Tally | None = None) -> list[int]:
    rng = random.Random(1)
    ids = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        for i in range(count):
            r = http.post(f"/api/flows/{FLOW_NAME}/records",
                          json={"values": {"customer": f"{rng.choice(NAMES)} {i}", "qty": i + 1}})
            r.raise_for_status()
            ids.append(int(r.json()["id"]))
            if tally is not None:
                tally.saw(r.status_code, ids[-1], 1)
    return ids


def client_loop(base: str, token: str, ids: list[int], tally: Tally, stop: threading.Event, seed: int) -> None:
    """Random edits and transitions until `stop` is set (or the server goes away)."""
    rng = random.Random(seed)
    known: dict[int, tuple[int, str]] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while not stop.is_set():
            rid = rng.choice(ids)
            url = f"/api/flows/{FLOW_NAME}/records/{rid}"
            try:
                if rid not in known:
                    r = http.get(url)
                    tally.saw(r.status_code, detail=r.text)
                    if r.status_code != 200:
                        continue
                    known[rid] = (r.json()["version"], r.json()["state"])
                version, state = known[rid]
                if rng.random() < 0.5:
                    move = "submit" if state == "draft" else "back"
                    r = http.post(f"{url}/transitions/{move}", json={"version": version})
                else:
                    r = http.patch(url, json={"version": version, "values": _values(rng)})
            except httpx.TransportError:
                if stop.is_set():
                    return
                time.sleep(0.05)
                continue
            body = r.json() if r.headers.get("content-type", "").startswith("application/") else {}
            tally.saw(r.status_code, rid, body.get("version") if r.status_code < 300 else None, r.text)
            if r.status_code < 300:
                known[rid] = (body["version"], body["state"])
            else:
                known.pop(rid, None)  # stale or refused: read it again


def _as_json(flow: Any, name: str, value: Any) -> Any:
    from engine.records.records import to_json
    return to_json(flow, name, value)


def check(db: Engine, tally: Tally | None = None) -> list[str]:
    """Every record whole: version = history rows, state = last entered, history diffs replay to the row,
    one `enter` reminder per entry into review, acknowledged changes present. Returns the problems found."""
    from engine.language.loader import load_flow_text
    from engine.records.records import values_from_row
    from engine.storage.schema import history, outbox
    from engine.storage.tables import build_flow_table

    flow = load_flow_text(FLOW)
    t = build_flow_table(flow)
    problems: list[str] = []
    with db.connect() as conn:
        rows = {r["id"]: dict(r) for r in conn.execute(select(t)).mappings()}
        hist: dict[int, list[dict[str, Any]]] = {}
        for h in conn.execute(select(history).where(history.c.flow == FLOW_NAME).order_by(history.c.id)).mappings():
            hist.setdefault(int(h["record_id"]), []).append(dict(h))
        reminders = dict(conn.execute(select(outbox.c.record_id, func.count())
                                      .where(outbox.c.flow == FLOW_NAME, outbox.c.event == "enter")
                                      .group_by(outbox.c.record_id)).all())
    for rid in sorted(set(rows) | set(hist)):
        row, entries = rows.get(rid), hist.get(rid, [])
        if row is None:
            problems.append(f"record #{rid}: {len(entries)} history rows but no record")
            continue
        if row["version"] != len(entries):
            problems.append(f"record #{rid}: version {row['version']} but {len(entries)} history rows")
        entered = [e["to_state"] for e in entries if e["to_state"]]
        if not entered or entered[-1] != row["state"]:
            problems.append(f"record #{rid}: state {row['state']} but the history last entered {entered[-1:]}")
        replayed: dict[str, Any] = {}
        for e in entries:
            changes = e["changes"] if not isinstance(e["changes"], str) else json.loads(e["changes"])
            for name, (_, new) in (changes or {}).items():
                replayed[name] = new
        stored = {k: _as_json(flow, k, v) for k, v in values_from_row(flow, row).items()}
        for name in flow.fields:
            if replayed.get(name) != stored.get(name):
                problems.append(f"record #{rid}: {name} is {stored.get(name)!r}, the history says {replayed.get(name)!r}")
        into_review = sum(1 for e in entries if e["action"] == "transition" and e["to_state"] == "review")
        if reminders.get(rid, 0) != into_review:
            problems.append(f"record #{rid}: entered review {into_review} times, {reminders.get(rid, 0)} reminders")
        if tally is not None and tally.acked.get(rid, 0) > row["version"]:
            problems.append(f"record #{rid}: version {tally.acked[rid]} was acknowledged, the record is at {row['version']}")
    return problems


@dataclass
class SoakResult:
    records: int
    requests: int
    statuses: dict[int, int]
    seconds: float
    problems: list[str]
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(s >= 500 for s in self.statuses)


def soak(url: str, folder: Path, *, clients: int, seconds: float, records: int = 200,
         log: Path | None = None) -> SoakResult:
    setup = prepare(url, folder)
    tally = Tally()
    try:
        with server(setup, log=log) as (_, base):
            ids = create_records(base, setup.token, records, tally)
            stop = threading.Event()
            threads = [threading.Thread(target=client_loop, args=(base, setup.token, ids, tally, stop, seed))
                       for seed in range(clients)]
            started = time.monotonic()
            for th in threads:
                th.start()
            time.sleep(seconds)
            stop.set()
            for th in threads:
                th.join(60)
            elapsed = time.monotonic() - started
        problems = check(setup.db, tally)
    finally:
        setup.db.dispose()
    return SoakResult(records, sum(tally.statuses.values()), dict(tally.statuses), elapsed, problems, tally.errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else 60 * (args.minutes if args.minutes is not None else 10)
    with tempfile.TemporaryDirectory(prefix="relayflow-soak-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'soak.db'}"
        log = Path(tmp) / "server.log"
        result = soak(url, Path(tmp) / "flows", clients=args.clients, seconds=seconds, records=args.records, log=log)
        print(f"{args.clients} clients x {result.seconds:.0f} s on {result.records} records: {result.requests:,} requests "
              f"({result.requests / max(result.seconds, 1e-9):,.0f}/s), statuses {dict(sorted(result.statuses.items()))}")
        for line in result.errors + result.problems[:50]:
            print("  " + line)
        if not result.ok and log.exists():
            print(log.read_text(encoding="utf-8", errors="replace")[-3000:])
        print("OK" if result.ok else f"FAILED: {len(result.problems)} problems")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
