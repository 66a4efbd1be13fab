"""Orders with line items: engine throughput against hand-written SQL doing the same logical work.

    python -m bench.line_items [--records N] [--lines L] [--db sqlite|postgres|both] [--baseline same|plain]
                               [--json PATH]

Each record is "create with L lines (default 5) + 3 transitions", on SQLite and
PostgreSQL, in separate databases with equivalent tables:

* engine   -- Records.create with a `lines` table field of L rows (per-row
  computed amount, a parent `total = sum(lines, 'amount')`), then three
  Records.transition calls with the expected version.
* baseline -- the same logical work as hand-written SQL through the same
  driver, one transaction per step: insert the parent row (with its total),
  its L line rows (one executemany) and a history row whose changes list the
  lines; per transition read the row and its lines, UPDATE state and version
  guarded by the version, insert a history row. It keeps the same books as
  the engine does for this flow: the owner role of each state (none once
  done), the review stage's SLA clock (started, due, warn and status columns
  set on entry, cleared on exit, its due 2 days on, the warning at 75%), and
  one stage-result row when the review ends. `--baseline plain` leaves that
  bookkeeping out (the engine still does it), as the first version of this
  bench did.

The ratio is engine steps/s over baseline steps/s (4 steps per record);
the target is >= 0.4 on both databases. Timing is interleaved in rounds like
bench/engine_throughput.py, whose measuring code this reuses.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy.engine import make_url

from bench import engine_throughput as base
from bench.common import REQUEST_ROLES_AND_CALENDAR
from engine.people.users import create_user, load_actor
from engine.records.records import Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_text

TARGET = 0.4
FLOW_NAME = "bench_order"
TRANSITIONS = base.TRANSITIONS
STATE_PATH = base.STATE_PATH
LINES = 5

FLOW_YAML = """\
flow: bench_order
title: Bench order
""" + REQUEST_ROLES_AND_CALENDAR + """\
fields:
  subject: {type: text, title: Subject, required: true, max_length: 120}
  due_date: {type: date, title: Wanted by}
  lines:
    type: table
    title: Lines
    min_rows: 1
    max_rows: 200
    fields:
      product: {type: text, title: Product, required: true, max_length: 40}
      quantity: {type: integer, title: Quantity, min: 1, required: true}
      unit_price: {type: money, title: Unit price, currency: CNY, scale: 2, min: 0, required: true}
      amount: {type: money, title: Amount, currency: CNY, scale: 2, compute: "quantity * unit_price"}
  total: {type: money, title: Total, currency: CNY, scale: 2, compute: "sum(lines, 'amount')", index: true}
initial: draft
states:
  draft: {title: Draft, owner: requester, assign: creator, edit: [subject, due_date, lines]}
  review: {title: In review, owner: reviewer, assign: creator, sla: {due: 2d, warn: 75%}}
  fulfil: {title: Fulfilment, owner: fulfiller, assign: creator}
  done: {title: Done, final: true}
transitions:
  submit: {title: Submit, from: draft, to: review, by: requester, require: [subject, lines]}
  approve: {title: Approve, from: review, to: fulfil, by: reviewer, when: "total < 10000000"}
  close: {title: Close, from: fulfil, to: done, by: fulfiller, comment: optional}
