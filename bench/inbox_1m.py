"""Inbox server time at N records with per-approver tasks, department visibility and a delegation (p50 / p95).

    python -m bench.inbox_1m                         # both databases, 1,000,000 records
    python -m bench.inbox_1m --records 200000 --db sqlite --repeat 40

A sales-order flow like the acceptance one (`visibility: department`, a clerk stage assigned round robin,
a joint review `approval:` of finance, production and the creator's manager, `inbox_fields`), an org chart
of 8 divisions with 5 teams of 10 salespeople, 10 clerks (clerk2 stands in for clerk1), 5 finance and
5 production people. N records are bulk-loaded, states spread over the flow's states; every record in
joint review has its round: one task per finance person, production person and manager chosen for it,
a third of them already decided. Measured in the engine (`inbox()`, no HTTP), after one warm call:

* approver: a finance person (thousands of pending tasks of their own at 1M records);
* clerk_with_delegation: clerk1, with clerk2's tasks as their stand-in;
* salesperson: a team member (their drafts, and nothing of other teams).

The figures go to stdout; nothing is written to the repository. The issue's target: p95 < 20 ms.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from engine.language.loader import load_flow_text
from engine.people.delegation import set_delegation
from engine.people.departments import add_department, add_member
from engine.people.users import create_user, load_actor
from engine.records.inbox import inbox
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_flow
from engine.storage.schema import approval_tasks

from bench.common import each_database, throwaway_database

FLOW = """
flow: sales_order
title: {zh-CN: 销售订单, en: Sales order}
language: zh-CN
record_title: "{{ order_no }} · {{ customer }}"
calendar: {timezone: Asia/Shanghai, hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}}
roles:
  sales: {title: 销售}
  clerk: {title: 跟单员}
  finance: {title: 财务}
  production: {title: 生产部}
create_by: [sales]
visibility: department
inbox_fields: [customer, total, delivery_date]
fields:
  order_no: {type: text, required: true}
  customer: {type: text, required: true}
  total: {type: money, currency: CNY, scale: 2}
  delivery_date: {type: date}
states:
  draft: {owner: sales, assign: creator, edit: [order_no, customer, total, delivery_date]}
  review:
    owner: clerk
    assign: round_robin
    allow: [hand_over, urge]
    urge: {by: [creator], every: 2h}
    sla: {due: 4h, warn: 75%}
  joint_review:
    approval:
      approvers: [role:finance, role:production, manager_of:creator]
      mode: all
      on_reject: send_back
      distinct_from: [creator]
    sla: {due: 1d, warn: 50%}
  production:
    owner: production
    sla: {due: {field: delivery_date, before: 3d}, warn: {field: delivery_date, before: 5d}}
  shipped: {final: true}
transitions:
  submit: {from: draft, to: review, by: sales}
  to_joint: {from: review, to: joint_review, by: clerk}
  passed: {from: joint_review, to: production, on: approval_passed}
  send_back: {from: [review, joint_review], to: draft, by: clerk, comment: required}
  ship: {from: production, to: shipped, by: production}
"""
DIVISIONS, TEAMS, PEOPLE, CLERKS, FINANCE, PRODUCTION = 8, 5, 10, 10, 5, 5
CHUNK = 20_000
STATES = ("draft", "review", "joint_review", "production", "shipped", "shipped")


def _timings(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds of `repeat` calls after a warm one."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]


def _org(db: Any) -> tuple[list[int], dict[int, int]]:
    """The salespeople, and each one's division manager."""
    people: list[int] = []
    manager: dict[int, int] = {}
    create_user(db, "ceo", roles=["sales"])
    add_department(db, "hq", {"zh-CN": "总部", "en": "Head office"}, manager="ceo")
    for d in range(DIVISIONS):
        boss = create_user(db, f"div{d}_boss", roles=["sales"])
        add_department(db, f"div{d}", f"事业部{d}", parent="hq", manager=f"div{d}_boss")
        for t in range(TEAMS):
            team = f"div{d}_team{t}"
            add_department(db, team, f"小组{d}-{t}", parent=f"div{d}")
            for p in range(PEOPLE):
                uid = create_user(db, f"{team}_p{p}", roles=["sales"])
                add_member(db, team, f"{team}_p{p}")
                people.append(uid)
                manager[uid] = boss
    return people, manager


