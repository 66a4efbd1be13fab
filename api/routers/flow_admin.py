"""Admin API for flow files: validate, plan, apply (optimistically, by plan hash), revisions, SLA simulation."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.reader_language import api_text
from api.deps import AdminActor, Services
from api.editor_work import editor_work
from api.errors import ApiProblem, problem_responses
from api.services import ApiServices
from engine.authoring_tests.gate import MAX_REASON, GateResult, gate_for_apply, override_problem
from engine.records.errors import NotFound
from engine.evolve import apply_flow, plan_flow
from engine.evolve.apply import PlanRef
from engine.evolve.errors import ConfirmationNeeded, LiveRevisionChanged, PlanChanged, PlanRefused
from engine.language.flow import CompiledFlow
from engine.language.cross_flow import check_against
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.storage.revisions import list_revisions, read_revision
from engine.sla.simulate import SimulationError, parse_path, parse_values, simulate

router = APIRouter(prefix="/api/admin/flows", tags=["admin: flows"],
                   responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422))  # 400: a body that is not JSON

MAX_YAML = 1_000_000


class FlowText(BaseModel):
    yaml: str = Field(max_length=MAX_YAML, description="The whole flow file")


class ApplyBody(FlowText):
    plan_hash: str = Field(max_length=64, description="The hash of the plan the admin approved")
    base_revision: int | None = Field(default=None, description="The live revision that plan was made against")
    confirm: list[str] = Field(default_factory=list, max_length=200,
                               description="The plan's `confirm` tokens the admin confirms (changes that may not be meant)")
    tests_override_reason: str | None = Field(
        default=None, max_length=MAX_REASON,
        description="Apply although the flow's own tests fail (docs/flow-tests.md); the reason is kept on the revision")


def _gate(request: Request, svc: ApiServices, flow: CompiledFlow) -> GateResult:
    """The flow's own tests (next to it in the flows folder, else stored with its live revision), run on it."""
    settings = getattr(request.app.state, "settings", None)
    return gate_for_apply(svc.db, svc.registry, getattr(settings, "flows_dir", None), flow)


def _problems(exc: FlowLoadError) -> list[dict[str, Any]]:
    return [{"line": p.line, "column": p.column, "message": p.message} for p in exc.problems]


def _checked(flow: CompiledFlow, svc: ApiServices) -> CompiledFlow:
    """`flow` if its references to other flows hold against the live flows (engine/language/cross_flow.py)."""
    refused = check_against(flow, {live.flow.name: live.flow.spec for live in svc.registry.all()})
    if refused is not None:
        raise refused
    return flow


def _load(yaml_text: str, svc: ApiServices) -> CompiledFlow:
    """The flow of a posted file; a 422 listing every problem when it does not load."""
    try:
        return _checked(load_flow_text(yaml_text, calendars=svc.registry.calendars,
                                        templates=svc.registry.print_templates_of), svc)
    except FlowLoadError as exc:
        raise ApiProblem(422, "invalid_flow_file", f"the flow file has {len(exc.problems)} problem(s)",
                         problems=_problems(exc)) from None


@router.post("/validate", summary="Check a flow file; every problem located as line and column")
async def validate(body: FlowText, svc: Services, actor: AdminActor) -> dict[str, Any]:
    try:
        flow = _checked(await editor_work(load_flow_text, body.yaml, calendars=svc.registry.calendars,
                                        templates=svc.registry.print_templates_of), svc)
    except FlowLoadError as exc:
        return {"ok": False, "problems": _problems(exc)}
    return {"ok": True, "flow": flow.name, "problems": []}


@router.post("/plan", summary="What applying this flow file would do, in words, with the plan hash and the flow's own tests")
async def plan(body: FlowText, request: Request, svc: Services, actor: AdminActor) -> Any:
    flow = await editor_work(_load, body.yaml, svc)
    result = await editor_work(plan_flow, svc.db, flow, calendars=svc.registry.calendars)
    gate = await editor_work(_gate, request, svc, flow)
    return {**result.to_dict(), "tests": gate.to_dict()}


