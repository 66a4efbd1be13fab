"""Flow revisions stored in the database: read them and compile them again.

Every applied flow file is a row of `flow_revisions` (YAML text, hash, who,
when, the plan); `flows.live_revision` says which one is served. A revision
compiles without the files it came from: the shared calendars it used are
stored with its plan.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.sla.calendar import CalendarSpec
from engine.language.flow import CompiledFlow
from engine.language.loader import load_flow_text
from engine.storage.schema import flow_revisions, flows
from engine.language.spec import FlowSpec


@dataclass(frozen=True)
class StoredRevision:
    flow: str
    revision: int
    yaml_text: str
    sha256: str
    applied_by: int | None
    applied_at: datetime
    plan: dict[str, Any] | None

    @property
    def tests(self) -> dict[str, Any] | None:
        """The flow's own tests as run before this revision was applied (engine/authoring_tests/gate.py):
        counts, failures, the tests text, and the reason an admin gave to apply it though one failed."""
        found = (self.plan or {}).get("tests")
        return found if isinstance(found, dict) else None

    @property
    def calendars(self) -> dict[str, CalendarSpec]:
        stored = (self.plan or {}).get("calendars") or {}
        return {name: CalendarSpec.model_validate(body) for name, body in stored.items()}

    def compile(self, fallback_calendars: Mapping[str, CalendarSpec] | None = None) -> CompiledFlow:
        """The revision as it ran; shared calendars come from its plan (else from `fallback_calendars`)."""
        calendars = {**(fallback_calendars or {}), **self.calendars}
        return load_flow_text(self.yaml_text, source=f"{self.flow} revision {self.revision}", calendars=calendars,
                              templates=self.print_templates)

    @property
    def print_templates(self) -> dict[str, str]:
        """The print templates' texts stored with the revision (file name → text)."""
        stored = (self.plan or {}).get("print_templates") or {}
        return {str(k): str(v) for k, v in stored.items()}


def live_revisions(conn: Connection) -> dict[str, int]:
    """Flow name → live revision number (one cheap query; what every worker polls)."""
    return {name: int(rev) for name, rev in conn.execute(select(flows.c.name, flows.c.live_revision)).all()}


def live_revision_of(conn: Connection, flow: str) -> int | None:
    rev = conn.execute(select(flows.c.live_revision).where(flows.c.name == flow)).scalar()
    return None if rev is None else int(rev)


def _stored(row: Any) -> StoredRevision:
    return StoredRevision(row["flow"], int(row["revision"]), row["yaml_text"], row["sha256"], row["applied_by"],
                          row["applied_at"], row["plan"])


def read_revision(conn: Connection, flow: str, revision: int) -> StoredRevision | None:
    row = conn.execute(select(flow_revisions).where(
        flow_revisions.c.flow == flow, flow_revisions.c.revision == revision)).mappings().first()
    return None if row is None else _stored(row)


def read_live(conn: Connection, flow: str) -> StoredRevision | None:
    rev = live_revision_of(conn, flow)
    return None if rev is None else read_revision(conn, flow, rev)


def list_revisions(conn: Connection, flow: str) -> list[StoredRevision]:
    rows = conn.execute(select(flow_revisions).where(flow_revisions.c.flow == flow)
                        .order_by(flow_revisions.c.revision)).mappings().all()
    return [_stored(r) for r in rows]


def calendars_used(spec: FlowSpec, calendars: Mapping[str, CalendarSpec] | None) -> dict[str, Any]:
    """The shared calendars `spec` names, as JSON, to be stored with its revision."""
    if not calendars:
        return {}
    names = {spec.calendar} if isinstance(spec.calendar, str) else set()
    names |= {st.sla.calendar for st in spec.states.values() if st.sla is not None and st.sla.calendar}
    return {n: calendars[n].model_dump(mode="json") for n in sorted(names) if n in calendars}


def rename_history(conn: Connection, flow: str) -> list[tuple[str, str]]:
    """Column renames applied to a flow's table, oldest first (from the plans stored with its revisions)."""
    out: list[tuple[str, str]] = []
    rows = conn.execute(select(flow_revisions.c.plan).where(flow_revisions.c.flow == flow)
                        .order_by(flow_revisions.c.revision)).scalars()
    for stored in rows:
        for step in ((stored or {}).get("plan") or {}).get("steps") or []:
            if step and step[0] == "rename_column" and len(step) == 3:
                out.append((str(step[1]), str(step[2])))
    return out
