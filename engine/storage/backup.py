"""Backups of the whole database (engine tables, flow tables, revisions, history, outbox) and restores.

* SQLite: SQLite's online backup API (`sqlite3.Connection.backup`), which copies
  a consistent snapshot page by page while the server keeps running; the copy
  is itself an ordinary SQLite file. A restore copies it back the same way.
* PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists`
  (the binaries of the PostgreSQL install: PATH first, then Debian's
  /usr/lib/postgresql/*/bin, newest first). The password, if the URL has one,
  goes to them in PGPASSWORD, never on a command line.

A restore replaces everything in the target database: stop the servers and
workers that use it first (docs/operations.md).
"""
from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

# A file is taken for a Relayflow backup only if it holds the engine's own tables.
_MARKER_TABLES = ("relayflow_schema_version", "flows", "history")


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why, for an operator."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    kind: str  # "sqlite" or "postgresql"


def backup_database(url: str, dest: str | Path) -> BackupInfo:
    """Write a backup of the database at `url` to `dest` (a new file; an existing one is refused)."""
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} exists already: choose a new file name")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        tmp = dest.with_name(dest.name + ".partial")
        try:
            with _sqlite(source) as src, _sqlite(tmp) as out:
                src.backup(out)
            tmp.replace(dest)  # a half-written backup never carries the final name
        finally:
            tmp.unlink(missing_ok=True)
        return BackupInfo(dest, dest.stat().st_size, "sqlite")
    if parsed.get_backend_name() == "postgresql":
        _run_pg("pg_dump", url, ["--format=custom", "--no-owner", "--file", str(dest)])
        return BackupInfo(dest, dest.stat().st_size, "postgresql")
    raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")


def restore_database(url: str, src: str | Path) -> None:
    """Replace the contents of the database at `url` with the backup `src`."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"{src}: no such backup file")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_backup(src)
        with _sqlite(src) as backup, _sqlite(_sqlite_path(url)) as target:
            backup.backup(target)
        return
    if parsed.get_backend_name() == "postgresql":
        with src.open("rb") as f:
            if f.read(5) != b"PGDMP":
                raise BackupError(f"{src} is not a PostgreSQL backup made by `relayflow backup`")
        listed = _run_pg("pg_restore", url, ["--list", str(src)], with_db=False)  # reads the archive only
        kept = {line.split()[-2] for line in listed.splitlines() if " TABLE " in line and not line.startswith(";")}
        _run_pg("pg_restore", url, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(src)])
        _drop_tables_not_in(url, kept)
        return
    raise BackupError(f"restores into {parsed.get_backend_name()} databases are not supported")


class _sqlite:
    """A plain sqlite3 connection as a context manager that always closes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.conn = sqlite3.connect(self.path)
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _check_sqlite_backup(src: Path) -> None:
    with src.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{src} is not an SQLite backup made by `relayflow backup`")
    with _sqlite(src) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in _MARKER_TABLES if t not in names]
    if missing:
        raise BackupError(f"{src} is an SQLite file but not a Relayflow backup (no table {missing[0]})")


def pg_binary(name: str) -> str:
    """`pg_dump` or `pg_restore`: on PATH, else the newest Debian install's."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    raise BackupError(f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client)")


def _version_key(folder: str) -> tuple[int, ...]:
    part = Path(folder).parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit()) or (0,)


def _drop_tables_not_in(url: str, kept: set[str]) -> None:
    """Tables made after the backup (a flow installed later) go too: the restored revisions do not
    know them, and installing that flow again must find no table in the way."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name in inspect(conn).get_table_names(schema="public"):
                if name not in kept:
                    conn.execute(text(f'DROP TABLE IF EXISTS public."{name}" CASCADE'))
    finally:
        engine.dispose()


def _run_pg(program: str, url: str, args: list[str], *, with_db: bool = True) -> str:
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    libpq = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    target = ["--dbname", libpq] if with_db else []
    done = subprocess.run([pg_binary(program), *target, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{program} failed: {detail[-1] if detail else f'exit {done.returncode}'}")
    return done.stdout
