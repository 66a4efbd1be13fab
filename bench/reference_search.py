"""The reference picker's search among many customers: p50/p95 of `search_targets` on SQLite and PostgreSQL.

    python -m bench.reference_search [--customers N] [--queries Q] [--db sqlite|postgres|both]

Fills N customers (default 1,000,000) of the acceptance customer flow (a copy without its file field,
tests/references/flows) straight into the flow table with SQL (a recursive CTE on SQLite, whose search
index triggers keep the FTS table in step; generate_series on PostgreSQL, a throw-away server from
tests/pg_server.py), then times the search an order's customer picker runs: what a sales user may see
(`visibility: all`), passing the reference's filter `state == 'active'` (every 10th customer is retired),
containing the typed text, newest first, LIMIT 20. Searches are a mix of a rare part of a name (a
customer number: a handful of matches) and a common word (thousands of matches). Target: p95 < 30 ms
at 1,000,000 customers.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.common import database_label, each_database, throwaway_database, timed

FLOWS = Path(__file__).resolve().parents[1] / "tests" / "references" / "flows"
WORDS = ("Trading", "Steel", "Textile", "Electric", "Foods", "Logistics", "Machinery", "Chemical")
CITIES = ("Shanghai", "Suzhou", "Wuxi", "Hangzhou", "Ningbo", "Nanjing")
TARGET_P95_MS = 30.0


@dataclass
class Result:
    db: str
    customers: int
    fill_s: float
    p50_ms: float
    p95_ms: float
    rare_p95_ms: float
    common_p95_ms: float
    found: float


def _install(url: str) -> tuple[Engine, Any]:
    from engine.language.flow_set import load_flow_folder
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database
    from engine.storage.registry import FlowRegistry, install_flow

    db = make_engine(url)
    upgrade_database(db)
    registry = FlowRegistry()
    found = load_flow_folder(FLOWS)
    for flow in found.good:
        registry.put(install_flow(db, flow))
    return db, registry


def _name_sql(i: str, concat: str) -> str:
    words = " ".join(f"WHEN {k} THEN '{w}'" for k, w in enumerate(WORDS))
    return (f"'Customer ' {concat} {i} {concat} ' ' {concat} CASE ({i} % {len(WORDS)}) {words} END")


def _city_sql(i: str) -> str:
    return "CASE (" + i + f" % {len(CITIES)}) " + " ".join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(CITIES)) + " END"


def fill_sqlite(db: Engine, n: int) -> None:
    cols = ("state, version, revision, assignee_role, created_by, created_at, updated_by, updated_at, "
            "sla_paused_seconds, sla_escalated, name, city, credit_limit")
    sql = (f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) "
           f"INSERT INTO flow_customer ({cols}) SELECT CASE WHEN i % 10 = 0 THEN 'retired' ELSE 'active' END, 1, 1, "
           "'sales', 1, '2026-01-05 09:00:00.000000', 1, '2026-01-05 09:00:00.000000', 0, 0, "
           f"{_name_sql('i', '||')}, {_city_sql('i')}, (i % 1000) * 100 FROM seq")
    with db.begin() as conn:
        conn.execute(text(sql))
    with db.begin() as conn:
        conn.execute(text("ANALYZE"))


def fill_postgres(db: Engine, n: int) -> None:
    cols = ("state, version, revision, assignee_role, created_by, created_at, updated_by, updated_at, "
            "sla_paused_seconds, sla_escalated, name, city, credit_limit")
    sql = (f"INSERT INTO flow_customer ({cols}) SELECT CASE WHEN i % 10 = 0 THEN 'retired' ELSE 'active' END, 1, 1, "
           "'sales', 1, timestamptz '2026-01-05 09:00:00+00', 1, timestamptz '2026-01-05 09:00:00+00', 0, false, "
           f"{_name_sql('i', '||')}, {_city_sql('i')}, (i % 1000) * 100 FROM generate_series(1, {n}) AS i")
    with db.begin() as conn:
        conn.execute(text(sql))
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE flow_customer"))


def _needles(n: int, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(kind, text): the last 4 to 6 digits of a customer number (rare; a whole small number is searched
    with the words around it) or the start of a word of the names (common), 4 to 1."""
    rnd = random.Random(seed)
    out = []
    for k in range(count):
        if k % 5 == 4:
            out.append(("common", rnd.choice(WORDS)[: rnd.randint(4, 7)].lower()))
        else:
            digits = str(rnd.randint(1, n))
            out.append(("rare", f"customer {digits} " if len(digits) < 4 else digits[-rnd.randint(4, 6):]))
    return out


def measure(label: str, db: Engine, registry: Any, n: int, queries: int, fill_s: float) -> Result:
    from engine.people.users import create_user, load_actor
    from engine.records.references import search_targets

    create_user(db, "bench_sales", display_name="Bench", roles=["sales"])
    actor = load_actor(db, username="bench_sales")
    flow = registry.get("sales_order").flow
    for _kind, needle in _needles(n, 20, seed=1):  # warm-up: caches, the FTS term estimates' first reads
        search_targets(db, registry, flow, "customer", actor, needle)
    times: dict[str, list[float]] = {"rare": [], "common": []}
    found = []
    for kind, needle in _needles(n, queries):
        t0 = time.perf_counter()
        hits = search_targets(db, registry, flow, "customer", actor, needle)
        times[kind].append((time.perf_counter() - t0) * 1000)
        found.append(len(hits))
    every = sorted(times["rare"] + times["common"])

    def p95(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] if xs else 0.0

    return Result(label, n, fill_s, statistics.median(every), p95(every), p95(times["rare"]), p95(times["common"]),
                  statistics.mean(found))


def run(which: str, n: int, queries: int) -> Result:
    with throwaway_database(which, "bench_refs") as url:
        db, registry = _install(url)
        try:
            _, fill_s = timed(lambda: (fill_sqlite if which == "sqlite" else fill_postgres)(db, n))
            return measure(database_label(db), db, registry, n, queries, fill_s)
        finally:
            db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    failed = False
    for r in each_database(args.db, lambda which: run(which, args.customers, args.queries)):
        ok = r.p95_ms < TARGET_P95_MS
        failed |= not ok
        print(f"{r.db}: {r.customers:,} customers (filled in {r.fill_s:.1f} s); reference search "
              f"p50 {r.p50_ms:.2f} ms, p95 {r.p95_ms:.2f} ms (rare text p95 {r.rare_p95_ms:.2f} ms, "
              f"common word p95 {r.common_p95_ms:.2f} ms); {r.found:.1f} offered per search on average; "
              f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
