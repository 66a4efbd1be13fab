"""The text search index of a flow table: "contains" search over its searchable fields.

The searchable fields are the indexed (or unique) fields of a text-like type.
A list's search is a case-insensitive "contains" over them; the index only
makes it fast, it never changes which records match:

* SQLite: an FTS5 table with the `trigram` tokenizer (SQLite >= 3.34),
  `<table>__search`, reading its text from the flow table (external content)
  and kept in step by three triggers, so every writer (engine, scripts, bulk
  loads through SQL) updates it. A search of 3 characters or more estimates
  how common each of its trigrams is (a few cheap, lazy FTS reads), asks the
  FTS table for the records holding the two rarest, and applies the exact
  condition to those candidates only. When even the rarest trigram is in a
  large share of the records, matches are dense and the ordered scan with the
  exact condition finds a page of them sooner.
* PostgreSQL: one GIN index with `gin_trgm_ops` (extension pg_trgm) per
  searchable column, which serves the ILIKE condition itself (with its own
  recheck, so Chinese text and any punctuation match exactly).

Shorter searches (1-2 characters: too short for a trigram) use the exact
condition alone. The exact condition is ILIKE, except on SQLite for a search
holding a cased letter beyond ASCII (é, Ü, Ж): SQLite's LIKE folds ASCII only,
so there both sides are lower-cased by Python (`rf_lower`, engine/storage/db.py).
PostgreSQL's ILIKE folds as the database's LC_CTYPE says (ASCII only under C).
The reload plan creates, rebuilds and drops the index
(engine/evolve/search_plan.py); listing asks `fts_terms` (which checks
`search_index_ready`) before using the FTS table.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, literal, literal_column, or_, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Select

from engine.storage.db import UNICODE_LOWER
from engine.language.flow import CompiledFlow
from engine.storage.tables import _name

log = logging.getLogger("relayflow.search")

MIN_TRIGRAM = 3  # characters: shorter searches cannot use a trigram index
FTS_SUFFIX = "__search"
TRGM_PREFIX = "trgm"
SQLITE_HAS_TRIGRAM = sqlite3.sqlite_version_info >= (3, 34)
PROBE = 1000  # matches read per trigram to estimate how common it is
MAX_PROBES = 24  # trigrams probed at most (spread over a long search)
FTS_TERMS = 2  # the rarest trigrams asked for together
DENSE_ROWS, DENSE_SHARE = 20_000, 0.02  # a needle whose rarest trigram is this common: scan instead


def search_fields(flow: CompiledFlow) -> list[str]:
    """Fields a list's text search looks in: indexed (or unique) fields of a `searchable` type, in file order."""
    return [n for n, f in flow.fields.items() if (f.index or f.unique) and f.searchable]


def fts_table_name(table_name: str) -> str:
    return f"{table_name}{FTS_SUFFIX}"


def trigram_index_name(table_name: str, column: str) -> str:
    return _name(TRGM_PREFIX, table_name, column)


def is_search_index(name: str | None) -> bool:
    """An index the search index owns (kept out of the btree index comparison of the plan)."""
    return bool(name) and str(name).startswith(TRGM_PREFIX + "_")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_ddl(table_name: str, columns: Sequence[str]) -> list[str]:
    fts, t = fts_table_name(table_name), table_name
    cols = ", ".join(_q(c) for c in columns)
    new = ", ".join(f"new.{_q(c)}" for c in columns)
    old = ", ".join(f"old.{_q(c)}" for c in columns)
    delete = f"INSERT INTO {_q(fts)}({_q(fts)}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {_q(fts)}(rowid, {cols}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE {_q(fts)} USING fts5({cols}, content='{t}', content_rowid='id', "
        "tokenize='trigram case_sensitive 0')",
        f"CREATE TRIGGER {_q(fts + '_ai')} AFTER INSERT ON {_q(t)} BEGIN {insert} END",
        f"CREATE TRIGGER {_q(fts + '_ad')} AFTER DELETE ON {_q(t)} BEGIN {delete} END",
        f"CREATE TRIGGER {_q(fts + '_au')} AFTER UPDATE OF {cols} ON {_q(t)} BEGIN {delete} {insert} END",
    ]