def run(url: str, n: int, repeat: int) -> dict[str, Any]:
    db = make_engine(url)
    try:
        upgrade_database(db)
        live = install_flow(db, load_flow_text(FLOW))
        registry = FlowRegistry()
        registry.put(live)
        people, manager = _org(db)
        clerks = [create_user(db, f"clerk{i}", roles=["clerk"]) for i in range(1, CLERKS + 1)]
        finance = [create_user(db, f"fin{i}", roles=["finance"]) for i in range(FINANCE)]
        production = [create_user(db, f"prod{i}", roles=["production"]) for i in range(PRODUCTION)]
        now = datetime.now(timezone.utc)
        set_delegation(db, "clerk2", "clerk1", now - timedelta(days=1), now + timedelta(days=1))
        rng = random.Random(13)
        t0 = time.perf_counter()
        tasks_written = 0
        with db.begin() as conn:
            for lo in range(0, n, CHUNK):
                rows, tasks = [], []
                for i in range(lo, min(n, lo + CHUNK)):
                    state = rng.choice(STATES)
                    creator = rng.choice(people)
                    at = now - timedelta(minutes=n - i)
                    due = at + timedelta(hours=rng.randint(-48, 96))
                    rows.append({
                        "id": i + 1, "state": state, "version": 1, "revision": live.revision, "created_by": creator,
                        "created_at": at, "updated_by": creator, "updated_at": at, "sla_paused_seconds": 0,
                        "sla_escalated": False,
                        "assignee_id": creator if state == "draft" else rng.choice(clerks) if state == "review" else None,
                        "assignee_role": {"draft": "sales", "review": "clerk", "production": "production"}.get(state),
                        "sla_state": state if state in ("review", "joint_review", "production") else None,
                        "sla_started_at": at if state in ("review", "joint_review", "production") else None,
                        "sla_due_at": due if state in ("review", "joint_review", "production") else None,
                        "sla_status": "on_track" if state in ("review", "joint_review", "production") else None,
                        "order_no": f"SO-{i:07d}", "customer": f"客户{i % 997}", "total": 1000 + i % 90_000,
                        "delivery_date": (at + timedelta(days=30)).date()})
                    if state == "joint_review":
                        for seq, who in enumerate((rng.choice(finance), rng.choice(production), manager[creator])):
                            decided = rng.random() < 1 / 3
                            tasks.append({
                                "flow": live.flow.name, "record_id": i + 1, "state": state, "stage_start": at,
                                "seq": (seq + 1) * 10, "approver_id": who, "responsible_id": who,
                                "source": ("role:finance", "role:production", "manager_of:creator")[seq],
                                "status": "approved" if decided else "pending", "decided_at": at if decided else None,
                                "created_at": at, "due_at": due, "warn_at": None})
                conn.execute(insert(live.table), rows)
                if tasks:
                    conn.execute(insert(approval_tasks), tasks)
                    tasks_written += len(tasks)
            if db.dialect.name == "postgresql":  # the ids were given: move the sequence past them
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{live.table.name}\"', 'id'), {n})")
        with db.connect() as conn:
            conn.exec_driver_sql(f'ANALYZE "{live.table.name}"' if db.dialect.name == "postgresql" else "ANALYZE")
            if db.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE approval_tasks")
            conn.commit()
        out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "tasks": tasks_written}
        readers = {"approver": load_actor(db, username="fin0"),
                   "clerk_with_delegation": load_actor(db, username="clerk1"),
                   "salesperson": load_actor(db, username="div3_team2_p4")}
        for label, actor in readers.items():
            items = inbox(db, registry, actor)
            if label == "approver":
                assert any(i.task == "approval" for i in items), label
            if label == "clerk_with_delegation":
                assert any(i.on_behalf_of is not None for i in items), label
            out[label] = (*_timings(lambda a=actor: inbox(db, registry, a), repeat), len(items))
        return out
    finally:
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", "-n", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()
    def on(which: str) -> tuple[str, Any]:
        with throwaway_database(which, "bench_inbox") as url:
            return which, run(url, args.records, args.repeat)

    results = dict(each_database(args.db, on))
    print(f"records: {args.records:,}; salespeople: {DIVISIONS * TEAMS * PEOPLE}; clerks: {CLERKS}; "
          f"finance: {FINANCE}; production: {PRODUCTION}")
    for name, r in results.items():
        print(f"{name:9} load {r['load_s']:.1f}s, {r['tasks']:,} approval tasks")
        for label in ("approver", "clerk_with_delegation", "salesperson"):
            p50, p95, shown = r[label]
            print(f"  {label:22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({shown} items)")


if __name__ == "__main__":
    main()
