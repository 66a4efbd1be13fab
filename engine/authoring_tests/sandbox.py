"""Throw-away SQLite databases for flow tests, made fast by copying one prepared file per test.

Making a database from nothing (the migrations, one table per flow, the fixtures) takes a good part of a
second; a test must take much less, so that authors run them on every edit. So a `Sandbox` prepares one
template file per tests file — schema, flows installed, fixture people, departments and records — and
each test runs on a copy of it (a file copy: milliseconds), thrown away afterwards. The migrated empty
database is prepared once per process and copied too. The tests of a sandbox share one engine (its cache of
compiled SQL), each on a fresh copy of the template.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.language.flow import CompiledFlow
from engine.sla.calendar import CalendarSpec
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, LiveFlow, install_flow

_empty_lock = threading.Lock()
_empty: Path | None = None


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _close(db: Engine) -> None:
    """Close every connection, then fold SQLite's write-ahead log into the file (the last close does it too),
    so that a copy of the file alone is the whole database."""
    path = db.url.database
    db.dispose()
    if path:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def empty_database() -> Path:
    """A migrated empty SQLite file, made once per process (read-only to its users: they copy it)."""
    global _empty
    with _empty_lock:
        if _empty is None or not _empty.exists():
            folder = Path(tempfile.mkdtemp(prefix="relayflow-tests-"))
            path = folder / "empty.db"
            db = make_engine(_url(path))
            upgrade_database(db)
            _close(db)
            _empty = path
        return _empty


def _ordered(flows: Iterable[CompiledFlow]) -> list[CompiledFlow]:
    """Flows with the flows they refer to first (a reference's target table exists before it is named)."""
    by_name = {f.name: f for f in flows}
    done: list[CompiledFlow] = []

    def place(name: str, seen: tuple[str, ...]) -> None:
        flow = by_name.get(name)
        if flow is None or flow in done or name in seen:
            return
        for f in flow.fields.values():
            for target in _targets(f):
                place(target, (*seen, name))
        done.append(flow)

    for name in by_name:
        place(name, ())
    return done


def _targets(field: Any) -> list[str]:
    if getattr(field, "type", None) == "reference":
        return [str(field.flow)]
    if getattr(field, "type", None) == "table":
        return [t for f in field.fields.values() for t in _targets(f)]
    return []


class Sandbox:
    """A template database with `flows` installed; `fresh()` gives a copy of it for one test."""

    def __init__(self, flows: Iterable[CompiledFlow], calendars: Mapping[str, CalendarSpec]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="relayflow-flowtest-"))
        self.template = self.folder / "template.db"
        self.files = self.folder / "files"
        self.calendars = dict(calendars)
        shutil.copyfile(empty_database(), self.template)
        db = make_engine(_url(self.template))
        try:
            self.lives: list[LiveFlow] = [install_flow(db, f, calendars=self.calendars) for f in _ordered(flows)]
        finally:
            _close(db)
        self._work_path = self.folder / "test.db"
        self._work: Engine | None = None

    def registry(self) -> FlowRegistry:
        reg = FlowRegistry()
        reg.calendars = dict(self.calendars)
        for live in self.lives:
            reg.put(live)
        return reg

    def open_template(self) -> Engine:
        """The template itself, to add the fixtures to (close it with `seal`)."""
        return make_engine(_url(self.template))

    @staticmethod
    def seal(db: Engine) -> None:
        _close(db)

    def fresh(self) -> tuple[Engine, Path]:
        """The template's copy for the next test, and its file. One file and one engine serve every test of the
        sandbox in turn (tests run one after the other): the engine keeps SQLAlchemy's cache of compiled
        statements, which a new engine per test would compile again (most of a test's time)."""
        if self._work is None:
            self._work = make_engine(_url(self._work_path))
        self._work.dispose()
        self._remove(self._work_path)
        shutil.copyfile(self.template, self._work_path)
        return self._work, self._work_path

    @staticmethod
    def _remove(path: Path) -> None:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)

    def discard(self, db: Engine, path: Path) -> None:
        db.dispose()
        self._remove(path)

    def close(self) -> None:
        if self._work is not None:
            self._work.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)
