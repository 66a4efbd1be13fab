"""Engine write throughput against hand-written SQL on the same database.

    python -m bench.engine_throughput [--records N] [--db sqlite|postgres|both]
        [--json PATH] [--profile [--profile-records P]] [--warmup W]

For each database (SQLite: a WAL file in a temporary directory, with the
pragmas of engine/storage/db.py; PostgreSQL: a fresh database on the throw-away server
of tests/pg_server.py) it runs, on separate databases with equivalent tables:

* engine   -- N records of the bench flow below, each made with
  Records.create and then moved through three transitions with
  Records.transition (expected_version given each time). Every call is one
  transaction that writes its history row.
* baseline -- the same logical work as hand-written SQL through the same
  driver (sqlite3 / psycopg): insert the row and its history row, commit;
  then per transition read the row by id, UPDATE state and version guarded
  by id and version, insert the history row, commit.

A step is a create or a transition: 4 steps per record. The ratio is engine
steps/s over baseline steps/s; the targets are >= 0.3 on SQLite and >= 0.4 on
PostgreSQL. Both sides are warmed up, then timed in interleaved rounds so that
load from elsewhere on the machine hits both alike. `--profile` then runs
more engine records under cProfile and prints the top 25 functions by
cumulative time, in microseconds per step. See bench/README.md.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from psycopg.types.json import Json
from sqlalchemy.engine import make_url

from bench.common import REQUEST_ROLES_AND_CALENDAR
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.records.records import Records
from engine.storage.registry import FlowRegistry, install_text
from engine.people.users import create_user, load_actor

TARGETS = {"sqlite": 0.3, "postgres": 0.4}
STEPS_PER_RECORD = 4
DEFAULT_RECORDS = 2000
ROUNDS = 40

FLOW_NAME = "bench_request"
TRANSITIONS = ("submit", "approve", "close")
STATE_PATH = ("draft", "review", "fulfil", "done")

# Three working states and a final one; owners, `assign: creator` on each
# working state, a business-calendar SLA (with a warning at 75%) on review,
# a `require` and a `when` on the way, a record title template.
FLOW_YAML = """\
flow: bench_request
title: Bench request
""" + REQUEST_ROLES_AND_CALENDAR + """\
  holidays: [2026-10-01, 2026-10-02, 2026-10-05]
fields:
  subject: {type: text, title: Subject, required: true, max_length: 120}
  amount: {type: money, title: Amount, currency: CNY, min: 0}
  priority:
    type: choice
    title: Priority
    choices: {low: Low, normal: Normal, high: High}
    default: normal
  details: {type: longtext, title: Details}
  due_date: {type: date, title: Wanted by}
initial: draft
states:
  draft:
    title: Draft
    owner: requester
    assign: creator
    edit: [subject, amount, priority, details, due_date]
  review:
    title: In review
    owner: reviewer
    assign: creator
    edit: [priority]
    sla: {due: 2d, warn: 75%}
  fulfil:
    title: Fulfilment
    owner: fulfiller
    assign: creator
    edit: [details]
  done:
    title: Done
    final: true
transitions:
  submit: {title: Submit, from: draft, to: review, by: requester, require: [subject, amount]}
  approve: {title: Approve, from: review, to: fulfil, by: reviewer, when: "amount < 1000000"}
  close: {title: Close, from: fulfil, to: done, by: fulfiller, comment: optional}
