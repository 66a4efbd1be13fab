"""Spreadsheet export and import of the order desk: time and memory.

    python -m bench.export_import [--records N] [--import-rows M] [--db sqlite|postgres|both]

* export: N orders (default 100,000), each with 2 order lines, exported as the sales person sees them
  (engine/transfer/list_export.py + export.py) to XLSX and to a ZIP of CSVs. Prints the time and the memory
  growth while exporting: the peak resident set size above what the process held before (Linux VmHWM,
  reset before each export), which must stay under 100 MB whatever N.
* import: M orders (default 20,000) with their lines, from an XLSX the export wrote, into an empty
  database with the same master data: the dry run (one transaction, rolled back) and the run (batches of
  500), each timed.

The N orders are one order made by the engine and copied with SQL (the export reads them like any
records); the import goes through the engine's own create for every row.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from sqlalchemy import func, select

from engine.records.listing import ListQuery
from engine.transfer.export import ExportRow, export_chunks
from engine.transfer.import_plan import guess_mapping
from engine.transfer.import_run import Importer
from engine.transfer.list_export import ListExport
from engine.transfer.upload import read_upload
from tests.excel.desk import NOW, Desk, open_desk, order_values

MEMORY_LIMIT_MB = 100.0


def _status(key: str) -> int:
    """A field of /proc/self/status in kB (0 where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def peak_growth() -> Iterator[list[float]]:
    """Yields a list that gets the peak RSS growth (MB) of the block: VmHWM after minus VmRSS before."""
    try:
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS (Linux)
            f.write("5")
    except OSError:
        pass
    before = _status("VmRSS")
    out: list[float] = []
    yield out
    out.append(max(0, _status("VmHWM") - before) / 1024)


def fill(d: Desk, n: int) -> None:
    """n orders of 2 lines: one made by the engine, the rest copies of its rows (fast, the same shape)."""
    first = d.records.create("sales_order", d.who["sales"], order_values(d, 1), now=NOW)
    live = d.orders
    t, rt = live.table, live.row_tables["lines"].table
    with d.db.connect() as conn:
        row = dict(conn.execute(select(t).where(t.c.id == first.id)).mappings().one())
        lines = [dict(r) for r in conn.execute(select(rt).where(rt.c.record_id == first.id)).mappings()]
    chunk = 5000
    with d.db.begin() as conn:
        for start in range(2, n + 1, chunk):
            ids = range(start, min(n, start + chunk - 1) + 1)
            conn.execute(t.insert(), [{**row, "id": i, "order_no": f"SO-{i:06d}"} for i in ids])
            conn.execute(rt.insert(), [{**line, "record_id": i} for i in ids for line in lines])
    if d.db.dialect.name == "postgresql":
        with d.db.begin() as conn:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), {n})")
            conn.exec_driver_sql(f"ANALYZE {t.name}")
            conn.exec_driver_sql(f"ANALYZE {rt.name}")


@dataclass
class Figures:
    db: str
    records: int
    xlsx_s: float
    xlsx_mb: float
    xlsx_size_mb: float
    csv_s: float
    csv_mb: float
    import_rows: int
    dry_run_s: float
    run_s: float


@dataclass
class First:
    """The first `n` rows of an export source (an ExportSource itself)."""

    source: ListExport
    n: int

    def __post_init__(self) -> None:
        self.title, self.columns, self.tables = self.source.title, self.source.columns, self.source.tables

    def rows(self) -> Iterator[ExportRow]:
        return islice(self.source.rows(), self.n)


def export_bytes(d: Desk, fmt: str, query: ListQuery | None = None) -> tuple[float, float, int, bytes | None]:
    """(seconds, peak growth MB, size in bytes, the file when small enough to keep for the import)."""
    live = d.orders
    source = ListExport(d.db, d.records, live, d.who["sales"], query or ListQuery(sort="id"), "en", live.flow.timezone)
    with tempfile.TemporaryFile() as out, peak_growth() as mb:
        t0 = time.perf_counter()
        chunks, _, _ = export_chunks(source, fmt)  # type: ignore[arg-type]
        for chunk in chunks:
            out.write(chunk)
        seconds = time.perf_counter() - t0
        size = out.tell()
    return seconds, mb[0], size, None


