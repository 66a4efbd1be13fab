"""Live flows: each compiled flow with its table and the revision it runs under.

The database says which revision of each flow is live (`flows.live_revision`);
`FlowRegistry.refresh` brings a process up to date with one cheap query, so
every worker serves a newly applied revision without a restart. Installing a
flow goes through the reload plan (engine/evolve): `install_flow` applies any
plan that is not refused; `install_folder` (server start) applies only safe
plans and keeps serving the live revision otherwise.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, Select, Table, Update, bindparam, select

from engine.sla.calendar import CalendarSpec
from engine.storage.fastsql import FastStatements
from engine.language.flow import CompiledFlow
from engine.language.flow_set import load_flow_folder
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.storage.row_tables import RowTable, row_tables_of
from engine.storage.tables import build_flow_table

log = logging.getLogger("relayflow.reload")



@dataclass(frozen=True)
class LiveFlow:
    flow: CompiledFlow
    table: Table
    revision: int

    # Statements of the write path, built once: SQLAlchemy then reuses their compiled form
    # instead of rebuilding a statement (and its cache key) with literal values on every call.
    @cached_property
    def select_by_id(self) -> Select[Any]:
        return select(self.table).where(self.table.c.id == bindparam("_rid"))

    @cached_property
    def insert_returning_id(self) -> Insert:
        return self.table.insert().returning(self.table.c.id)

    @cached_property
    def fast(self) -> FastStatements:
        return FastStatements(self.table, self.select_by_id, self.insert_returning_id, self.guarded_update)

    @cached_property
    def row_tables(self) -> dict[str, RowTable]:
        """The child tables of the flow's table fields (line items), by field."""
        return row_tables_of(self.flow.name, self.flow.fields)

    @cached_property
    def guarded_update(self) -> Update:
        """UPDATE ... WHERE id = :_rid AND version = :_ver; the SET columns are the other parameters."""
        t = self.table
        return t.update().where(t.c.id == bindparam("_rid"), t.c.version == bindparam("_ver"))


class FlowRegistry:
    """The flows a process serves, by name. Swapping a flow is atomic for readers."""

    def __init__(self) -> None:
        self._flows: dict[str, LiveFlow] = {}
        self._lock = threading.Lock()
        # The shared calendars the flows were loaded with; a refresh compiles with them too.
        self.calendars: dict[str, CalendarSpec] = {}

    def get(self, name: str) -> LiveFlow:
        live = self._flows.get(name)  # several times per request: no import or exception on the way
        if live is None:
            from engine.records.errors import NotFound

            raise NotFound(f"no flow '{name}'")
        return live

    def __contains__(self, name: object) -> bool:
        return name in self._flows

    def names(self) -> list[str]:
        return list(self._flows)

    def all(self) -> list[LiveFlow]:
        return list(self._flows.values())

    def print_templates_of(self, name: str) -> dict[str, str]:
        """The print templates stored with a live flow (what an edited flow text keeps; docs/print.md)."""
        live = self._flows.get(name)
        return dict(live.flow.print_templates) if live is not None else {}

    def put(self, live: LiveFlow) -> None:
        with self._lock:
            flows_copy = dict(self._flows)
            flows_copy[live.flow.name] = live
            self._flows = flows_copy

    def refresh(self, db: Engine, calendars: dict[str, CalendarSpec] | None = None) -> list[str]:
        """Serve the live revision of every flow in the database; the names of the flows that changed."""
        from engine.storage.revisions import live_revisions, read_revision

        with db.connect().execution_options(readonly=True) as conn:
            live = live_revisions(conn)
            stale = [(n, r) for n, r in live.items() if n not in self._flows or self._flows[n].revision != r]
            stored = [read_revision(conn, n, r) for n, r in stale]
        changed = []
        for rev in stored:
            if rev is None:
                continue
            try:
                flow = rev.compile(calendars if calendars is not None else self.calendars)
            except FlowLoadError as exc:
                log.error("flow %s: live revision %s does not load, still serving the previous one: %s",
                          rev.flow, rev.revision, exc)
                continue
            self.put(LiveFlow(flow, build_flow_table(flow), rev.revision))
            changed.append(rev.flow)
        return changed


def install_flow(db: Engine, flow: CompiledFlow, *, applied_by: int | None = None,
                 calendars: dict[str, CalendarSpec] | None = None) -> LiveFlow:
    """Make `flow` the live revision through its plan (raises PlanRefused when the plan is refused)."""
    from engine.evolve import apply_flow

    applied = apply_flow(db, flow, applied_by=applied_by, calendars=calendars)
    return LiveFlow(flow, build_flow_table(flow), int(applied.revision or 0))


def load_folder(folder: str | Path) -> tuple[list[CompiledFlow], list[FlowLoadError], dict[str, CalendarSpec]]:
    """Every flow file of a folder read as one set (engine/language/flow_set.py): the good flows, the
    broken files and duplicate flow ids as errors, and the folder's shared calendars."""
    found = load_flow_folder(folder)
    return found.good, found.bad, found.calendars


def load_flows_folder(folder: str | Path) -> tuple[list[CompiledFlow], list[FlowLoadError]]:
    """Every *.yaml / *.yml file in a folder; broken files are returned as errors, not raised."""
    good, bad, _ = load_folder(folder)
    return good, bad


def install_folder(db: Engine, registry: FlowRegistry, folder: str | Path) -> list[FlowLoadError]:
    """Server start: the folder's files become live when their plan is safe; the rest are reported.

    Every live flow of the database is served, at its live revision, whatever
    happened to its file. Returned: files that do not load, and changes held back
    (each says why and how to apply it).
    """
    from engine.evolve.runtime import sync_folder

    return sync_folder(db, registry, folder).problems


def install_text(db: Engine, registry: FlowRegistry, text: str, source: str = "<flow>") -> LiveFlow:
    live = install_flow(db, load_flow_text(text, source))
    registry.put(live)
    return live
