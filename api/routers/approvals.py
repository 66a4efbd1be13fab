"""Approvals and the actions around a task: decide (approve / reject), hand over, add an approver, return,
urge, and "who was responsible, who acted" (engine/records/approvals.py, engine/records/task_actions.py).

Every route first asks whether the caller may see the record (404 otherwise, like every record route).
"""
from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, cast

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentActor, RecordId, Services
from api.errors import problem_responses
from engine.records.actor import Actor
from engine.records.approvals import approval_view, decide
from engine.records.task_actions import (
    Done, add_approver, hand_over, may_urge, responsibility, return_record, return_targets, urge,
)
from engine.records.errors import NotFound

T = TypeVar("T")

router = APIRouter(prefix="/api/flows/{flow}/records/{record_id}", tags=["approvals"],
                   responses=problem_responses(400, 401, 403, 404, 409, 422))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_Body):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=10_000, description="Required to reject")


class HandOverIn(_Body):
    to: str = Field(min_length=1, max_length=64, description="User name of the person who takes the task")
    reason: str = Field(max_length=10_000)


class AddApproverIn(_Body):
    to: str = Field(min_length=1, max_length=64, description="User name of the added approver")
    position: Literal["before", "after"] = "before"
    reason: str = Field(max_length=10_000)


class ReturnIn(_Body):
    to: str = Field(min_length=1, max_length=64, description="A state the record has passed through")
    reason: str = Field(max_length=10_000)


class UrgeIn(_Body):
    reason: str | None = Field(default=None, max_length=10_000)


def _seen(svc: Any, flow: str, record_id: int, actor: Actor) -> None:
    if not svc.access.may_see(flow, record_id, actor):
        raise NotFound(f"no {flow} record {record_id}")


async def _on_seen(svc: Any, flow: str, record_id: int, actor: Actor, action: Callable[[], T]) -> T:
    """Run `action` off the event loop once the actor is known to see the record (else 404, as for a missing one)."""
    def work() -> T:
        _seen(svc, flow, record_id, actor)
        return action()

    return cast(T, await svc.run(work))


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _task_json(t: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "approver_id", "approver_name", "responsible_id", "responsible_name", "source", "status", "comment",
            "decided_at", "decided_by", "decided_by_name", "on_behalf_of", "due_at", "warn_at", "seq")
    return {k: _iso(t.get(k)) for k in keys}


def _done(d: Done) -> dict[str, Any]:
    return {"record_id": d.record_id, "action": d.action, "version": d.version, "state": d.state, "detail": d.detail}


@router.get("/approval", summary="The record's approval: every approver's task, the count, my task")
async def get_approval(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        rec = svc.access.get(flow, record_id, actor)
        live = svc.registry.get(flow)
        with svc.db.connect().execution_options(readonly=True) as conn:
            view = approval_view(conn, live.flow, {"id": rec.id, "state": rec.state}, actor)
            row = {"id": rec.id, "state": rec.state, "created_by": rec.system.get("created_by")}
            targets = return_targets(conn, live.flow, rec.id, rec.state)
        st = live.flow.state(rec.state)
        actions = {"allow": list(st.allow), "return_to": targets, "may_urge": may_urge(live.flow, row, actor)}
        if view is None:
            return {"record_id": rec.id, "state": rec.state, "approval": None, "actions": actions}
        return {"record_id": rec.id, "state": rec.state, "actions": actions, "approval": {
            "mode": view["mode"], "tally": view["tally"], "tasks": [_task_json(t) for t in view["tasks"]],
            "my_task": _task_json(view["my_task"]) if view["my_task"] else None}}

    return await svc.run(work)


@router.post("/approval", summary="Approve or reject my task (a comment is required to reject)")
async def post_decision(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor,
                        body: Annotated[DecisionIn, Body()]) -> dict[str, Any]:
    def act() -> dict[str, Any]:
        d = decide(svc.records, flow, record_id, actor, body.decision, body.comment, now=datetime.now(timezone.utc))
        return {"record_id": d.record_id, "decision": d.decision, "tally": d.tally, "moved_to": d.moved_to,
                "version": d.version}

    return await _on_seen(svc, flow, record_id, actor, act)


@router.post("/hand_over", summary="Hand my task over to someone else, with a reason (转交)")
async def post_hand_over(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor,
                         body: Annotated[HandOverIn, Body()]) -> dict[str, Any]:
    return await _on_seen(svc, flow, record_id, actor,
                          lambda: _done(hand_over(svc.records, flow, record_id, actor, body.to, body.reason)))


@router.post("/add_approver", summary="Ask one more person to decide, before or after me (加签)")
async def post_add_approver(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor,
                            body: Annotated[AddApproverIn, Body()]) -> dict[str, Any]:
    return await _on_seen(svc, flow, record_id, actor, lambda: _done(
        add_approver(svc.records, flow, record_id, actor, body.to, body.position, body.reason)))


@router.post("/return", summary="Send the record back to a state it has passed through (回退)")
async def post_return(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor,
                      body: Annotated[ReturnIn, Body()]) -> dict[str, Any]:
    return await _on_seen(svc, flow, record_id, actor,
                          lambda: _done(return_record(svc.records, flow, record_id, actor, body.to, body.reason)))


@router.post("/urge", summary="Remind the responsible people now (催办), at most once per the state's interval")
async def post_urge(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor,
                    body: Annotated[UrgeIn, Body()]) -> dict[str, Any]:
    return await _on_seen(svc, flow, record_id, actor,
                          lambda: _done(urge(svc.records, flow, record_id, actor, body.reason)))


@router.get("/responsibility", summary="Each step of the record: who acted, who was responsible")
async def get_responsibility(flow: str, record_id: RecordId, svc: Services, actor: CurrentActor) -> list[dict[str, Any]]:
    return await _on_seen(svc, flow, record_id, actor, lambda: [
        {k: _iso(v) for k, v in step.items()} for step in responsibility(svc.records, flow, record_id)])
