"""Orders with line items: engine throughput against hand-written SQL doing the same logical work.

    python -m bench.line_items [--records N] [--lines L] [--db sqlite|postgres|both] [--json PATH]

Each record is "create with L lines (default 5) + 3 transitions", on SQLite and
PostgreSQL, in separate databases with equivalent tables:

* engine   -- Records.create with a `lines` table field of L rows (per-row
  computed amount, a parent `total = sum(lines, 'amount')`), then three
  Records.transition calls with the expected version.
* baseline -- the same logical work as hand-written SQL through the same
  driver, one transaction per step: insert the parent row (with its total),
  its L line rows (one executemany) and a history row whose changes list the
  lines; per transition read the row, UPDATE state and version guarded by the
  version, insert a history row.

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
from datetime import date, datetime, timezone
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
        *base._INDEXES,
        "CREATE INDEX ix_base_request_total ON base_request (total)",
    ]


def _create_changes(i: int, lines: int, total: Decimal) -> str:
    v = order_values(i, lines)
    rows = [{"product": p, "quantity": q, "unit_price": str(u), "amount": str(a)} for _k, p, q, u, a in _line_rows(i, lines)]
    return json.dumps({"subject": [None, v["subject"]], "due_date": [None, v["due_date"]], "lines": [None, rows],
                       "total": [None, str(total)]})


class SqliteOrders:
    ACTOR = 1

    def __init__(self, path: Path, lines: int) -> None:
        self.lines = lines
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
            now = base.SqliteBaseline._now()
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT * FROM base_request WHERE id = ?", (record_id,)).fetchone()
            if row is None or row[2] != expected:
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: stale or missing")
            conn.execute("SELECT * FROM base_request_lines WHERE record_id = ? ORDER BY position", (record_id,)).fetchall()
            cur = conn.execute("UPDATE base_request SET state = ?, version = ?, updated_by = ?, updated_at = ? "
                               "WHERE id = ? AND version = ?", (STATE_PATH[step + 1], expected + 1, actor, now, record_id, expected))
            if cur.rowcount != 1:
                conn.execute("ROLLBACK")
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            conn.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, row[1], STATE_PATH[step + 1],
                                            None, base.CLOSE_COMMENT if name == "close" else None, 1))
            conn.execute("COMMIT")

    def check(self, expected: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        base._expect("baseline", done, hist, expected)

    def close(self) -> None:
        self.conn.close()


class PostgresOrders:
    ACTOR = 1

    def __init__(self, conninfo: str, lines: int) -> None:
        self.lines = lines
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
            cur.execute("UPDATE base_request SET state = %s, version = %s, updated_by = %s, updated_at = %s "
                        "WHERE id = %s AND version = %s", (STATE_PATH[step + 1], expected + 1, actor, now, record_id, expected))
            if cur.rowcount != 1:
                conn.rollback()
                raise AssertionError(f"baseline record {record_id}: lost the version race")
            cur.execute(self.history_sql, (FLOW_NAME, record_id, now, actor, "transition", name, row[1], STATE_PATH[step + 1],
                                           None, base.CLOSE_COMMENT if name == "close" else None, 1))
            conn.commit()

    def check(self, expected: int) -> None:
        done = self.conn.execute("SELECT count(*) FROM base_request WHERE state = 'done'").fetchone()[0]
        hist = self.conn.execute("SELECT count(*) FROM base_history").fetchone()[0]
        self.conn.rollback()
        base._expect("baseline", done, hist, expected)

    def close(self) -> None:
        self.conn.close()


def _judged(result: base.Result) -> base.Result:
    result.target = TARGET
    result.passed = result.ratio >= TARGET
    return result


def run_sqlite(records: int, warmup: int, lines: int) -> base.Result:
    with tempfile.TemporaryDirectory(prefix="relayflow-bench-") as tmp:
        engine = EngineOrders(f"sqlite:///{Path(tmp) / 'engine.db'}", lines)
        baseline = SqliteOrders(Path(tmp) / "baseline.db", lines)
        try:
            return _judged(base._measure("sqlite", engine, baseline, records, warmup,  # type: ignore[arg-type]
                                         f"SQLite {sqlite3.sqlite_version}"))
        finally:
            engine.close()
            baseline.close()


def run_postgres(records: int, warmup: int, lines: int) -> base.Result:
    from tests.pg_server import create_database, start_postgres

    server = start_postgres(label="bench-lines")
    try:
        engine_url = create_database(server, "bench_lines_engine")
        base_url = create_database(server, "bench_lines_baseline")
        conninfo = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = EngineOrders(engine_url, lines)
        baseline = PostgresOrders(conninfo, lines)
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
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.records < 1 or args.lines < 1:
        parser.error("--records and --lines must be at least 1")
    warmup = max(20, args.records // 10)
    started = time.perf_counter()
    results = []
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        print(f"[{db}] {warmup} warm-up + {args.records} timed orders of {args.lines} lines per side ...", flush=True)
        results.append((run_sqlite if db == "sqlite" else run_postgres)(args.records, warmup, args.lines))
    print()
    print(base._table(results))
    print(f"\nwhole run: {time.perf_counter() - started:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": "line_items", "lines": args.lines,
                                               "results": [asdict(r) for r in results]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