@router.post("/apply", summary="Apply the plan the admin approved (refused if the live revision changed since)")
async def apply(body: ApplyBody, request: Request, svc: Services, actor: AdminActor) -> Any:
    flow = await editor_work(_load, body.yaml, svc)
    expected = PlanRef(body.base_revision, body.plan_hash)
    gate = await editor_work(_gate, request, svc, flow)
    why = override_problem(gate, body.tests_override_reason)
    if why is not None:
        raise ApiProblem(409, "flow_tests_failed", why, tests=gate.to_dict())
    reason = (body.tests_override_reason or "").strip() or None
    try:
        applied = await editor_work(apply_flow, svc.db, flow, expected=expected, applied_by=actor.id,
                                    calendars=svc.registry.calendars, confirmed=body.confirm,
                                    notes=gate.notes(None if gate.passed else reason))
    except PlanRefused as exc:
        raise ApiProblem(422, exc.code, exc.message,
                         plan=exc.plan.to_dict() if getattr(exc, "plan", None) else None) from None
    except ConfirmationNeeded as exc:
        raise ApiProblem(409, exc.code, exc.message, confirm=exc.missing, plan=exc.plan.to_dict()) from None
    except (LiveRevisionChanged, PlanChanged) as exc:
        fresh = await editor_work(plan_flow, svc.db, flow, calendars=svc.registry.calendars)
        raise ApiProblem(409, exc.code, exc.message, plan=fresh.to_dict()) from None
    await editor_work(svc.registry.refresh, svc.db)
    return {"flow": applied.flow, "revision": applied.revision, "applied": applied.applied,
            "seconds": round(applied.seconds, 3), "plan": applied.plan.to_dict(), "tests": gate.to_dict()}


@router.get("/{flow}/revisions", summary="Every applied revision of a flow, newest first")
async def revisions(flow: str, svc: Services, actor: AdminActor) -> list[dict[str, Any]]:
    svc.registry.get(flow)
    with svc.db.connect().execution_options(readonly=True) as conn:
        revs = list_revisions(conn, flow)
    return [{"revision": r.revision, "sha256": r.sha256, "applied_by": r.applied_by,
             "applied_at": r.applied_at.isoformat(), "tests": _revision_tests(r.tests)}
            for r in sorted(revs, key=lambda r: -r.revision)]


def _revision_tests(kept: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a revision keeps of the tests run before its apply (its tests text left out: a list stays light)."""
    return None if kept is None else {k: v for k, v in kept.items() if k != "text"}


@router.get("/{flow}/revisions/{revision}", summary="One revision's flow file (apply it again to roll back)")
async def revision_text(flow: str, revision: Annotated[int, Path(ge=1, le=2**31 - 1)], svc: Services,
                        actor: AdminActor) -> dict[str, Any]:
    with svc.db.connect().execution_options(readonly=True) as conn:
        rev = read_revision(conn, flow, revision)
    if rev is None:
        raise NotFound(f"flow '{flow}' has no revision {revision}")
    return {"flow": flow, "revision": rev.revision, "yaml": rev.yaml_text}


@router.get("/{flow}/simulate", summary="When each stage of a path would warn and fall due")
async def simulate_path(flow: str, svc: Services, actor: AdminActor,
                        start: datetime = Query(description="Start instant with its offset, e.g. 2026-09-30T17:30+08:00"),
                        path: str = Query(max_length=2000, description="Transitions, comma-separated"),
                        value: list[str] = Query(default=[], max_length=20, description=(
                            "Date fields of the record, for deadlines from a date field: delivery_date=2026-10-20"))) -> Any:
    live = svc.registry.get(flow)
    if start.tzinfo is None:
        raise ApiProblem(422, "naive_start", "start needs an offset, e.g. 2026-09-30T17:30+08:00")
    try:
        stages = simulate(live.flow, start, parse_path(path), parse_values(live.flow, value))
    except (SimulationError, ValueError, OverflowError) as exc:  # incl. instants past the calendar's range
        raise ApiProblem(422, "invalid_path", str(exc)) from None
    return {"flow": flow, "start": start.isoformat(),
            "stages": [{**s.as_dict(), "title": api_text(s.title, live.flow)} for s in stages]}
