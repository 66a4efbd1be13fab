"""One SLA scheduler pass over 1,000,000 open records, 1% of them due, on SQLite and PostgreSQL.

    python -m bench.sla_scheduler [--records N] [--db sqlite|postgres|both] [--rounds R] [--json PATH]

The reference flow (tests/acceptance/sales_order.yaml) is installed; its
reminders are: warn → the assignee by inbox and e-mail; breach → the assignee
and role:manager by inbox, e-mail and webhook, repeated every 4h, escalated.
N records sit in `review` (50 clerks as assignees, one manager), generated in
one INSERT ... SELECT (a recursive CTE on SQLite, generate_series on
PostgreSQL). 1% are due at the pass instant, in three equal parts: a warning
due, a breach due, a repeat due (already breached, filed in sla_repeats as
the pass that breached it would have); the rest warn and breach later. The
flow's scan mark says the previous pass ran an hour before (a worker that was
down for an hour: every due instant lies in the hour since).

Timed, on the same database:
* baseline -- the three raw indexed queries that find the due rows
  (SELECT id ... ; what the pass cannot do faster than);
* pass     -- engine.sla.scheduler.flow_pass_in: find, update sla_status /
  sla_escalated / sla_next_remind_at, write one SLA event per due record.
  R rounds are run and rolled back (median reported), then one pass is
  committed and timed with its commit. Target: under 300 ms per pass. On
  SQLite the WAL checkpoint that follows is timed on its own;
* first    -- the same pass without a scan mark (the first pass after an
  upgrade or a flow reload: every record whose instants passed), rolled back;
* fan-out  -- engine.delivery.fanout.fan_out after the committed pass: the events
  become outbox rows, one per recipient and channel (2 per warning, 5 per
  breach or repeat), in batches of 5,000 events per transaction.
PostgreSQL: the throw-away server of tests/pg_server.py, restarted with
shared_buffers = 1GB (it starts with 128 MB, less than the data).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, text

from bench.common import timed
from engine.storage.db import make_engine
from engine.delivery.fanout import fan_out
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, LiveFlow, install_text
from engine.sla.scheduler import LATE_COMMIT_MARGIN, flow_pass_in
from engine.storage.schema import outbox, sla_scans
from engine.people.users import create_user

REFERENCE_FLOW = Path(__file__).resolve().parent.parent / "tests" / "acceptance" / "sales_order.yaml"
TARGET_MS = 300.0
NOW = datetime(2026, 11, 25, 6, 30, tzinfo=timezone.utc)  # a Wednesday, 14:30 in Shanghai
CLERKS = 50
PREVIOUS_PASS = NOW - timedelta(hours=1)

COLUMNS = ("state, version, revision, assignee_id, assignee_role, created_by, created_at, updated_by, updated_at, "
           "sla_state, sla_started_at, sla_due_at, sla_warn_at, sla_status, sla_paused_seconds, sla_escalated, "
           "sla_next_remind_at, customer, product_model, quantity")


def _offsets() -> dict[str, str]:
    """Seconds relative to NOW for the clock columns, as SQL over n (the row number)."""
    due_group = "((n / 100) % 3)"
    is_due = "(n % 100 = 0)"
    warn = (f"CASE WHEN {is_due} THEN CASE {due_group} WHEN 0 THEN -1 - (n % 3600) WHEN 1 THEN -7200 ELSE -90000 END "
            "ELSE 60 + (n % 86400) END")
    due = (f"CASE WHEN {is_due} THEN CASE {due_group} WHEN 0 THEN 3600 WHEN 1 THEN -1 - (n % 3600) ELSE -86400 END "
           "ELSE 3660 + (n % 86400) END")
    nxt = f"CASE WHEN {is_due} AND {due_group} = 2 THEN -1 - (n % 3600) END"
    status = (f"CASE WHEN {is_due} THEN CASE {due_group} WHEN 0 THEN 'on_track' WHEN 1 THEN 'warning' "
              "ELSE 'breached' END ELSE 'on_track' END")
    return {"warn": warn, "due": due, "next": nxt, "status": status, "escalated": f"({is_due} AND {due_group} = 2)"}


def fill(db: Engine, flow: str, table: str, records: int, first_clerk: int, revision: int) -> float:
    """Insert `records` open review records in one statement; returns seconds taken."""
    o = _offsets()
    t0 = NOW.timestamp()
    if db.dialect.name == "sqlite":
        def ts(expr: str) -> str:
            return f"strftime('%Y-%m-%d %H:%M:%S', {t0:.0f} + ({expr}), 'unixepoch') || '.000000'"
        source = "seq"
        head = f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {records}) "
        escalated = f"CASE WHEN {o['escalated']} THEN 1 ELSE 0 END"
    else:
        def ts(expr: str) -> str:
            return f"to_timestamp({t0:.0f} + ({expr}))"
        source = f"generate_series(1, {records}) AS g(n)"
        head = ""
        escalated = o["escalated"]
    rows_sql = (f"SELECT 'review', 1, {revision}, {first_clerk} + (n % {CLERKS}), 'clerk', {first_clerk}, {ts('-86400')}, "
              f"{first_clerk}, {ts('-86400')}, 'review', {ts(o['due'] + ' - 14400')}, {ts(o['due'])}, "
              f"{ts(o['warn'])}, {o['status']}, 0, {escalated}, "
              f"CASE WHEN {o['next']} IS NULL THEN NULL ELSE {ts(o['next'])} END, "
              f"'Customer ' || n, 'X-' || (n % 1000), 1 + (n % 50) FROM {source}")
    sql = f"INSERT INTO {table} ({COLUMNS}) {head}{rows_sql}"
    began = time.perf_counter()
    with db.begin() as conn:
        conn.execute(text(sql))
        # What the earlier passes left: the breached records filed for their repeat, the scan mark.
        conn.execute(text(f"INSERT INTO sla_repeats (flow, record_id, remind_at) SELECT '{flow}', id, "
                          f"sla_next_remind_at FROM {table} WHERE sla_status = 'breached'"))
        conn.execute(insert(sla_scans).values(flow=flow, revision=revision, scanned_until=PREVIOUS_PASS))
    if db.dialect.name == "postgresql":
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f"VACUUM ANALYZE {table}, sla_repeats"))
    return time.perf_counter() - began


def baseline_queries(flow: str, table: str) -> list[str]:
    """The pass's three finds as raw SQL: breaches and warnings as ranges since the scan mark (less the
    pass's margin for late commits), repeats through sla_repeats."""
    stamp = "'" + NOW.strftime("%Y-%m-%d %H:%M:%S") + "{frac}'"
    since = "'" + (PREVIOUS_PASS - LATE_COMMIT_MARGIN).strftime("%Y-%m-%d %H:%M:%S") + "{frac}'"
    return [
        f"SELECT id FROM {table} WHERE sla_due_at > {since} AND sla_due_at <= {stamp} "
        "AND sla_status IN ('on_track', 'warning')",
        f"SELECT t.id FROM sla_repeats r JOIN {table} t ON t.id = r.record_id WHERE r.flow = '{flow}' "
        f"AND r.remind_at <= {stamp} AND t.sla_status = 'breached' "
        f"AND (t.sla_next_remind_at <= {stamp} OR t.sla_next_remind_at IS NULL)",
        f"SELECT id FROM {table} WHERE sla_warn_at > {since} AND sla_warn_at <= {stamp} "
        f"AND sla_status = 'on_track' AND sla_due_at > {stamp}",
    ]