"""


def order_values(i: int, lines: int) -> dict[str, Any]:
    return {
        "subject": f"Bench order {i}",
        "due_date": "2026-12-31",
        "lines": [{"product": f"P-{100 + k}", "quantity": k + 1, "unit_price": "1200.50"} for k in range(lines)],
    }


def _line_rows(i: int, lines: int) -> list[tuple[int, str, int, Decimal, Decimal]]:
    out = []
    for k, row in enumerate(order_values(i, lines)["lines"]):
        price = Decimal(row["unit_price"])
        out.append((k, row["product"], row["quantity"], price, price * row["quantity"]))
    return out


class EngineOrders:
    def __init__(self, url: str, lines: int) -> None:
        self.lines = lines
        self.db = make_engine(url)
        upgrade_database(self.db)
        uid = create_user(self.db, "bench", display_name="Bench User", roles=["requester", "reviewer", "fulfiller"])
        self.actor = load_actor(self.db, uid=uid)
        self.registry = FlowRegistry()
        install_text(self.db, self.registry, FLOW_YAML, source="<bench order flow>")
        self.records = Records(self.db, self.registry)

    def run(self, i: int) -> None:
        rec = self.records.create(FLOW_NAME, self.actor, order_values(i, self.lines))
        for name in TRANSITIONS:
            rec = self.records.transition(FLOW_NAME, rec.id, name, self.actor, expected_version=rec.version,
                                          comment=base.CLOSE_COMMENT if name == "close" else None)
        if rec.state != "done" or rec.version != 4:
            raise AssertionError(f"engine record {rec.id} ended in {rec.state} v{rec.version}")

    def check(self, expected: int) -> None:
        with self.db.connect() as conn:
            done = conn.exec_driver_sql(f"SELECT count(*) FROM flow_{FLOW_NAME} WHERE state = 'done'").scalar()
            hist = conn.exec_driver_sql(f"SELECT count(*) FROM history WHERE flow = '{FLOW_NAME}'").scalar()
        base._expect("engine", int(done or 0), int(hist or 0), expected)

    def close(self) -> None:
        self.db.dispose()


# Positions in `SELECT * FROM base_request` (id, then the base columns in their order).
_ROW_COLUMNS = ["id", *(line.split()[0] for line in base._BASE_COLUMNS.strip().splitlines())]
_STARTED, _DUE = _ROW_COLUMNS.index("sla_started_at"), _ROW_COLUMNS.index("sla_due_at")

_PARENT_COLUMNS = ("state, version, revision, assignee_id, assignee_role, created_by, created_at, updated_by, "
                   "updated_at, sla_paused_seconds, sla_escalated, subject, due_date, total")


def _ddl(id_type: str, ts: str, money: str) -> list[str]:
    parent = base._BASE_COLUMNS.format(ts=ts, money=money).replace(
        "subject VARCHAR(120),", "subject VARCHAR(120), total " + money + ",")
    return [
        f"CREATE TABLE base_request (id {id_type}, {parent})",
        "CREATE TABLE base_request_lines (record_id BIGINT NOT NULL, position INTEGER NOT NULL, product VARCHAR(40), "
        f"quantity BIGINT, unit_price {money}, amount {money}, PRIMARY KEY (record_id, position))",
        f"CREATE TABLE base_history (id {id_type}, {base._HISTORY_COLUMNS.format(ts=ts)})",
        f"CREATE TABLE base_sla_results (id {id_type}, flow VARCHAR(64) NOT NULL, record_id BIGINT NOT NULL, "
        f"state VARCHAR(64) NOT NULL, started_at {ts} NOT NULL, due_at {ts} NOT NULL, ended_at {ts} NOT NULL, "
        "met BOOLEAN NOT NULL, margin_seconds INTEGER NOT NULL, paused_seconds INTEGER NOT NULL, "
        "transition VARCHAR(64), actor_id INTEGER)",
        *base._INDEXES,
        "CREATE INDEX ix_base_request_total ON base_request (total)",
        "CREATE INDEX ix_base_sla_results ON base_sla_results (flow, state, ended_at)",
    ]


# What the engine writes for this flow besides state, version and who changed it, per step: the owner role of the
# state entered (none once done), the review stage's clock (2 days, warned at 75%) and its result at the end.
OWNER_ROLE = {"review": "reviewer", "fulfil": "fulfiller", "done": None}
SLA_STATE, SLA_ENDS, SLA_DUE, SLA_WARN = "review", "fulfil", timedelta(days=2), 0.75
_CLOCK = ("sla_state", "sla_started_at", "sla_due_at", "sla_warn_at", "sla_status")


def _step_sql(to_state: str, mark: str, bookkeeping: bool) -> str:
    """The guarded UPDATE of the step entering `to_state` (`mark`: the driver's parameter mark)."""
    sets = ["state", "version", "updated_by", "updated_at"]
    if bookkeeping:
        sets.append("assignee_role")
        if to_state == "done":
            sets.append("assignee_id")
        if to_state in (SLA_STATE, SLA_ENDS):
            sets += _CLOCK
    assignments = ", ".join(f"{c} = {mark}" for c in sets)
    return f"UPDATE base_request SET {assignments} WHERE id = {mark} AND version = {mark}"


def _step_params(to_state: str, version: int, actor: int, now: datetime, stamp: Any, bookkeeping: bool,
                 ts: Any) -> list[Any]:
    """The values of `_step_sql`'s SET list (`ts(datetime)`: a time as the driver stores it)."""
    params: list[Any] = [to_state, version, actor, stamp]
    if bookkeeping:
        params.append(OWNER_ROLE[to_state])
        if to_state == "done":
            params.append(None)
        if to_state == SLA_STATE:
            due = now + SLA_DUE
            params += [SLA_STATE, stamp, ts(due), ts(now + SLA_DUE * SLA_WARN), "on_track"]
        elif to_state == SLA_ENDS:
            params += [None] * len(_CLOCK)
    return params


def _expect_results(found: int, expected: int) -> None:
    if found != expected:
        raise AssertionError(f"baseline: {found} stage results, expected {expected}")


_RESULT_INSERT = ("INSERT INTO base_sla_results (flow, record_id, state, started_at, due_at, ended_at, met, "
                  "margin_seconds, paused_seconds, transition, actor_id) VALUES ({p})")


def _create_changes(i: int, lines: int, total: Decimal) -> str:
    v = order_values(i, lines)
    rows = [{"product": p, "quantity": q, "unit_price": str(u), "amount": str(a)} for _k, p, q, u, a in _line_rows(i, lines)]
    return json.dumps({"subject": [None, v["subject"]], "due_date": [None, v["due_date"]], "lines": [None, rows],
                       "total": [None, str(total)]})


def _sqlite_time(t: datetime) -> str:
    return t.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteOrders:
    ACTOR = 1

    def __init__(self, path: Path, lines: int, bookkeeping: bool = True) -> None:
        self.lines = lines
        self.bookkeeping = bookkeeping
        self.step_sql = [_step_sql(to, "?", bookkeeping) for to in STATE_PATH[1:]]
        self.result_sql = _RESULT_INSERT.format(p=", ".join("?" * 11))
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")
        for stmt in _ddl("INTEGER NOT NULL PRIMARY KEY", "DATETIME", "BIGINT"):
            self.conn.execute(stmt)
        marks = ", ".join("?" * len(_PARENT_COLUMNS.split(",")))
        self.insert_sql = f"INSERT INTO base_request ({_PARENT_COLUMNS}) VALUES ({marks})"
        self.line_sql = ("INSERT INTO base_request_lines (record_id, position, product, quantity, unit_price, amount) "
                         "VALUES (?, ?, ?, ?, ?, ?)")
        self.history_sql = base._HISTORY_INSERT.format(p=", ".join("?" * 11))

    def run(self, i: int) -> None:
        conn, actor = self.conn, self.ACTOR
        rows = _line_rows(i, self.lines)
        total = sum((a for *_x, a in rows), Decimal(0))
        now = base.SqliteBaseline._now()
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(self.insert_sql, (STATE_PATH[0], 1, 1, actor, "requester", actor, now, actor, now, 0, False,
                                             f"Bench order {i}", date(2026, 12, 31).isoformat(), int(total * 100)))
        record_id = cur.lastrowid
        conn.executemany(self.line_sql, [(record_id, k, p, q, int(u * 100), int(a * 100)) for k, p, q, u, a in rows])
        conn.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "create", None, None, STATE_PATH[0],
                                        _create_changes(i, self.lines, total), None, 1))
        conn.execute("COMMIT")
        for step, name in enumerate(TRANSITIONS):
            expected = step + 1
            at = datetime.now(timezone.utc)
            now = _sqlite_time(at)
            to_state = STATE_PATH[step + 1]
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("SELECT * FROM base_request WHERE id = ?", (record_id,))
            row = cur.fetchone()
            if row is None or row[2] != expected:
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: stale or missing")
            conn.execute("SELECT * FROM base_request_lines WHERE record_id = ? ORDER BY position", (record_id,)).fetchall()
            params = _step_params(to_state, expected + 1, actor, at, now, self.bookkeeping, _sqlite_time)
            cur = conn.execute(self.step_sql[step], (*params, record_id, expected))
            if cur.rowcount != 1:
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            conn.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, row[1], to_state,
                                            None, base.CLOSE_COMMENT if name == "close" else None, 1))
            if self.bookkeeping and to_state == SLA_ENDS:  # the review stage's result
                started, due = row[_STARTED], row[_DUE]
                margin = int((datetime.fromisoformat(due).replace(tzinfo=timezone.utc) - at).total_seconds())
                conn.execute(self.result_sql, (FLOW_NAME, record_id, SLA_STATE, started, due, now, margin >= 0, margin,
                                               0, name, actor))
            conn.execute("COMMIT")

    def check(self, expected: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        results = self.conn.execute("SELECT count(*) FROM base_sla_results").fetchone()[0]
        base._expect("baseline", done, hist, expected)
        _expect_results(results, expected if self.bookkeeping else 0)

    def close(self) -> None:
        self.conn.close()


class PostgresOrders:
    ACTOR = 1

    def __init__(self, conninfo: str, lines: int, bookkeeping: bool = True) -> None:
        self.lines = lines
        self.bookkeeping = bookkeeping
        self.step_sql = [_step_sql(to, "%s", bookkeeping) for to in STATE_PATH[1:]]
        self.result_sql = _RESULT_INSERT.format(p=", ".join(["%s"] * 11))
        self.conn = psycopg.connect(conninfo)
        with self.conn.transaction():
            for stmt in _ddl("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE", "NUMERIC(18, 2)"):
                self.conn.execute(stmt)
        self.conn.commit()
        marks = ", ".join(["%s"] * len(_PARENT_COLUMNS.split(",")))
        self.insert_sql = f"INSERT INTO base_request ({_PARENT_COLUMNS}) VALUES ({marks}) RETURNING id"
        self.line_sql = ("INSERT INTO base_request_lines (record_id, position, product, quantity, unit_price, amount) "
                         "VALUES (%s, %s, %s, %s, %s, %s)")
        self.history_sql = base._HISTORY_INSERT.format(p=", ".join(["%s"] * 11))

    def run(self, i: int) -> None:
        conn, actor = self.conn, self.ACTOR
        rows = _line_rows(i, self.lines)
        total = sum((a for *_x, a in rows), Decimal(0))
        now = datetime.now(timezone.utc)
        cur = conn.cursor()
        cur.execute(self.insert_sql, (STATE_PATH[0], 1, 1, actor, "requester", actor, now, actor, now, 0, False,
                                      f"Bench order {i}", date(2026, 12, 31), total))
        record_id = cur.fetchone()[0]
        cur.executemany(self.line_sql, [(record_id, k, p, q, u, a) for k, p, q, u, a in rows])
        cur.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "create", None, None, STATE_PATH[0],
                                       Json(_create_changes(i, self.lines, total), dumps=lambda s: s), None, 1))
        conn.commit()
        for step, name in enumerate(TRANSITIONS):
            expected = step + 1
            now = datetime.now(timezone.utc)
            cur.execute("SELECT * FROM base_request WHERE id = %s", (record_id,))
            row = cur.fetchone()
            if row is None or row[2] != expected:
                conn.rollback()
                raise AssertionError(f"baseline record {record_id}: stale or missing")
            cur.execute("SELECT * FROM base_request_lines WHERE record_id = %s ORDER BY position", (record_id,))
            cur.fetchall()
            to_state = STATE_PATH[step + 1]
            params = _step_params(to_state, expected + 1, actor, now, now, self.bookkeeping, lambda t: t)
            cur.execute(self.step_sql[step], (*params, record_id, expected))
            if cur.rowcount != 1:
                conn.rollback()
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            cur.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, row[1], to_state,
                                           None, base.CLOSE_COMMENT if name == "close" else None, 1))
            if self.bookkeeping and to_state == SLA_ENDS:  # the review stage's result
                started, due = row[_STARTED], row[_DUE]
                margin = int((due - now).total_seconds())
                cur.execute(self.result_sql, (FLOW_NAME, record_id, SLA_STATE, started, due, now, margin >= 0, margin, 0,
                                              name, actor))
            conn.commit()

    def check(self, expected: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        results = self.conn.execute("SELECT count(*) FROM base_sla_results").fetchone()[0]
        self.conn.rollback()
        base._expect("baseline", done, hist, expected)
        _expect_results(int(results), expected if self.bookkeeping else 0)

    def close(self) -> None:
        self.conn.close()


def _judged(result: base.Result) -> base.Result:
    result.target = TARGET
    result.passed = result.ratio >= TARGET
    return result


def run_sqlite(records: int, warmup: int, lines: int, bookkeeping: bool = True) -> base.Result:
    with tempfile.TemporaryDirectory(prefix="relayflow-bench-") as tmp:
        engine = EngineOrders(f"sqlite:///{Path(tmp) / 'engine.db'}", lines)
        baseline = SqliteOrders(Path(tmp) / "baseline.db", lines, bookkeeping)
        try:
            return _judged(base._measure("sqlite", engine, baseline, records, warmup,  # type: ignore[arg-type]
                                         f"SQLite {sqlite3.sqlite_version}"))
        finally:
            engine.close()
            baseline.close()


def run_postgres(records: int, warmup: int, lines: int, bookkeeping: bool = True) -> base.Result:
    from tests.pg_server import create_database, start_postgres

    server = start_postgres(label="bench-lines")
    try:
        engine_url = create_database(server, "bench_lines_engine")
        base_url = create_database(server, "bench_lines_baseline")
        conninfo = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = EngineOrders(engine_url, lines)
        baseline = PostgresOrders(conninfo, lines, bookkeeping)
        try:
            version = baseline.conn.execute("SHOW server_version").fetchone()[0]
            baseline.conn.rollback()
            result = _judged(base._measure("postgres", engine, baseline, records, warmup,  # type: ignore[arg-type]
                                           f"PostgreSQL {version}"))
            if server.owned:
                result.notes.append("throw-away server: fsync=off, synchronous_commit=off")
            return result
        finally:
            engine.close()
            baseline.close()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.line_items", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", "-n", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=LINES, help=f"lines per order (default {LINES})")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--baseline", choices=("same", "plain"), default="same",
                        help="same: the baseline keeps the engine's books for this flow (owner roles, the SLA clock, "
                             "the stage result); plain: it leaves them out")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.records < 1 or args.lines < 1:
        parser.error("--records and --lines must be at least 1")
    warmup = max(20, args.records // 10)
    started = time.perf_counter()
    results = []
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        print(f"[{db}] {warmup} warm-up + {args.records} timed orders of {args.lines} lines per side "
              f"(baseline: {args.baseline}) ...", flush=True)
        results.append((run_sqlite if db == "sqlite" else run_postgres)(args.records, warmup, args.lines,
                                                                      args.baseline == "same"))
    print()
    print(base._table(results))
    print(f"\nwhole run: {time.perf_counter() - started:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": "line_items", "lines": args.lines,
                                               "results": [asdict(r) for r in results]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
