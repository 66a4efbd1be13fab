"""Transition throughput with one `create` effect against the same transition without it, in one run.

    python -m bench.effects [--records N] [--db sqlite|postgres|both] [--json PATH]

Two flows that differ only in their `ship` transition live in one database: `bench_plain` ships, and
`bench_effect` ships and creates a `bench_task` record (three values mapped by expressions, a reference
back, a required field, the task's first state with an assignee and an SLA clock, a history row on both
records). N records of each flow are made untimed and left ready to ship; then their `ship`
transitions are timed (Records.transition, one transaction each, as a request would) in interleaved
rounds that alternate which side goes first, so that load from elsewhere hits both alike. The ratio is
ship/s with the effect over ship/s without it. See bench/README.md.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import timed
from engine.language.flow_set import load_flow_set
from engine.people.users import create_user, load_actor
from engine.records.records import Record, Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_flow

ROUNDS = 20
DEFAULT_RECORDS = 1000

_SHIPPING = """\
flow: {name}
title: Bench order
record_title: "{{{{ order_no }}}}"
roles: {{warehouse: Warehouse}}
fields:
  order_no: {{type: text, required: true}}
  total: {{type: money, currency: CNY, scale: 2}}
  carrier: {{type: text}}
  shipped_at: {{type: datetime}}
states:
  shipping: {{owner: warehouse, edit: [order_no, total, carrier]}}
  shipped: {{final: true}}
transitions:
  ship:
    from: shipping
    to: shipped
    by: warehouse
    require: [carrier]
    set: {{shipped_at: "now"}}
{effect}"""
_CREATE = """\
    create:
      flow: bench_task
      values: {order: "id", amount_due: "total", due_on: "today + days(30)"}
"""
_TASK = """\
flow: bench_task
title: Bench collection task
record_title: "{{ amount_due }} · {{ due_on }}"
roles: {finance: Finance}
create_by: []
fields:
  order: {type: reference, flow: bench_effect, required: true}
  amount_due: {type: money, currency: CNY, scale: 2, required: true}
  due_on: {type: date, required: true, index: true}
states:
  open: {owner: finance, assign: round_robin, sla: {due: 5d, clock: elapsed}}
  paid: {final: true}
transitions:
  pay: {from: open, to: paid, by: finance}
"""
FLOWS = {"bench_plain": _SHIPPING.format(name="bench_plain", effect=""),
         "bench_effect": _SHIPPING.format(name="bench_effect", effect=_CREATE), "bench_task": _TASK}


@dataclass
class Result:
    db: str
    records: int
    plain_ships_per_s: float
    effect_ships_per_s: float
    ratio: float  # with the effect / without
    plain_us_per_ship: float
    effect_us_per_ship: float
    round_ratio_min: float
    round_ratio_median: float
    round_ratio_max: float
    rounds: int


class Workload:
    def __init__(self, url: str, folder: Path) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        for name, text in FLOWS.items():
            (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        loaded = load_flow_set(sorted(folder.glob("*.yaml")))
        if loaded.bad:
            raise SystemExit("\n".join(str(e) for e in loaded.bad))
        self.registry = FlowRegistry()
        for flow in loaded.good:
            self.registry.put(install_flow(self.db, flow))
        self.records = Records(self.db, self.registry)
        create_user(self.db, "finance", display_name="Finance", roles=["finance"])
        self.actor = load_actor(self.db, uid=create_user(self.db, "bench", display_name="Bench", roles=["warehouse"]))

    def ready(self, flow: str, count: int) -> list[Record]:
        return [self.records.create(flow, self.actor, {"order_no": f"SO-{i:06d}", "total": "5905.00", "carrier": "SF"})
                for i in range(count)]

    def ship(self, recs: list[Record]) -> None:
        for rec in recs:
            self.records.transition(rec.flow, rec.id, "ship", self.actor, expected_version=rec.version)

    def check(self, records: int) -> None:
        with self.db.connect() as conn:
            tasks = conn.exec_driver_sql("SELECT count(*) FROM flow_bench_task").scalar()
            shipped = conn.exec_driver_sql("SELECT count(*) FROM flow_bench_plain WHERE state = 'shipped'").scalar()
        if tasks != records or shipped != records:
            raise AssertionError(f"{tasks} tasks and {shipped} plain orders shipped, expected {records} each")


def measure(db: str, url: str, records: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="relayflow-bench-effects-") as tmp:
        w = Workload(url, Path(tmp))
        try:
            warm = max(10, records // 10)
            plain, effect = w.ready("bench_plain", records + warm), w.ready("bench_effect", records + warm)
            w.ship(plain[:warm])
            w.ship(effect[:warm])
            plain, effect = plain[warm:], effect[warm:]
            rounds = max(1, min(ROUNDS, records))
            size = records // rounds
            plain_s = effect_s = 0.0
            ratios = []
            for r in range(rounds):
                a = plain[r * size:(r + 1) * size if r < rounds - 1 else records]
                b = effect[r * size:(r + 1) * size if r < rounds - 1 else records]
                gc.collect()
                if r % 2 == 0:
                    _, tp = timed(partial(w.ship, a))
                    _, te = timed(partial(w.ship, b))
                else:
                    _, te = timed(partial(w.ship, b))
                    _, tp = timed(partial(w.ship, a))
                plain_s += tp
                effect_s += te
                ratios.append((len(b) / te) / (len(a) / tp))
            w.check(records + warm)
        finally:
            w.db.dispose()
    return Result(db=db, records=records, plain_ships_per_s=round(records / plain_s, 1),
                  effect_ships_per_s=round(records / effect_s, 1), ratio=round(plain_s / effect_s, 3),
                  plain_us_per_ship=round(plain_s / records * 1e6, 1), effect_us_per_ship=round(effect_s / records * 1e6, 1),
                  round_ratio_min=round(min(ratios), 3), round_ratio_median=round(statistics.median(ratios), 3),
                  round_ratio_max=round(max(ratios), 3), rounds=rounds)


def run(db: str, records: int) -> Result:
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="relayflow-bench-") as tmp:
            return measure(db, f"sqlite:///{Path(tmp) / 'effects.db'}", records)
    from tests.pg_server import create_database, start_postgres

    server = start_postgres(label="bench-effects")
    try:
        return measure(db, create_database(server, "bench_effects"), records)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.effects", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", "-n", type=int, default=DEFAULT_RECORDS, help=f"ships per side (default {DEFAULT_RECORDS})")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    started = time.perf_counter()
    results = []
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        print(f"[{db}] {args.records} ships per side ...", flush=True)
        results.append(run(db, args.records))
    print(f"\n{'db':<9} {'ship/s plain':>12} {'ship/s + create':>15} {'ratio':>6}  us/ship plain → with create")
    for r in results:
        print(f"{r.db:<9} {r.plain_ships_per_s:>12,.0f} {r.effect_ships_per_s:>15,.0f} {r.ratio:>6.2f}  "
              f"{r.plain_us_per_ship:.0f} → {r.effect_us_per_ship:.0f} "
              f"(per round {r.round_ratio_min:.2f}..{r.round_ratio_max:.2f}, median {r.round_ratio_median:.2f})")
    print(f"\nwhole run: {time.perf_counter() - started:.1f} s")
    if args.json:
        payload: dict[str, Any] = {"benchmark": "effects", "results": [asdict(r) for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
