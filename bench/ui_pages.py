"""Server time of the pages (inbox, list, record) with a big sales-order table, against a bare endpoint.

    python -m bench.ui_pages [--records 1000000] [--requests 200] [--json PATH]

Builds a SQLite database in a temporary folder with the example sales-order
flow (examples/sales_order.yaml) and the demo users, bulk-loads N records
straight into the flow table (plain sqlite3, indexes dropped and rebuilt
afterwards; 96% of them closed, the rest spread over the open states, each
with a history row so the visibility rule has something to read), then asks
each page REQUESTS times in process as the order-desk clerk, after a
warm-up, and records the server time: from the ASGI call until the last byte
is sent (no network, no client). A bare FastAPI endpoint returning a small
HTML page is timed the same way in the same run. Reports p50/p95/p99 in milliseconds;
the target is p95 < 30 ms per page. The per-state counts of the list tabs are
cached for a few seconds (ui/routes/lists.py); their cold cost is reported
on its own line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TARGET_MS = 30.0
FLOW = Path(__file__).resolve().parents[1] / "examples" / "sales_order.yaml"
OPEN = (("draft", 10), ("order_review", 2), ("manager_approval", 3), ("production", 10), ("inspection", 5),
        ("shipping", 3), ("delivery_check", 2), ("invoicing", 4), ("on_hold", 1))  # per mille
CLOSED = (("completed", 900), ("cancelled", 60))
TS = "%Y-%m-%d %H:%M:%S.%f"


def _state_plan() -> list[str]:
    plan: list[str] = []
    for name, n in (*CLOSED, *OPEN):
        plan.extend([name] * n)
    assert len(plan) == 1000
    return plan


def bulk_load(path: Path, n: int, users: dict[str, int]) -> None:
    """N records (and one history row each) written with plain sqlite3, indexes rebuilt at the end."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    table = "flow_sales_order"
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name IN (?, 'history') "
                          "AND sql IS NOT NULL", (table,)).fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    plan = _state_plan()
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    sales, desk = users["sales"], users["order_desk"]
    owner_user = {"draft": sales, "order_review": desk, "production": users["production"],
                  "inspection": None, "shipping": None, "delivery_check": sales, "invoicing": None,
                  "manager_approval": None, "on_hold": None}
    cols = ("id, state, version, revision, assignee_id, assignee_role, created_by, created_at, updated_by, "
            "updated_at, sla_state, sla_started_at, sla_due_at, sla_warn_at, sla_status, sla_paused_seconds, "
            "sla_escalated, customer, customer_email, sales_rep, product_model, quantity, unit_price, amount, "
            "delivery_date, priority")
    marks = ", ".join("?" * len(cols.split(", ")))
    roles = {"draft": "sales", "order_review": "order_desk", "manager_approval": "manager", "production": "production",
             "inspection": "quality", "shipping": "warehouse", "delivery_check": "sales", "invoicing": "finance",
             "on_hold": "sales"}

    def rows(lo: int, hi: int) -> Any:
        for i in range(lo, hi):
            state = plan[(i * 7919) % 1000]
            created = now - timedelta(minutes=(n - i) * 3 + rng.randint(0, 60))
            open_ = state in roles
            due = now + timedelta(hours=rng.randint(-48, 96)) if open_ and state not in ("draft", "on_hold") else None
            qty, price = rng.randint(1, 500), rng.randint(100, 100_000)
            yield (i, state, 3, 1, owner_user.get(state) if open_ else None, roles.get(state), sales,
                   created.strftime(TS), sales, created.strftime(TS), state if due else None,
                   created.strftime(TS) if due else None, due.strftime(TS) if due else None,
                   (due - timedelta(hours=2)).strftime(TS) if due else None,
                   ("breached" if due < now else "on_track") if due else None, 0, 0,
                   f"Customer {i % 5000:04d}", f"buyer{i % 5000}@example.com", sales, f"M-{i % 300:03d}",
                   qty, price, qty * price, (created + timedelta(days=30)).strftime("%Y-%m-%d"),
                   "urgent" if i % 10 == 0 else "normal")

    def history(lo: int, hi: int) -> Any:
        for i in range(lo, hi):
            state = plan[(i * 7919) % 1000]
            if state == "draft":
                continue
            at = (now - timedelta(minutes=(n - i) * 3)).strftime(TS)
            yield ("sales_order", i, at, sales, "transition", "submit", "draft", "order_review", 1)

    step = 50_000
    for lo in range(1, n + 1, step):
        hi = min(n + 1, lo + step)
        con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows(lo, hi))
        con.executemany("INSERT INTO history (flow, record_id, at, actor_id, action, transition, from_state, "
                        "to_state, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", history(lo, hi))
        con.commit()
    for _, sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.commit()
    con.close()