def run(db_label: str, url_a: str, url_b: str, n: int, m: int) -> Figures:
    source = open_desk(url_a)
    target = open_desk(url_b)
    try:
        fill(source, n)
        with source.db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(source.orders.table)).scalar() == n
        xlsx_s, xlsx_mb, xlsx_size, _ = export_bytes(source, "xlsx")
        csv_s, csv_mb, _, _ = export_bytes(source, "csv")
        # the import file: the first m orders, exported
        live = source.orders
        src = ListExport(source.db, source.records, live, source.who["sales"], ListQuery(sort="id"), "en",
                         live.flow.timezone)
        data = b"".join(export_chunks(First(src, m), "xlsx")[0])
        upload = read_upload("orders.xlsx", data)
        mapping = guess_mapping(target.orders.flow, upload)
        imp = Importer(target.db, target.records, target.orders, target.who["sales"], upload, mapping, lang="en")
        t0 = time.perf_counter()
        dry = imp.run(dry_run=True)
        dry_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = imp.run(dry_run=False)
        run_s = time.perf_counter() - t0
        assert dry.counts.created == done.counts.created == m and not done.problems, (dry.counts, done.problems[:3])
        return Figures(db_label, n, xlsx_s, xlsx_mb, xlsx_size / 1e6, csv_s, csv_mb, m, dry_s, run_s)
    finally:
        source.db.dispose()
        target.db.dispose()


def run_sqlite(n: int, m: int) -> Figures:
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        return run(f"SQLite {sqlite3.sqlite_version}", f"sqlite:///{tmp}/a.db", f"sqlite:///{tmp}/b.db", n, m)


def run_postgres(n: int, m: int) -> Figures:
    from tests.pg_server import create_database, drop_database, start_postgres

    server = start_postgres(label="bench")
    try:
        a, b = create_database(server, "bench_export"), create_database(server, "bench_import")
        try:
            return run("PostgreSQL", a, b, n, m)
        finally:
            if not server.owned:
                drop_database(server, a)
                drop_database(server, b)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="orders to export")
    parser.add_argument("--import-rows", type=int, default=20_000, help="orders to import")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    m = min(args.import_rows, args.records)
    failed = False
    for which in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        try:
            f = (run_sqlite if which == "sqlite" else run_postgres)(args.records, m)
        except Exception as exc:
            from tests.pg_server import PostgresUnavailable

            if which == "postgres" and isinstance(exc, PostgresUnavailable):
                print(f"[postgres] skipped: {exc}", file=sys.stderr)
                continue
            raise
        ok = max(f.xlsx_mb, f.csv_mb) < MEMORY_LIMIT_MB
        failed |= not ok
        print(f"{f.db}: export of {f.records:,} orders (2 lines each): XLSX {f.xlsx_s:.1f} s "
              f"({f.records / f.xlsx_s:,.0f} orders/s, {f.xlsx_size_mb:.1f} MB file, memory growth {f.xlsx_mb:.1f} MB), "
              f"CSV zip {f.csv_s:.1f} s (memory growth {f.csv_mb:.1f} MB); target growth < {MEMORY_LIMIT_MB:.0f} MB: "
              f"{'met' if ok else 'NOT met'}")
        print(f"{f.db}: import of {f.import_rows:,} orders with lines: dry run {f.dry_run_s:.1f} s, "
              f"run {f.run_s:.1f} s ({f.import_rows / f.run_s:,.0f} orders/s)")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("RELAYFLOW_WORKER", "off")
    raise SystemExit(main())
