"""Live flows: each compiled flow with its table and the revision it runs under.

`install_flow` stores a flow file as a revision and makes sure its table
exists. A first install creates the table; a changed file only gets additive
changes here (new columns and indexes) — the full plan/apply with renames,
retired columns and state mappings lives in engine/evolve.py.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, inspect, insert, select, text, update

from engine.flow import CompiledFlow
from engine.loader import load_calendars_file, load_flow_file, load_flow_text
from engine.problems import FlowLoadError
from engine.schema import flow_revisions, flows
from engine.tables import build_flow_table


CALENDARS_FILE = "calendars.yaml"


@dataclass(frozen=True)
class LiveFlow:
    flow: CompiledFlow
    table: Table
    revision: int


class FlowRegistry:
    """The flows a process serves, by name. Swapping a flow is atomic for readers."""

    def __init__(self) -> None:
        self._flows: dict[str, LiveFlow] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> LiveFlow:
        from engine.errors import NotFound

        try:
            return self._flows[name]
        except KeyError:
            raise NotFound(f"no flow '{name}'") from None

    def names(self) -> list[str]:
        return list(self._flows)

    def all(self) -> list[LiveFlow]:
        return list(self._flows.values())

    def put(self, live: LiveFlow) -> None:
        with self._lock:
            flows_copy = dict(self._flows)
            flows_copy[live.flow.name] = live
            self._flows = flows_copy


def _add_missing_columns(conn, table: Table) -> None:  # type: ignore[no-untyped-def]
    insp = inspect(conn)
    have = {c["name"] for c in insp.get_columns(table.name)}
    for col in table.columns:
        if col.name not in have:
            conn.execute(_add_column_ddl(conn, table, col))
    have_ix = {ix["name"] for ix in insp.get_indexes(table.name)}
    for ix in table.indexes:
        if ix.name not in have_ix:
            ix.create(conn)


def _add_column_ddl(conn, table: Table, col):  # type: ignore[no-untyped-def]
    coltype = col.type.compile(dialect=conn.dialect)
    return text(f'ALTER TABLE {conn.dialect.identifier_preparer.quote(table.name)} '
                f'ADD COLUMN {conn.dialect.identifier_preparer.quote(col.name)} {coltype}')


def install_flow(db: Engine, flow: CompiledFlow, *, applied_by: int | None = None) -> LiveFlow:
    """Store `flow` as the live revision (if it changed) and make sure its table exists."""
    now = datetime.now(timezone.utc)
    table = build_flow_table(flow, MetaData())
    with db.begin() as conn:
        current = conn.execute(select(flows.c.live_revision).where(flows.c.name == flow.name)).scalar()
        if current is not None:
            sha = conn.execute(select(flow_revisions.c.sha256).where(
                flow_revisions.c.flow == flow.name, flow_revisions.c.revision == current)).scalar()
            if sha == flow.sha256:
                return LiveFlow(flow, table, int(current))
        if inspect(conn).has_table(table.name):
            _add_missing_columns(conn, table)
        else:
            table.create(conn)
        revision = (current or 0) + 1
        conn.execute(insert(flow_revisions).values(
            flow=flow.name, revision=revision, yaml_text=flow.source_text, sha256=flow.sha256,
            applied_by=applied_by, applied_at=now, plan=None))
        if current is None:
            conn.execute(insert(flows).values(name=flow.name, live_revision=revision, updated_at=now))
        else:
            conn.execute(update(flows).where(flows.c.name == flow.name).values(live_revision=revision, updated_at=now))
    return LiveFlow(flow, table, revision)


def load_flows_folder(folder: str | Path) -> tuple[list[CompiledFlow], list[FlowLoadError]]:
    """Every *.yaml / *.yml file in a folder; broken files are returned as errors, not raised."""
    good: list[CompiledFlow] = []
    bad: list[FlowLoadError] = []
    calendars = {}
    shared = Path(folder) / CALENDARS_FILE
    if shared.exists():
        try:
            calendars = load_calendars_file(shared)
        except FlowLoadError as exc:
            bad.append(exc)
    for path in sorted(Path(folder).glob("*.y*ml")):
        if path.name == CALENDARS_FILE:
            continue
        try:
            good.append(load_flow_file(path, calendars))
        except FlowLoadError as exc:
            bad.append(exc)
    return good, bad


def install_folder(db: Engine, registry: FlowRegistry, folder: str | Path) -> list[FlowLoadError]:
    good, bad = load_flows_folder(folder)
    for flow in good:
        registry.put(install_flow(db, flow))
    return bad


def install_text(db: Engine, registry: FlowRegistry, text: str, source: str = "<flow>") -> LiveFlow:
    live = install_flow(db, load_flow_text(text, source))
    registry.put(live)
    return live
