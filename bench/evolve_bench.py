"""Reloading a flow on a big table: plan and apply "add a field" and "add an indexed field".

    python -m bench.evolve_bench [--records N] [--db sqlite|postgres|both] [--json PATH]

For each database (SQLite: a WAL file in a temporary directory; PostgreSQL: a
fresh database on the throw-away server of tests/pg_server.py) it applies the
bench flow, bulk-loads N records straight into its table (executemany in one
transaction / COPY), then times, each through `plan_flow` and `apply_flow`:

* add a field            -- one new nullable column (target: apply < 1 s);
* add an indexed field   -- a new column and its index (the index build time
                            is reported on its own);
* index an existing field -- `index: true` on a field every record has a value
                            for (a realistic index build);
* serve the new revision -- how long another worker's registry takes to pick
                            up a revision (one poll); with the web layer's poll
                            interval (0.5 s) that bounds the delay (target < 1 s).

Every apply's time includes planning again inside the transaction, the
comparison of the table afterwards and writing the revision.
"""
from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine, func, select, table

from bench.common import timed
from engine.storage.db import make_engine
from engine.evolve import apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.storage.migrate import upgrade_database
from engine.records.records import Records
from engine.storage.registry import FlowRegistry

DEFAULT_RECORDS = 1_000_000
APPLY_TARGET = 1.0  # seconds: adding a plain field
SERVE_TARGET = 1.0  # seconds: every worker serves the new revision
POLL_SECONDS = 0.5  # the web layer's poll interval (api/live_flows.py)

FLOW = """\
flow: bench_orders
title: Bench orders
roles: {clerk: Clerk}
fields:
  customer: {type: text, max_length: 100}
  amount: {type: decimal, scale: 2}
  qty: {type: integer}
  region: {type: choice, choices: {north: North, south: South, east: East, west: West}}
  note: {type: text, max_length: 200}
states:
  open: {owner: clerk, edit: [customer, amount, qty, region, note]}
  done: {final: true}
transitions:
  close: {from: open, to: done, by: clerk}
"""
ADD_FIELD = FLOW.replace("  note: {type: text, max_length: 200}\n",
                         "  note: {type: text, max_length: 200}\n  priority: {type: integer}\n")
ADD_INDEXED = ADD_FIELD.replace("  priority: {type: integer}\n",
                                "  priority: {type: integer}\n  channel: {type: text, index: true}\n")
INDEX_EXISTING = ADD_INDEXED.replace("  customer: {type: text, max_length: 100}",
                                     "  customer: {type: text, max_length: 100, index: true}")
COLUMNS = ("state", "version", "revision", "created_at", "updated_at", "sla_paused_seconds", "sla_escalated",
           "customer", "amount", "qty", "region", "note")


def _select_rows(i: str, at: str, amount: str, pad: str) -> str:
    """SELECT list of one bench record numbered `i` (SQL shared by both databases but for a few spellings)."""
    return (f"CASE WHEN {i} % 5 <> 0 THEN 'open' ELSE 'done' END, 1, 1, {at}, {at}, 0, false, "
            f"'Customer ' || {pad}, {amount}, {i} % 90, "
            f"CASE {i} % 4 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' ELSE 'west' END, "
            f"'note ' || {i}")


def load_sqlite(path: Path, n: int) -> None:
    """N records generated inside SQLite (a recursive CTE), in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        # Datetimes as SQLAlchemy stores them on SQLite; decimals as scaled integers (12.50 → 1250).
        select_list = _select_rows("i", "'2026-01-05 09:00:00.000000'", "(i % 100000) * 100 + 50",
                                   "substr('0000' || (i % 50000), -5)")
        conn.execute(f"WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {n - 1}) "
                     f"INSERT INTO flow_bench_orders ({', '.join(COLUMNS)}) SELECT {select_list} FROM seq")
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def load_postgres(url: str, n: int) -> None:
    """N records generated inside PostgreSQL (generate_series), then VACUUM ANALYZE."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    select_list = _select_rows("i", "timestamptz '2026-01-05 09:00:00+00'", "((i % 100000) + 0.5)::numeric(18, 2)",
                               "lpad((i % 50000)::text, 5, '0')")
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database) as conn:
        conn.execute(f"INSERT INTO flow_bench_orders ({', '.join(COLUMNS)}) "
                     f"SELECT {select_list} FROM generate_series(0, {n - 1}) AS i")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE flow_bench_orders")


@dataclass
class Step:
    name: str
    plan_s: float
    apply_s: float
    index_s: float | None = None
    plan_says: list[str] = field(default_factory=list)
    apply_parts: dict[str, float] = field(default_factory=dict)


@dataclass
class DbResult:
    db: str
    version: str
    records: int
    load_s: float
    steps: list[Step] = field(default_factory=list)
    refresh_s: float = 0.0

    @property
    def add_field_apply(self) -> float:
        return next(s.apply_s for s in self.steps if s.name == "add a field")

    @property
    def serve_worst_s(self) -> float:
        return POLL_SECONDS + self.refresh_s


