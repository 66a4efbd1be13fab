"""What the flow admin page shows beside the diagram: revisions, the SLA simulation, the SLA report."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request

from engine.storage.registry import LiveFlow
from engine.storage.schema import flow_revisions
from ui.auth import Page
from ui.services import People, services
from ui.simulation_view import simulation
from ui.sla_report_view import report_rows, urged_rows
from ui.timezones import LocalTime, local_time


@dataclass(frozen=True)
class RevisionRow:
    revision: int
    sha256: str
    applied_by: str
    applied_at: LocalTime | None
    live: bool
    tests: dict[str, Any] | None = None  # the flow's own tests run before the apply, an override's reason


def _tests_kept(plan: Any) -> dict[str, Any] | None:
    kept = plan.get("tests") if isinstance(plan, dict) else None
    return kept if isinstance(kept, dict) else None


def revision_rows(request: Request, page: Page, live: LiveFlow) -> list[RevisionRow]:
    """The flow's revisions, newest first (without their YAML), with what their apply kept of the flow's tests."""
    r = flow_revisions
    q = (select(r.c.revision, r.c.sha256, r.c.applied_by, r.c.applied_at, r.c.plan).where(r.c.flow == live.flow.name)
         .order_by(r.c.revision.desc()).limit(200))
    with services(request).db.connect() as conn:
        rows = conn.execute(q).all()
    names = People(request).names
    return [RevisionRow(int(n), sha, names.get(by, "") if by else "", local_time(at, live.flow.timezone),
                        int(n) == live.revision, _tests_kept(plan)) for n, sha, by, at, plan in rows]


def flow_admin_extras(request: Request, page: Page, live: LiveFlow, sim_start: str | None,
                      sim_path: str) -> dict[str, Any]:
    """Template values of the revisions, simulation and SLA report sections."""
    svc = services(request)
    return {"revisions": revision_rows(request, page, live),
            "sim": simulation(live.flow, page._, start=sim_start, path=sim_path, now=page.now),
            "report": report_rows(svc.db, svc.registry, live.flow.name, page._),
            "urged": urged_rows(svc.db, svc.registry, live.flow.name)}
