"""What group commit costs other writers of a SQLite database: their wait while the API is under write load.

    python -m bench.sqlite_writers [--records N] [--seconds S]

Runs the API (uvicorn, one worker, SLA worker thread off) on a SQLite file
with the flow of bench/http_bench.py and drives it with creates and
transitions from 16 connections, as http_bench does. Meanwhile a second
process (standing for `relayflow worker`, the CLI or a second server) creates
a record every 20 ms through the engine and times each create, lock wait
included. Both are done with group commit on and off.

With group commit the server holds SQLite's write lock for most of the time
under load, so a waiting writer gets in only when it tries at a free moment.
SQLite's own busy handler backs off to 100 ms between tries (p99 waits of
0.3-0.5 s here); the engine's BEGIN tries every millisecond instead
(engine/storage/db.py). This bench puts a number on the other writer's wait.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.http_bench import FLOW, Server, drive, prepare

OTHER_WRITER = r"""
import json, sys, time
from engine.storage.db import make_engine
from engine.records.records import Records
from engine.storage.registry import FlowRegistry, install_folder
from engine.people.users import load_actor

db = make_engine(sys.argv[1])
registry = FlowRegistry()
install_folder(db, registry, sys.argv[2])
records, actor = Records(db, registry), load_actor(db, username="bench")
waits = []
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    t0 = time.perf_counter()
    records.create(sys.argv[4], actor, {"subject": "from another process", "amount": "1"})
    waits.append(time.perf_counter() - t0)
    time.sleep(0.02)
waits.sort()
print(json.dumps({"creates": len(waits), "p50_ms": waits[len(waits) // 2] * 1e3,
                  "p99_ms": waits[int(len(waits) * 0.99)] * 1e3, "max_ms": waits[-1] * 1e3}))
"""


def run(group_commit: str, records: int, seconds: float, work: Path) -> dict[str, Any]:
    folder = work / f"flows-{group_commit}"
    url = f"sqlite:///{work / f'writers-{group_commit}.db'}"
    token = prepare(url, folder)
    env = {"RELAYFLOW_DATABASE_URL": url, "RELAYFLOW_FLOWS_DIR": str(folder),
           "RELAYFLOW_GROUP_COMMIT": group_commit, "RELAYFLOW_WORKER": "off"}
    api = Server("api.app:create_app", env)
    try:
        drive("warm-up", api, token, 16, 50, workflow=True)
        other = subprocess.Popen([sys.executable, "-c", OTHER_WRITER, url, str(folder), str(seconds), FLOW],
                                 stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        load = drive("load", api, token, 16, records, workflow=True)
        found = json.loads(other.communicate(timeout=seconds + 60)[0])
    finally:
        api.stop()
    return {"group_commit": group_commit, "api_rps": load.rps, "api_p99_ms": load.p99_ms, **found}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=3000, help="records the API load creates and moves (4 requests each)")
    p.add_argument("--seconds", type=float, default=6.0, help="how long the other process writes")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="relayflow-writers-"))
    try:
        for mode in ("on", "off"):
            r = run(mode, args.records, args.seconds, work)
            print(f"group commit {mode:<3}  API {r['api_rps']:6.0f} req/s (p99 {r['api_p99_ms']:5.1f} ms)   "
                  f"other process: {r['creates']} creates, p50 {r['p50_ms']:6.1f} ms, p99 {r['p99_ms']:6.1f} ms, "
                  f"max {r['max_ms']:6.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