def _postgres_ddl(table_name: str, columns: Sequence[str]) -> list[str]:
    return [f"CREATE INDEX {_q(trigram_index_name(table_name, c))} ON {_q(table_name)} "
            f"USING gin ({_q(c)} gin_trgm_ops)" for c in columns]


def desired_ddl(dialect: str, table_name: str, columns: Sequence[str]) -> list[str]:
    """The statements that build the index for these columns (none when nothing is searchable)."""
    if not columns:
        return []
    if dialect == "sqlite":
        return _sqlite_ddl(table_name, columns) if SQLITE_HAS_TRIGRAM else []
    if dialect == "postgresql":
        return _postgres_ddl(table_name, columns)
    return []


def existing_ddl(conn: Connection, table_name: str) -> list[str]:
    """What the database holds of the index now, comparable with `desired_ddl`."""
    if conn.dialect.name == "sqlite":
        fts = fts_table_name(table_name)
        names = [fts, fts + "_ai", fts + "_ad", fts + "_au"]
        found = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE name IN (:a, :b, :c, :d)"),
                             dict(zip("abcd", names))).all()
        rows: dict[str, str] = {str(n): str(sql) for n, sql in found}
        return [rows[n] for n in names if n in rows]
    if conn.dialect.name == "postgresql":
        got = conn.execute(text(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = :t AND t.relnamespace = "
            "to_regnamespace(current_schema())::oid AND i.relname LIKE :p ORDER BY i.relname"),
            {"t": table_name, "p": TRGM_PREFIX + "\\_%"}).scalars().all()
        return sorted(got)
    return []


def wanted(conn: Connection, table_name: str, columns: Sequence[str]) -> list[str]:
    """`desired_ddl` in the form `existing_ddl` reads back (PostgreSQL: the index names); [] where this
    database cannot have the index (SQLite before 3.34, PostgreSQL without the pg_trgm extension)."""
    if conn.dialect.name == "postgresql":
        if not columns or not trigram_available(conn):
            return []
        return sorted(trigram_index_name(table_name, c) for c in columns)
    return desired_ddl(conn.dialect.name, table_name, columns)


