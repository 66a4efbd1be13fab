"""Server time of a records list and of the inbox under `visibility: department`, at N records.

    python -m bench.department_visibility                    # both databases, 1,000,000 records
    python -m bench.department_visibility --records 100000 --db sqlite

The reference flow (tests/acceptance/sales_order.yaml) with `visibility: department`; an org chart
of 1 head office, 8 divisions and 5 teams under each (49 departments, 10 people per team, one
manager per department); N records bulk-loaded with creators spread over all the people and states
spread over the flow's states. Measured (median of --repeat runs, in the engine, no HTTP):

* list: the first page (50, newest first) of the records list as `list_records` builds it, for a team
  member (sees their team), a division manager (five teams) and the head of the company (everything
  under the head office);
* inbox: `inbox()` of a clerk who also stands in for another clerk (a running delegation).

The figures go to stdout; nothing is written to the repository.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from engine.language.loader import load_flow_text
from engine.people.delegation import set_delegation
from engine.people.departments import add_department, add_member
from engine.people.users import create_user, load_actor
from engine.records.inbox import inbox
from engine.records.listing import ListQuery, list_records
from engine.records.records import Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_flow

from bench.common import each_database, throwaway_database

FLOW = Path(__file__).resolve().parent.parent / "tests" / "acceptance" / "sales_order.yaml"
DIVISIONS, TEAMS, PEOPLE = 8, 5, 10
CHUNK = 20_000


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: statement caches, the database's pages
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(url: str, n: int, repeat: int) -> dict[str, float]:
    db = make_engine(url)
    try:
        upgrade_database(db)
        text = FLOW.read_text(encoding="utf-8").replace("\nroles:\n", "\nvisibility: department\nroles:\n", 1)
        live = install_flow(db, load_flow_text(text))
        registry = FlowRegistry()
        registry.put(live)
        records = Records(db, registry)
        people: list[int] = []
        create_user(db, "ceo", roles=["sales"])
        add_department(db, "hq", {"zh-CN": "总部", "en": "Head office"}, manager="ceo")
        for d in range(DIVISIONS):
            create_user(db, f"div{d}_boss", roles=["sales"])
            add_department(db, f"div{d}", f"事业部{d}", parent="hq", manager=f"div{d}_boss")
            for t in range(TEAMS):
                team = f"div{d}_team{t}"
                add_department(db, team, f"小组{d}-{t}", parent=f"div{d}")
                for p in range(PEOPLE):
                    name = f"{team}_p{p}"
                    people.append(create_user(db, name, roles=["sales"]))
                    add_member(db, team, name)
        for name in ("clerk1", "clerk2"):
            create_user(db, name, roles=["clerk"])
        clerk1, clerk2 = load_actor(db, username="clerk1"), load_actor(db, username="clerk2")
        now = datetime.now(timezone.utc)
        set_delegation(db, "clerk2", "clerk1", now - timedelta(days=1), now + timedelta(days=1))

        rng = random.Random(7)
        states = [s for s in live.flow.spec.states]
        t0 = time.perf_counter()
        with db.begin() as conn:
            for lo in range(0, n, CHUNK):
                rows = []
                for i in range(lo, min(n, lo + CHUNK)):
                    state = rng.choice(states)
                    creator = rng.choice(people)
                    at = now - timedelta(minutes=n - i)
                    assignee = rng.choice((clerk1.id, clerk2.id, None)) if state == "review" else None
                    rows.append({"state": state, "version": 1, "revision": live.revision, "created_by": creator,
                                 "created_at": at, "updated_by": creator, "updated_at": at, "sla_paused_seconds": 0,
                                 "sla_escalated": False, "assignee_id": assignee,
                                 "assignee_role": "clerk" if state == "review" else None,
                                 "customer": f"客户{i % 997}", "quantity": 1 + i % 50})
                conn.execute(insert(live.table), rows)
        if db.dialect.name == "postgresql":
            with db.connect() as conn:
                conn.exec_driver_sql(f'ANALYZE "{live.table.name}"')
                conn.commit()
        else:
            with db.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        load_s = time.perf_counter() - t0

        member = load_actor(db, username="div3_team2_p4")
        division = load_actor(db, username="div3_boss")
        ceo = load_actor(db, username="ceo")
        q = ListQuery(sort="-id", limit=50)
        out = {"load_s": load_s}
        for label, actor in (("list_team_member", member), ("list_division_manager", division), ("list_head", ceo)):
            page = list_records(db, records, live, actor, q)
            assert page.records, label
            out[label] = _median_ms(lambda a=actor: list_records(db, records, live, a, q), repeat)
        items = inbox(db, registry, clerk1)
        assert any(i.on_behalf_of == clerk2.id for i in items)
        out["inbox_with_delegation"] = _median_ms(lambda: inbox(db, registry, clerk1), repeat)
        return out
    finally:
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", "-n", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    def on(which: str) -> tuple[str, Any]:
        with throwaway_database(which, "bench_departments") as url:
            return which, run(url, args.records, args.repeat)

    results = dict(each_database(args.db, on))
    print(f"records: {args.records:,}; people: {DIVISIONS * TEAMS * PEOPLE}; departments: {1 + DIVISIONS * (1 + TEAMS)}")
    for name, r in results.items():
        print(f"{name:9} load {r['load_s']:.1f}s  " + "  ".join(
            f"{k}: {v:.2f} ms" for k, v in r.items() if k != "load_s"))


if __name__ == "__main__":
    main()