"""

CLOSE_COMMENT = "delivered"


def record_values(i: int) -> dict[str, Any]:
    """What a person fills in on the create form (as a form or API would send it)."""
    return {
        "subject": f"Bench request {i}",
        "amount": "1234.50",
        "priority": "high",
        "details": "Two laptops for the new starters.\nDeliver to the second floor.",
        "due_date": "2026-12-31",
    }


# --------------------------------------------------------------------------- #
# engine side


class EngineWorkload:
    """The bench flow installed through the engine; `run(i)` does one record's four steps."""

    def __init__(self, url: str) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        uid = create_user(self.db, "bench", display_name="Bench User",
                          roles=["requester", "reviewer", "fulfiller"])
        self.actor = load_actor(self.db, uid=uid)
        self.registry = FlowRegistry()
        install_text(self.db, self.registry, FLOW_YAML, source="<bench flow>")
        self.records = Records(self.db, self.registry)

    def run(self, i: int) -> None:
        records, actor = self.records, self.actor
        rec = records.create(FLOW_NAME, actor, record_values(i))
        for name in TRANSITIONS:
            rec = records.transition(FLOW_NAME, rec.id, name, actor, expected_version=rec.version,
                                     comment=CLOSE_COMMENT if name == "close" else None)
            if name == "submit" and rec.system.get("sla_due_at") is None:
                raise AssertionError(f"engine record {rec.id}: no SLA clock in review")
        if rec.state != "done" or rec.version != 4:
            raise AssertionError(f"engine record {rec.id} ended in {rec.state} v{rec.version}")

    def check(self, expected_records: int) -> None:
        with self.db.connect() as conn:
            done = conn.exec_driver_sql(f"SELECT count(*) FROM flow_{FLOW_NAME} WHERE state = 'done'").scalar()
            hist = conn.exec_driver_sql("SELECT count(*) FROM history WHERE flow = 'bench_request'").scalar()
        _expect("engine", done, hist, expected_records)

    def close(self) -> None:
        self.db.dispose()


def _expect(what: str, done: int, hist: int, records: int) -> None:
    if done != records or hist != records * STEPS_PER_RECORD:
        raise AssertionError(f"{what}: {done} records done and {hist} history rows, "
                             f"expected {records} and {records * STEPS_PER_RECORD}")


# --------------------------------------------------------------------------- #
# baseline side: the same logical work in hand-written SQL

_BASE_COLUMNS = """
    state VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    assignee_id INTEGER,
    assignee_role VARCHAR(64),
    created_by INTEGER,
    created_at {ts} NOT NULL,
    updated_by INTEGER,
    updated_at {ts} NOT NULL,
    sla_state VARCHAR(64),
    sla_started_at {ts},
    sla_due_at {ts},
    sla_warn_at {ts},
    sla_status VARCHAR(16),
    sla_paused_at {ts},
    sla_paused_seconds INTEGER NOT NULL,
    sla_escalated BOOLEAN NOT NULL,
    sla_next_remind_at {ts},
    subject VARCHAR(120),
    amount {money},
    priority VARCHAR(32),
    details TEXT,
    due_date DATE
"""
_HISTORY_COLUMNS = """
    flow VARCHAR(64) NOT NULL,
    record_id BIGINT NOT NULL,
    at {ts} NOT NULL,
    actor_id INTEGER,
    action VARCHAR(16) NOT NULL,
    transition VARCHAR(64),
    from_state VARCHAR(64),
    to_state VARCHAR(64),
    changes JSON,
    comment TEXT,
    revision INTEGER
"""
# The same indexes the engine puts on a flow table and on history.
_INDEXES = [
    "CREATE INDEX ix_base_request_state_id ON base_request (state, id)",
    "CREATE INDEX ix_base_request_assignee ON base_request (assignee_id, state)",
    "CREATE INDEX ix_base_request_queue ON base_request (state, assignee_id, sla_due_at)",
    "CREATE INDEX ix_base_request_sla_due ON base_request (sla_status, sla_due_at)",
    "CREATE INDEX ix_base_request_sla_warn ON base_request (sla_warn_at)",
    "CREATE INDEX ix_base_request_updated ON base_request (updated_at, id)",
    "CREATE INDEX ix_base_history_flow_record_id ON base_history (flow, record_id, id)",
]


def _ddl(id_type: str, ts: str, money: str) -> list[str]:
    return [
        f"CREATE TABLE base_request (id {id_type}, {_BASE_COLUMNS.format(ts=ts, money=money)})",
        f"CREATE TABLE base_history (id {id_type}, {_HISTORY_COLUMNS.format(ts=ts)})",
        *_INDEXES,
    ]


_INSERT_COLUMNS = ("state, version, revision, assignee_id, assignee_role, created_by, created_at, updated_by, "
                   "updated_at, sla_paused_seconds, sla_escalated, subject, amount, priority, details, due_date")