def trigram_available(conn: Connection) -> bool:
    """PostgreSQL has pg_trgm installed in this database, or this user may install it: a superuser, or
    (pg_trgm being a trusted extension) a user with the CREATE privilege on the database. Without it the
    plan wants no index, instead of planning one at every reload that `create` cannot build."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') OR ("
        "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AND ("
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR ("
        "has_database_privilege(current_database(), 'CREATE') AND EXISTS ("
        "SELECT 1 FROM pg_available_extension_versions WHERE name = 'pg_trgm' AND trusted))))")).scalar())


def drop(conn: Connection, table_name: str) -> None:
    """Remove the index of `table_name`, whatever columns it covers."""
    if conn.dialect.name == "sqlite":
        fts = fts_table_name(table_name)
        for trigger in ("_ai", "_ad", "_au"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_q(fts + trigger)}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {_q(fts)}"))
    elif conn.dialect.name == "postgresql":
        for name in existing_ddl(conn, table_name):
            conn.execute(text(f"DROP INDEX IF EXISTS {_q(name)}"))
    _forget(table_name)


def create(conn: Connection, table_name: str, columns: Sequence[str]) -> bool:
    """Build the index over the rows already in the table; False when this database cannot have one."""
    statements = desired_ddl(conn.dialect.name, table_name, columns)
    if not statements:
        return False
    if conn.dialect.name == "postgresql" and not _trigram_extension(conn):
        return False
    for statement in statements:
        conn.execute(text(statement))
    if conn.dialect.name == "sqlite":
        fts = _q(fts_table_name(table_name))
        conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
    _forget(table_name)
    return True


def _trigram_extension(conn: Connection) -> bool:
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True
    except Exception as exc:  # noqa: BLE001 - no right to create it: search stays correct, only slower
        log.warning("no pg_trgm extension (%s); text search scans the table", exc)
        return False


# --- queries ------------------------------------------------------------------------------------------

# Engine → {(table, revision): FTS table exists}; weak, so a disposed engine's answers go with it.
_ready: weakref.WeakKeyDictionary[Engine, dict[tuple[str, int], bool]] = weakref.WeakKeyDictionary()
_ready_lock = threading.Lock()


# Engine → {(table, revision, needle): (when, chosen terms)}: a list page asks for its records and its tab
# counts, and each next page again, with the same search; the trigram estimates are made once for them.
# Only a choice of terms is kept (a superset of the matches whatever is written meanwhile), never "no
# record can match" (the next write may make it false).
_terms: weakref.WeakKeyDictionary[Engine, dict[tuple[str, int, str], tuple[float, tuple[str, ...] | None]]] = (
    weakref.WeakKeyDictionary())
TERMS_TTL = 10.0  # seconds
TERMS_MAX = 1000  # remembered searches per engine


def _forget(table_name: str) -> None:
    with _ready_lock:
        for known in list(_ready.values()):
            for key in [k for k in known if k[0] == table_name]:
                del known[key]
        for chosen in list(_terms.values()):
            for search in [k for k in chosen if k[0] == table_name]:
                del chosen[search]


def _fts_table_exists(db: Engine, table_name: str) -> bool:
    with db.connect() as conn:
        return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                            {"n": fts_table_name(table_name)}).first() is not None


def search_index_ready(db: Engine, table_name: str, revision: int) -> bool:
    """Whether the FTS table of this flow table exists (SQLite; checked once per revision and process)."""
    if db.dialect.name != "sqlite" or not SQLITE_HAS_TRIGRAM:
        return False
    known = _ready.get(db)
    hit = known.get((table_name, revision)) if known is not None else None
    if hit is None:
        hit = _fts_table_exists(db, table_name)
        with _ready_lock:
            _ready.setdefault(db, {})[(table_name, revision)] = hit
    return hit


def fts_terms(db: Engine, table_name: str, revision: int, needle: str) -> tuple[str, ...] | None:
    """`choose_fts_terms` for a list's search, when the FTS table exists (None otherwise: the exact
    condition alone), remembered for TERMS_TTL seconds."""
    if "\x00" in needle or len(needle) < MIN_TRIGRAM or not search_index_ready(db, table_name, revision):
        return None
    key = (table_name, revision, needle)
    known = _terms.get(db)
    hit = known.get(key) if known is not None else None
    now = time.monotonic()
    if hit is not None and now - hit[0] < TERMS_TTL:
        return hit[1]
    try:
        with db.connect().execution_options(readonly=True) as conn:
            chosen = choose_fts_terms(conn, table_name, needle)
    except OperationalError:
        # Dropped by another process's reload since this one read its revision ("no such table"):
        # the exact condition alone, until the new revision is served.
        if _fts_table_exists(db, table_name):
            raise
        with _ready_lock:
            _ready.setdefault(db, {})[(table_name, revision)] = False
        return None
    if chosen != ():
        with _ready_lock:
            remembered = _terms.setdefault(db, {})
            if len(remembered) >= TERMS_MAX:
                remembered.clear()
            remembered[key] = (now, chosen)
    return chosen


def _like_pattern(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_token(gram: str) -> str:
    """One trigram as an FTS5 string: operators, stars and quotes inside lose their meaning."""
    return '"' + gram.replace('"', '""') + '"'


def trigrams(needle: str, limit: int = MAX_PROBES) -> list[str]:
    """The distinct trigrams of `needle` (case-folded), at most `limit`, spread over the whole needle."""
    grams: list[str] = []
    seen: set[str] = set()
    for i in range(len(needle) - MIN_TRIGRAM + 1):
        gram = needle[i:i + MIN_TRIGRAM]
        if gram.casefold() not in seen:
            seen.add(gram.casefold())
            grams.append(gram)
    if len(grams) > limit:
        step = len(grams) / limit
        grams = [grams[int(i * step)] for i in range(limit)]
    return grams


def choose_fts_terms(conn: Connection, table_name: str, needle: str) -> tuple[str, ...] | None:
    """The rarest trigrams of `needle` to ask the FTS table for; () when one of them is in no record,
    None when all are so common that scanning the table finds matches sooner.

    A trigram's frequency is estimated from its newest PROBE matches (rowid order, read lazily):
    fewer than PROBE matches is an exact count, else PROBE over the span of ids they cover,
    scaled to the table. Every record containing `needle` contains each of its trigrams, so
    the records the chosen terms find are a superset of the matches; the exact condition decides.
    """
    fts = _q(fts_table_name(table_name))
    probe = text(f"SELECT count(*), min(rowid), max(rowid) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :q "
                 f"ORDER BY rowid DESC LIMIT {PROBE})")
    top = conn.execute(text(f"SELECT max(id) FROM {_q(table_name)}")).scalar() or 0
    estimates: list[tuple[float, str]] = []
    for gram in trigrams(needle):
        n, lo, hi = conn.execute(probe, {"q": fts_token(gram)}).one()
        if not n:
            return ()
        estimates.append((float(n) if n < PROBE else PROBE * top / (hi - lo + 1), gram))
    estimates.sort()
    if not estimates or estimates[0][0] > max(DENSE_ROWS, DENSE_SHARE * top):
        return None
    return tuple(gram for _, gram in estimates[:FTS_TERMS])


def _folds_beyond_ascii(needle: str) -> bool:
    """`needle` holds a letter with case outside ASCII (é, Ü, Ж; not 华): SQLite's LIKE would match it exactly."""
    return any(ord(ch) > 127 and (ch.lower() != ch or ch.upper() != ch) for ch in needle)