class ServerTimer:
    """ASGI wrapper: the time the app spends on one request, from the call until its last byte is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        await self.app(scope, receive, send)
        self.last_ms = (time.perf_counter() - t0) * 1000


async def _timed(client: Any, timer: ServerTimer, url: Callable[[], str], count: int, warmup: int) -> list[float]:
    out = []
    for i in range(warmup + count):
        res = await client.get(url())
        assert res.status_code == 200, (res.status_code, res.text[:300])
        if i >= warmup:
            out.append(timer.last_ms)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100)
    return {"p50": round(statistics.median(ms), 2), "p95": round(q[94], 2), "p99": round(q[98], 2)}


async def _measure(app: Any, args: argparse.Namespace, plan: list[str], counts: Any) -> tuple[dict[str, Any], float, int]:
    import httpx
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    timer = ServerTimer(app)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=timer), base_url="http://bench")
    page = await client.get("/login")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    res = await client.post("/login", data={"username": "order_desk", "password": "demo", "pre_token": token})
    assert res.status_code == 303, res.text
    mine = [i for i in range(1, args.records + 1) if plan[(i * 7919) % 1000] == "order_review"]
    rng = random.Random(3)

    bare = FastAPI()

    @bare.get("/bare")
    def bare_page() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>bare</title><p>hello</p>")

    bare_timer = ServerTimer(bare)
    bare_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_timer), base_url="http://bench")
    pages: dict[str, tuple[Any, ServerTimer, Callable[[], str]]] = {
        "bare endpoint": (bare_client, bare_timer, lambda: "/bare"),
        "inbox": (client, timer, lambda: "/"),
        "list (all states)": (client, timer, lambda: "/lists/sales_order"),
        "list (one state, by due)": (client, timer, lambda: "/lists/sales_order?state=order_review&sort=sla_due_at"),
        "list (search customer)": (client, timer, lambda: "/lists/sales_order?q=Customer%200042"),
        # More searches, to show the index's range: 200 of 1M match; every record; none; 2 characters.
        "list (search 4 digits)": (client, timer, lambda: "/lists/sales_order?q=4999"),
        "list (search, all match)": (client, timer, lambda: "/lists/sales_order?q=customer"),
        "list (search, no match)": (client, timer, lambda: "/lists/sales_order?q=Supplier%2077"),
        "list (search 2 chars)": (client, timer, lambda: "/lists/sales_order?q=42"),
        "record": (client, timer, lambda: f"/records/sales_order/{rng.choice(mine)}"),
    }
    results: dict[str, Any] = {}
    for name, (c, t, url) in pages.items():
        results[name] = _stats(await _timed(c, t, url, args.requests, args.warmup))
    counts._data.clear()
    cold = (await _timed(client, timer, lambda: "/lists/sales_order", 1, 0))[0]
    inbox_rows = (await client.get("/")).text.count('class="item"')
    await client.aclose()
    await bare_client.aclose()
    return results, cold, inbox_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it; reuse it when it "
                                                  "is there (for repeated runs)")
    args = parser.parse_args(argv)

    os.environ["RELAYFLOW_WORKER"] = "off"
    from engine.settings import Settings
    from engine.people.users import user_id
    from examples.seed import seed_demo
    from ui.app import create_app
    from ui.routes.lists import COUNT_TTL, _counts

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="rf-ui-bench-"))
    reuse = args.keep is not None and (tmp / "bench.db").exists()
    load_s = 0.0
    try:
        flows = tmp / "flows"
        flows.mkdir(parents=True, exist_ok=True)
        shutil.copy(FLOW, flows / "sales_order.yaml")
        db_path = tmp / "bench.db"
        settings = Settings(database_url=f"sqlite:///{db_path}", flows_dir=flows)
        if not reuse:
            app = create_app(settings)
            seed_demo(app.state.db)
            users = {u: user_id(app.state.db, u) for u in ("sales", "order_desk", "production")}
            t0 = time.perf_counter()
            bulk_load(db_path, args.records, users)
            load_s = time.perf_counter() - t0
            app.state.db.dispose()
        app = create_app(settings)  # a fresh process view of the loaded database

        results, cold, inbox_rows = asyncio.run(_measure(app, args, _state_plan(), _counts))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"records: {args.records:,} (bulk load {load_s:.1f}s); requests per page: {args.requests}; "
          f"as order_desk ({inbox_rows} inbox rows shown)")
    print(f"{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}   target p95 < {TARGET_MS:.0f} ms")
    ok = True
    for name, s in results.items():
        mark = "" if name == "bare endpoint" else ("ok" if s["p95"] < TARGET_MS else "MISSED")
        ok = ok and mark != "MISSED"
        print(f"{name:<28}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}   {mark}")
    print(f"list with cold state counts (cached {COUNT_TTL:.0f}s afterwards): {cold:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"records": args.records, "requests": args.requests, "pages": results,
                                         "cold_list_ms": cold}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
