"""How long a flow's own tests take (`relayflow test`): ms per test, and what is paid once.

    python -m bench.flow_tests                 # the order desk acceptance tests and the examples, 3 rounds
    python -m bench.flow_tests --rounds 5 --json artifacts/flow_tests.json

Paid once per process: the migrated empty SQLite database (the Alembic migrations). Paid once per tests
file: the template (the copy of that database, the flows of the set installed, the fixtures written). Paid
per test: a copy of the template, the steps through the engine, and for `wait` the SLA scheduler's pass.
The goal is "well under a second" per test, so that authors run them on every edit.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from engine.authoring_tests import sandbox
from engine.authoring_tests.loader import load_tests_file, tests_files
from engine.authoring_tests.runner import _sandbox, run_one
from engine.language.flow_set import load_flow_folder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "tests" / "flowtest" / "order_desk", ROOT / "flows", ROOT / "examples"]


def bench(paths: list[Path], rounds: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sandbox.empty_database()
    out: dict[str, Any] = {"empty_database_ms": round((time.perf_counter() - t0) * 1000), "files": []}
    for path in tests_files(paths):
        found = load_flow_folder(path.parent)
        loaded = load_tests_file(path, {f.name: f for f in found.good})
        per_test: dict[str, list[float]] = {t.name: [] for t in loaded.spec.tests}
        templates = []
        for _ in range(rounds):
            t1 = time.perf_counter()
            with _sandbox(loaded, found.good, found.calendars) as (box, store):
                templates.append(time.perf_counter() - t1)
                for i, test in enumerate(loaded.spec.tests):
                    result = run_one(loaded, test, i, box, store)
                    assert result.passed, result.failure
                    per_test[test.name].append(result.seconds)
        out["files"].append({
            "file": str(path.relative_to(ROOT)), "template_ms": round(statistics.median(templates) * 1000),
            "tests": [{"name": n, "median_ms": round(statistics.median(s) * 1000, 1), "min_ms": round(min(s) * 1000, 1)}
                      for n, s in per_test.items()]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = bench(args.paths, args.rounds)
    print(f"migrated empty database (once per process): {result['empty_database_ms']} ms")
    every = []
    for f in result["files"]:
        print(f"\n{f['file']}  (template: {f['template_ms']} ms, once per file)")
        for t in f["tests"]:
            every.append(t["median_ms"])
            print(f"  {t['median_ms']:8.1f} ms  (min {t['min_ms']:.1f})  {t['name']}")
    if every:
        print(f"\n{len(every)} tests: median {statistics.median(every):.1f} ms per test, slowest {max(every):.1f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
