"""Running several statements in as few round trips as the database driver allows.

psycopg sends a list of statements in one pipeline (one round trip, the
COMMIT riding along if asked); other drivers (asyncpg behind SQLAlchemy's
adapter, in a greenlet) run them one by one, an executemany being one round
trip there too. Only the write machinery (engine/storage/write_ahead.py) uses this.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class Outcome:
    description: Any
    rows: list[Any]


def run_statements(dbapi: Any, driver: Any, statements: list[tuple[str, Any]], many: bool = False,
                   commit: bool = False) -> list[Outcome]:
    """Run `statements` (sql, params) on the DBAPI connection `dbapi` whose driver connection is `driver`.

    many: each statement's params is a list of parameter sets (executemany; nothing is read back).
    commit: psycopg only: COMMIT in the same round trip (skipped by the server if a statement failed);
    elsewhere the caller commits."""
    if not isinstance(driver, psycopg.Connection):
        return _one_by_one(dbapi, statements, many)
    cursors = []
    try:
        with driver.pipeline():
            for sql, params in statements:
                cur = driver.cursor()
                cursors.append(cur)
                if many:
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params)
            if commit:
                driver.commit()
        return [Outcome(c.description, [] if many or not c.description else c.fetchall()) for c in cursors]
    finally:
        for cur in cursors:
            cur.close()


def _one_by_one(dbapi: Any, statements: list[tuple[str, Any]], many: bool) -> list[Outcome]:
    outcomes = []
    for sql, params in statements:
        cur = dbapi.cursor()
        try:
            if many:
                cur.executemany(sql, params)
                outcomes.append(Outcome(None, []))
            else:
                cur.execute(sql, params)
                outcomes.append(Outcome(cur.description, cur.fetchall() if cur.description else []))
        finally:
            cur.close()
    return outcomes