def _step(db: Engine, name: str, text: str) -> Step:
    flow = load_flow_text(text, source=f"<{name}>")
    plan, plan_s = timed(lambda: plan_flow(db, flow))
    assert not plan.refused, [c.text for c in plan.problems]
    done, apply_s = timed(lambda: apply_flow(db, flow, expected=plan))
    index = [v for k, v in done.timings.items() if k.startswith("create_index:")]
    parts = {k: round(v, 4) for k, v in done.timings.items()}
    return Step(name, plan_s, apply_s, sum(index) if index else None, [c.text for c in plan.changes], parts)


def run(db_name: str, url: str, version: str, records: int, loader: Callable[[int], None]) -> DbResult:
    db = make_engine(url)
    try:
        upgrade_database(db)
        apply_flow(db, load_flow_text(FLOW))
        _, load_s = timed(lambda: loader(records))
        with db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(table("flow_bench_orders"))).scalar() == records
        result = DbResult(db_name, version, records, load_s)
        worker = FlowRegistry()
        worker.refresh(db)
        sample = Records(db, worker).get("bench_orders", records)  # the bulk-loaded rows read like any record
        assert sample.values["customer"].startswith("Customer ") and sample.values["amount"] % 1 == Decimal("0.50")
        for name, text in (("add a field", ADD_FIELD), ("add an indexed field", ADD_INDEXED),
                           ("index an existing field", INDEX_EXISTING)):
            result.steps.append(_step(db, name, text))
            print(f"  {db_name}: {name}: done", file=sys.stderr)
        changed, result.refresh_s = timed(lambda: worker.refresh(db))
        assert changed == ["bench_orders"] and worker.get("bench_orders").revision == 4
        return result
    finally:
        db.dispose()


def run_sqlite(records: int) -> DbResult:
    with tempfile.TemporaryDirectory(prefix="relayflow-evolve-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        return run("sqlite", f"sqlite:///{path}", f"SQLite {sqlite3.sqlite_version}", records,
                   lambda n: load_sqlite(path, n))


def run_postgres(records: int) -> DbResult | None:
    from tests.pg_server import PostgresUnavailable, create_database, drop_database, start_postgres

    try:
        server = start_postgres(label="evolve-bench")
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None
    try:
        url = create_database(server)
        try:
            db = make_engine(url)
            with db.connect() as conn:
                version = "PostgreSQL " + str(conn.exec_driver_sql("SHOW server_version").scalar())
            db.dispose()
            return run("postgres", url, version, records, lambda n: load_postgres(url, n))
        finally:
            drop_database(server, url)
    finally:
        server.stop()


def report(results: list[DbResult]) -> str:
    lines = [f"{'db':<9} {'step':<24} {'plan':>8} {'apply':>8} {'index':>8}"]
    for r in results:
        for s in r.steps:
            index = f"{s.index_s:.2f}s" if s.index_s is not None else "-"
            lines.append(f"{r.db:<9} {s.name:<24} {s.plan_s:>7.2f}s {s.apply_s:>7.2f}s {index:>8}")
    lines.append("")
    for r in results:
        verdict = "PASS" if r.add_field_apply < APPLY_TARGET else "FALL SHORT"
        serve = "PASS" if r.serve_worst_s < SERVE_TARGET else "FALL SHORT"
        lines.append(f"{r.db}: {r.version}, {r.records:,} records bulk-loaded in {r.load_s:.1f}s; "
                     f"add a field applies in {r.add_field_apply:.3f}s (target < {APPLY_TARGET:.0f}s: {verdict}); "
                     f"a worker's poll takes {r.refresh_s * 1000:.0f} ms, so the new revision is served within "
                     f"{r.serve_worst_s:.2f}s (target < {SERVE_TARGET:.0f}s: {serve})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evolve_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", "-n", type=int, default=DEFAULT_RECORDS, help="records in the table")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = []
    if args.db in ("sqlite", "both"):
        results.append(run_sqlite(args.records))
    if args.db in ("postgres", "both"):
        pg = run_postgres(args.records)
        if pg is not None:
            results.append(pg)
    print(report(results))
    for r in results:
        for s in r.steps:
            print(f"  {r.db} / {s.name}: " + " | ".join(s.plan_says))
            print("      apply: " + ", ".join(f"{k} {v:.3f}s" for k, v in s.apply_parts.items()))
    if args.json:
        meta = {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__, "machine": platform.machine()}
        data = {"meta": meta, "results": [asdict(r) | {"serve_worst_s": r.serve_worst_s} for r in results]}
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    ok = all(r.add_field_apply < APPLY_TARGET and r.serve_worst_s < SERVE_TARGET for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