@dataclass
class Figures:
    database: str
    records: int
    fill_seconds: float
    baseline_ms: float
    baseline_rows: int
    pass_ms_rolled_back_median: float
    pass_ms_rolled_back: list[float]
    pass_ms_committed: float
    warned: int
    breached: int
    repeated: int
    events: int  # SLA events the pass wrote (one per due record)
    first_pass_ms_rolled_back: float  # without a scan mark
    fan_out_ms: float
    outbox_rows: int  # after the fan-out: one per recipient and channel
    recipients: int  # distinct recipients of those rows ("all" counts once: the broadcast channels)
    outbox_rate_per_s: float  # outbox rows per second of pass + fan-out
    sqlite_checkpoint_ms: float = 0.0
    target_ms: float = TARGET_MS

    @property
    def ok(self) -> bool:
        return self.pass_ms_committed < self.target_ms


def _vacuum(db: Engine, table: str) -> None:
    """PostgreSQL: clear what a rolled-back round left behind, so every round starts alike."""
    if db.dialect.name == "postgresql":
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f"VACUUM ANALYZE {table}, sla_events, sla_repeats, sla_scans"))


def _rolled_back(db: Engine, live: LiveFlow, *, first: bool) -> float:
    """One pass timed and rolled back (first: without the scan mark); milliseconds."""
    with db.connect() as conn:
        conn.begin()
        if first:
            conn.execute(delete(sla_scans).where(sla_scans.c.flow == live.flow.name))
        _, seconds = timed(lambda: flow_pass_in(conn, live, NOW))
        conn.rollback()
    _vacuum(db, live.table.name)
    return seconds * 1000


