"""Pieces the benchmarks share."""
from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, text

T = TypeVar("T")

# The request-like flows of the engine and HTTP benchmarks: a record title, three
# roles and a business calendar (a flow file's text goes on with more calendar
# keys, `fields:` and so on).
REQUEST_ROLES_AND_CALENDAR = """\
record_title: "{{ subject }}"
roles:
  requester: Requester
  reviewer: Reviewer
  fulfiller: Fulfiller
calendar:
  timezone: Asia/Shanghai
  hours:
    mon-fri: ["09:00-12:00", "13:00-18:00"]
"""


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0




@contextmanager
def throwaway_database(kind: str, name: str) -> Iterator[str]:
    """The URL of an empty database for one bench run, removed afterwards: a SQLite file in a temporary folder
    (`kind` "sqlite"), or database `name` on a PostgreSQL server of tests/pg_server.py ("postgres"; raises
    PostgresUnavailable when none can be had)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from tests.pg_server import create_database, drop_database, start_postgres

    server = start_postgres(label="bench")
    try:
        url = create_database(server, name)
        try:
            yield url
        finally:
            if not server.owned:
                drop_database(server, url)
    finally:
        server.stop()


def database_label(db: Engine) -> str:
    """"SQLite 3.40.1" or "PostgreSQL 15.18 (...)": the database a figure was measured on."""
    if db.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with db.connect() as conn:
        return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}"


def each_database(choice: str, run: Callable[[str], T]) -> Iterator[T]:
    """`run("sqlite")` and/or `run("postgres")` as `choice` ("sqlite", "postgres", "both") says; a PostgreSQL
    that cannot be started is skipped with a line on stderr, any other failure raised."""
    for which in (("sqlite", "postgres") if choice == "both" else (choice,)):
        try:
            result = run(which)
        except Exception as exc:
            from tests.pg_server import PostgresUnavailable

            if which == "postgres" and isinstance(exc, PostgresUnavailable):
                print(f"[postgres] skipped: {exc}", file=sys.stderr)
                continue
            raise
        yield result