def _exact_condition(table: Table, columns: Sequence[str], needle: str, dialect: str | None,
                     hidden_in: Mapping[str, Sequence[str]] | None = None) -> ColumnElement[bool]:
    if dialect == "sqlite" and _folds_beyond_ascii(needle):
        # SQLite's LIKE and lower() fold ASCII only: compare text lower-cased by Python (engine/storage/db.py).
        pattern = _like_pattern(needle.lower())
        terms = {n: getattr(func, UNICODE_LOWER)(table.c[n]).like(pattern, escape="\\") for n in columns}
    else:
        terms = {n: table.c[n].ilike(_like_pattern(needle), escape="\\") for n in columns}
    hidden_in = hidden_in or {}
    # A field hidden in a record's state is not searched there (engine/records/hidden_fields.py).
    return or_(*(and_(term, table.c.state.not_in(hidden_in[n])) if hidden_in.get(n) else term
                 for n, term in terms.items()))


def contains_condition(table: Table, columns: Sequence[str], needle: str,
                       fts_terms: tuple[str, ...] | None = None, dialect: str | None = None,
                       hidden_in: Mapping[str, Sequence[str]] | None = None) -> ColumnElement[bool]:
    """Records whose searchable fields contain `needle`, ignoring case.

    `fts_terms` (from `choose_fts_terms`): narrow to the records the FTS table finds for them
    first; () means no record can match. `dialect`: the database's, for case folding beyond
    ASCII on SQLite (PostgreSQL's ILIKE folds as the database's LC_CTYPE says). `hidden_in`:
    column -> the states where it is hidden, so is not searched."""
    if "\x00" in needle:
        return false()  # no stored text holds NUL (PostgreSQL cannot store it)
    exact = _exact_condition(table, columns, needle, dialect, hidden_in)
    if fts_terms is None:
        return exact
    if not fts_terms:
        return false()
    fts = sql_table(fts_table_name(table.name))
    query = " AND ".join(fts_token(g) for g in fts_terms)
    matcher = literal_column(_q(fts.name)).op("MATCH")(literal(query))
    ids: Select[Any] = select(literal_column("rowid")).select_from(fts).where(matcher)
    return and_(table.c.id.in_(ids), exact)