def run_on(url: str, label: str, records: int, rounds: int) -> Figures:
    db = make_engine(url)
    try:
        upgrade_database(db)
        first = create_user(db, "clerk0", roles=["clerk"])
        for i in range(1, CLERKS):
            create_user(db, f"clerk{i}", roles=["clerk"])
        create_user(db, "manager", roles=["manager"])
        registry = FlowRegistry()
        live: LiveFlow = install_text(db, registry, REFERENCE_FLOW.read_text(encoding="utf-8"), "<reference flow>")
        table = live.table.name
        print(f"[{label}] inserting {records:,} records ...", flush=True)
        fill_s = fill(db, live.flow.name, table, records, first, live.revision)
        print(f"[{label}]   {fill_s:.1f} s", flush=True)

        frac = ".000000" if db.dialect.name == "sqlite" else "+00"
        queries = [q.replace("{frac}", frac) for q in baseline_queries(live.flow.name, table)]
        base_times, base_rows = [], 0
        with db.connect() as conn:
            for _ in range(rounds + 1):
                began = time.perf_counter()
                base_rows = sum(len(conn.execute(text(q)).all()) for q in queries)
                base_times.append((time.perf_counter() - began) * 1000)
            conn.rollback()
        baseline_ms = statistics.median(base_times[1:] or base_times)

        rolled = [_rolled_back(db, live, first=False) for _ in range(rounds)]
        first_ms = _rolled_back(db, live, first=True)

        checkpoint_ms = 0.0
        with db.connect() as conn:
            if db.dialect.name == "sqlite":  # the WAL checkpoint is timed on its own, after the pass
                conn.connection.dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
            conn.begin()
            began = time.perf_counter()
            result = flow_pass_in(conn, live, NOW)
            conn.commit()
            ms = (time.perf_counter() - began) * 1000
            if db.dialect.name == "sqlite":
                raw = conn.connection.dbapi_connection
                _, seconds = timed(lambda: raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall())  # type: ignore[union-attr]
                checkpoint_ms = seconds * 1000
                raw.execute("PRAGMA wal_autocheckpoint=1000")  # type: ignore[union-attr]
        (_, rows), fan_s = timed(lambda: fan_out(db, live, NOW))
        with db.connect() as conn:
            recipients = int(conn.execute(select(func.count(outbox.c.recipient.distinct()))).scalar_one())
        fan_ms = fan_s * 1000
        rate = rows / ((ms + fan_ms) / 1000) if ms + fan_ms else 0.0
        return Figures(label, records, round(fill_s, 1), round(baseline_ms, 1), base_rows,
                       round(statistics.median(rolled), 1) if rolled else 0.0, [round(r, 1) for r in rolled],
                       round(ms, 1), result.warned,
                       result.breached, result.repeated, result.events, round(first_ms, 1), round(fan_ms, 1), rows,
                       recipients, round(rate), round(checkpoint_ms, 1))
    finally:
        db.dispose()


def bench_sqlite(records: int, rounds: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="relayflow-sla-bench-") as tmp:
        return run_on(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", records, rounds)


def bench_postgres(records: int, rounds: int) -> Figures:
    from tests.pg_server import create_database, drop_database, start_postgres

    server = start_postgres(label="sla-bench")
    try:
        _more_shared_buffers(server)
        url = create_database(server)
        try:
            return run_on(url, "postgres", records, rounds)
        finally:
            drop_database(server, url)
    finally:
        server.stop()


def _more_shared_buffers(server: Any) -> None:
    """The throw-away server starts with PostgreSQL's 128 MB of shared buffers, less than the
    1,000,000-row table and its indexes; give it 1 GB like a real server would have (restart)."""
    import psycopg

    from tests.pg_server import _run, _wait_ready

    if not server.owned or server.bindir is None:
        return
    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '1GB'")
    _run([str(server.bindir / "pg_ctl"), "restart", "-D", str(server.data_dir), "-m", "fast", "-w",
          "-o", f"-p {server.port}", "-l", str(server.log_file)], cwd=server.base_dir)
    _wait_ready(server)


def report(f: Figures) -> str:
    verdict = "OK" if f.ok else "OVER TARGET"
    return (f"{f.database:<9} {f.records:>9,} records  baseline {f.baseline_ms:7.1f} ms ({f.baseline_rows:,} due rows)  "
            f"pass {f.pass_ms_committed:7.1f} ms committed, {f.pass_ms_rolled_back_median:7.1f} ms median rolled back "
            f"({' / '.join(f'{r:.0f}' for r in f.pass_ms_rolled_back)}; first pass, no scan mark: "
            f"{f.first_pass_ms_rolled_back:.1f} ms)  "
            f"events w/b/r {f.warned}/{f.breached}/{f.repeated} = {f.events:,}"
            + (f"  then WAL checkpoint {f.sqlite_checkpoint_ms:.0f} ms" if f.database == "sqlite" else "")
            + f"  target < {f.target_ms:.0f} ms: {verdict}\n"
            f"{'':<9} fan-out {f.fan_out_ms:7.1f} ms: {f.events:,} events → {f.outbox_rows:,} outbox rows for "
            f"{f.recipients} recipients ({f.outbox_rate_per_s:,.0f} rows/s over pass + fan-out)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sla_scheduler", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3, help="rolled-back passes before the committed one")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    figures = []
    if args.db in ("sqlite", "both"):
        figures.append(bench_sqlite(args.records, args.rounds))
    if args.db in ("postgres", "both"):
        figures.append(bench_postgres(args.records, args.rounds))
    for f in figures:
        print(report(f))
    if args.json:
        args.json.write_text(json.dumps([{**asdict(f), "ok": f.ok} for f in figures], indent=2) + "\n")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