_HISTORY_INSERT = ("INSERT INTO base_history (flow, record_id, at, actor_id, action, transition, from_state, "
                   "to_state, changes, comment, revision) VALUES ({p})")


def _base_values(i: int) -> dict[str, Any]:
    v = record_values(i)
    return {**v, "amount": Decimal(v["amount"]), "due_date": date.fromisoformat(v["due_date"])}


def _changes_json(values: dict[str, Any]) -> str:
    return json.dumps({k: [None, str(v) if isinstance(v, (Decimal, date)) else v] for k, v in values.items()})


class SqliteBaseline:
    """sqlite3 with the engine's pragmas; BEGIN IMMEDIATE for every write like the engine."""

    ACTOR = 1

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")
        # Money as an integer count of cents, as the engine keeps it on SQLite.
        for stmt in _ddl("INTEGER NOT NULL PRIMARY KEY", "DATETIME", "BIGINT"):
            self.conn.execute(stmt)
        self.insert_sql = (f"INSERT INTO base_request ({_INSERT_COLUMNS}) "
                           f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS.split(',')))})")
        self.history_sql = _HISTORY_INSERT.format(p=", ".join("?" * 11))

    @staticmethod
    def _now() -> str:
        # What SQLAlchemy stores for a UTC DateTime on SQLite.
        return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")

    def run(self, i: int) -> None:
        conn, actor = self.conn, self.ACTOR
        v = _base_values(i)
        now = self._now()
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(self.insert_sql, (
            STATE_PATH[0], 1, 1, actor, "requester", actor, now, actor, now, 0, False,
            v["subject"], int(v["amount"] * 100), v["priority"], v["details"], v["due_date"].isoformat()))
        record_id = cur.lastrowid
        conn.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "create", None, None, STATE_PATH[0],
                                        _changes_json(v), None, 1))
        conn.execute("COMMIT")
        for step, name in enumerate(TRANSITIONS):
            expected = step + 1
            now = self._now()
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM base_request WHERE id = ?", (record_id,)).fetchone()
            if row is None or row[2] != expected:  # columns: id, state, version, ...
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: stale or missing")
            state = row[1]
            cur = conn.execute(
                "UPDATE base_request SET state = ?, version = ?, updated_by = ?, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (STATE_PATH[step + 1], expected + 1, actor, now, record_id, expected))
            if cur.rowcount != 1:
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            conn.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, state,
                                            STATE_PATH[step + 1], None,
                                            CLOSE_COMMENT if name == "close" else None, 1))
            conn.execute("COMMIT")

    def check(self, expected_records: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        _expect("baseline", done, hist, expected_records)

    def close(self) -> None:
        self.conn.close()


class PostgresBaseline:
    """psycopg 3, one connection, a transaction per step (implicit BEGIN, explicit commit)."""

    ACTOR = 1

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo)
        with self.conn.transaction():
            for stmt in _ddl("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "NUMERIC(18, 2)"):
                self.conn.execute(stmt)
        self.conn.commit()
        self.insert_sql = (f"INSERT INTO base_request ({_INSERT_COLUMNS}) "
                           f"VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS.split(',')))}) RETURNING id")
        self.history_sql = _HISTORY_INSERT.format(p=", ".join(["%s"] * 11))

    def run(self, i: int) -> None:
        conn, actor = self.conn, self.ACTOR
        v = _base_values(i)
        now = datetime.now(timezone.utc)
        cur = conn.cursor()
        cur.execute(self.insert_sql, (
            STATE_PATH[0], 1, 1, actor, "requester", actor, now, actor, now, 0, False,
            v["subject"], v["amount"], v["priority"], v["details"], v["due_date"]))
        record_id = cur.fetchone()[0]
        cur.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "create", None, None, STATE_PATH[0],
                                       Json(_changes_json(v), dumps=lambda s: s), None, 1))
        conn.commit()
        for step, name in enumerate(TRANSITIONS):
            expected = step + 1
            now = datetime.now(timezone.utc)
            cur.execute("SELECT * FROM base_request WHERE id = %s", (record_id,))
            row = cur.fetchone()
            if row is None or row[2] != expected:
                conn.rollback()
                raise AssertionError(f"baseline record {record_id}: stale or missing")
            state = row[1]
            cur.execute(
                "UPDATE base_request SET state = %s, version = %s, updated_by = %s, updated_at = %s "
                "WHERE id = %s AND version = %s",
                (STATE_PATH[step + 1], expected + 1, actor, now, record_id, expected))
            if cur.rowcount != 1:
                conn.rollback()
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            cur.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, state,
                                           STATE_PATH[step + 1], None,
                                           CLOSE_COMMENT if name == "close" else None, 1))
            conn.commit()

    def check(self, expected_records: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        self.conn.rollback()
        _expect("baseline", done, hist, expected_records)

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- #
# timing


@dataclass
class Result:
    db: str
    records: int
    steps: int
    engine_seconds: float
    baseline_seconds: float
    engine_steps_per_s: float
    baseline_steps_per_s: float
    ratio: float
    target: float
    passed: bool
    engine_us_per_step: float
    baseline_us_per_step: float
    engine_cpu_us_per_step: float  # CPU time of this Python process (excludes the PostgreSQL server)
    baseline_cpu_us_per_step: float
    round_ratio_min: float
    round_ratio_median: float
    round_ratio_max: float
    rounds: int
    server_version: str = ""
    notes: list[str] = field(default_factory=list)


def _timed(run: Callable[[int], None], start: int, count: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process only) for records start..start+count-1."""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(start, start + count):
        run(i)
    return time.perf_counter() - t0, time.process_time() - c0


def _measure(db: str, engine: EngineWorkload, baseline: SqliteBaseline | PostgresBaseline,
             records: int, warmup: int, server_version: str) -> Result:
    # Warm up both sides (imports, statement caches, prepared statements, pages), then time.
    for i in range(warmup):
        engine.run(i)
        baseline.run(i)
    # Timed in interleaved rounds, alternating which side goes first, so that a
    # burst of load from elsewhere on the machine hits both sides alike.
    rounds = max(1, min(ROUNDS, records))
    engine_s = baseline_s = engine_cpu = baseline_cpu = 0.0
    round_ratios = []
    start = warmup
    for r in range(rounds):
        count = records // rounds + (1 if r < records % rounds else 0)
        gc.collect()
        sides = [("engine", engine.run), ("baseline", baseline.run)]
        timings = {}
        for name, run in (sides if r % 2 == 0 else sides[::-1]):
            timings[name] = _timed(run, start, count)
        start += count
        engine_s += timings["engine"][0]
        engine_cpu += timings["engine"][1]
        baseline_s += timings["baseline"][0]
        baseline_cpu += timings["baseline"][1]
        round_ratios.append(timings["baseline"][0] / timings["engine"][0])
    engine.check(warmup + records)
    baseline.check(warmup + records)
    steps = records * STEPS_PER_RECORD
    eng_rate, base_rate = steps / engine_s, steps / baseline_s
    ratio = eng_rate / base_rate
    return Result(db=db, records=records, steps=steps, engine_seconds=round(engine_s, 4),
                  baseline_seconds=round(baseline_s, 4), engine_steps_per_s=round(eng_rate, 1),
                  baseline_steps_per_s=round(base_rate, 1), ratio=round(ratio, 3), target=TARGETS[db],
                  passed=ratio >= TARGETS[db], engine_us_per_step=round(engine_s / steps * 1e6, 1),
                  baseline_us_per_step=round(baseline_s / steps * 1e6, 1),
                  engine_cpu_us_per_step=round(engine_cpu / steps * 1e6, 1),
                  baseline_cpu_us_per_step=round(baseline_cpu / steps * 1e6, 1),
                  round_ratio_min=round(min(round_ratios), 3),
                  round_ratio_median=round(statistics.median(round_ratios), 3),
                  round_ratio_max=round(max(round_ratios), 3),
                  rounds=rounds, server_version=server_version)


def _profile(db: str, engine: EngineWorkload, start: int, records: int, top: int = 25) -> dict[str, Any]:
    """Run `records` more engine records under cProfile; print and return where the time goes."""
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    for i in range(start, start + records):
        engine.run(i)
    prof.disable()
    steps = records * STEPS_PER_RECORD
    stats = pstats.Stats(prof)
    entries = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = stats.total_tt  # type: ignore[attr-defined]
    lines: list[str] = []
    say = lines.append  # printed by main() after the figures table
    say(f"[{db}] engine under cProfile (wall clock): {records} records = {steps} steps, "
          f"{total / steps * 1e6:.0f} us/step while profiled.")
    say("  Profiling inflates Python-heavy code about 2-3x more than C calls and I/O waits: "
          "read the rows relative to each other.")

    by_package: dict[str, float] = {}
    for key, (_cc, _nc, tt, _ct, _callers) in entries.items():
        by_package[_package(key)] = by_package.get(_package(key), 0.0) + tt
    say("  own time by package, us/step:")
    for name, tt in sorted(by_package.items(), key=lambda kv: -kv[1])[:10]:
        say(f"    {tt / steps * 1e6:>8.1f}  {tt / total * 100:>5.1f}%  {name}")

    say(f"  top {top} functions by cumulative time:")
    say(f"    {'calls/step':>10} {'own us/step':>11} {'cum us/step':>11} {'cum %':>6}  function")
    rows = sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)[:top]
    out = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in rows:
        label = f"{_short_path(filename)}:{line}({name})" if line else name
        say(f"    {nc / steps:>10.2f} {tt / steps * 1e6:>11.1f} {ct / steps * 1e6:>11.1f} "
              f"{ct / total * 100:>5.1f}%  {label}")
        out.append({"function": label, "calls_per_step": round(nc / steps, 3),
                    "own_us_per_step": round(tt / steps * 1e6, 2), "cum_us_per_step": round(ct / steps * 1e6, 2)})
    return {"records": records, "steps": steps, "profiled_us_per_step": round(total / steps * 1e6, 1),
            "own_us_per_step_by_package": {k: round(v / steps * 1e6, 1) for k, v in
                                           sorted(by_package.items(), key=lambda kv: -kv[1])},
            "top_cumulative": out, "text": "\n".join(lines)}


def _package(key: tuple[str, int, str]) -> str:
    filename, _line, name = key
    if filename == "~":  # a C function: name it, the drivers' calls are the interesting ones
        if "sqlite3" in name or "psycopg" in name:
            return f"driver C calls ({name})"
        return "builtins and C methods"
    path = filename.replace("\\", "/")
    for top in ("sqlalchemy", "psycopg", "psycopg_binary", "jinja2", "pydantic", "holidays"):
        if f"/{top}/" in path:
            return top
    for top in ("engine", "forms", "bench"):
        if f"/{top}/" in path and "site-packages" not in path:
            return f"relayflow {top}/"
    return "python stdlib and other"


REPO_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", REPO_ROOT):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith("~"):
        return filename
    return filename.replace(sys.prefix, "<py>")


# --------------------------------------------------------------------------- #
# the two databases


def run_sqlite(records: int, warmup: int, profile: int) -> tuple[Result, dict[str, Any] | None]:
    with tempfile.TemporaryDirectory(prefix="relayflow-bench-") as tmp:
        engine = EngineWorkload(f"sqlite:///{Path(tmp) / 'engine.storage.db'}")
        baseline = SqliteBaseline(Path(tmp) / "baseline.db")
        try:
            result = _measure("sqlite", engine, baseline, records, warmup, f"SQLite {sqlite3.sqlite_version}")
            prof = _profile("sqlite", engine, warmup + records, profile) if profile else None
        finally:
            engine.close()
            baseline.close()
    return result, prof


def run_postgres(records: int, warmup: int, profile: int) -> tuple[Result, dict[str, Any] | None]:
    from tests.pg_server import create_database, drop_database, start_postgres

    server = start_postgres(label="bench")
    try:
        engine_url = create_database(server, "bench_engine")
        base_url = create_database(server, "bench_baseline")
        conninfo = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = EngineWorkload(engine_url)
        baseline = PostgresBaseline(conninfo)
        try:
            version = baseline.conn.execute("SHOW server_version").fetchone()[0]
            baseline.conn.rollback()
            result = _measure("postgres", engine, baseline, records, warmup, f"PostgreSQL {version}")
            if server.owned:
                result.notes.append("throw-away server: fsync=off, synchronous_commit=off")
            prof = _profile("postgres", engine, warmup + records, profile) if profile else None
        finally:
            engine.close()
            baseline.close()
            if not server.owned:
                drop_database(server, engine_url)
                drop_database(server, base_url)
    finally:
        server.stop()
    return result, prof


# --------------------------------------------------------------------------- #
# command line


def _table(results: list[Result]) -> str:
    head = f"{'db':<9} {'engine steps/s':>14} {'baseline steps/s':>16} {'ratio':>6}  {'target':>6}  verdict"
    lines = [head, "-" * len(head)]
    for r in results:
        verdict = "PASS" if r.passed else "FALL SHORT"
        lines.append(f"{r.db:<9} {r.engine_steps_per_s:>14,.0f} {r.baseline_steps_per_s:>16,.0f} "
                     f"{r.ratio:>6.2f}  >={r.target:<4}  {verdict}")
    lines.append("")
    for r in results:
        lines.append(f"{r.db}: {r.records} records = {r.steps} steps ({r.server_version})"
                     + ("; " + "; ".join(r.notes) if r.notes else ""))
        lines.append(f"  wall us/step: engine {r.engine_us_per_step:.0f}, baseline {r.baseline_us_per_step:.0f}; "
                     f"client CPU us/step: engine {r.engine_cpu_us_per_step:.0f}, "
                     f"baseline {r.baseline_cpu_us_per_step:.0f}; "
                     f"ratio per round {r.round_ratio_min:.2f}..{r.round_ratio_max:.2f}, "
                     f"median {r.round_ratio_median:.2f} ({r.rounds} rounds)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", "-n", type=int, default=DEFAULT_RECORDS,
                        help=f"records per database, 4 steps each (default {DEFAULT_RECORDS})")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed records per side before timing (default: N/10, at least 20)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to this file")
    parser.add_argument("--profile", action="store_true",
                        help="after timing, run more engine records under cProfile and print the top 25 "
                             "functions by cumulative time (not part of the timed figures)")
    parser.add_argument("--profile-records", type=int, default=None, metavar="P",
                        help="records in the profiled pass (default: min(N, 500))")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    warmup = args.warmup if args.warmup is not None else max(20, args.records // 10)
    profile_records = 0
    if args.profile:
        profile_records = args.profile_records if args.profile_records is not None else min(args.records, 500)
        if profile_records < 1:
            parser.error("--profile-records must be at least 1")

    started = time.perf_counter()
    results: list[Result] = []
    profiles: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        print(f"[{db}] {warmup} warm-up + {args.records} timed records per side ...", flush=True)
        try:
            result, prof = (run_sqlite if db == "sqlite" else run_postgres)(args.records, warmup, profile_records)
        except Exception as exc:  # noqa: BLE001 - report which database could not be measured
            from tests.pg_server import PostgresUnavailable

            if db == "postgres" and isinstance(exc, PostgresUnavailable):
                skipped[db] = str(exc)
                print(f"[postgres] skipped: {exc}", file=sys.stderr)
                continue
            raise
        results.append(result)
        if prof is not None:
            profiles[db] = prof
    elapsed = time.perf_counter() - started

    print()
    print(_table(results))
    print(f"\nwhole run: {elapsed:.1f} s")
    for prof in profiles.values():
        print()
        print(prof.pop("text"))

    if args.json:
        payload = {
            "benchmark": "engine_throughput",
            "steps_per_record": STEPS_PER_RECORD,
            "warmup_records": warmup,
            "results": [asdict(r) for r in results],
            "skipped": skipped,
            "profiles": profiles,
            "run_seconds": round(elapsed, 1),
            "environment": {
                "python": platform.python_version(),
                "sqlalchemy": sqlalchemy.__version__,
                "psycopg": psycopg.__version__,
                "sqlite": sqlite3.sqlite_version,
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            },
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 2 if skipped and not results else 0


if __name__ == "__main__":
    sys.exit(main())
