"""Departments (the org chart; changes by administrators) and out-of-office delegation (one's own, or an
administrator for anyone)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import AdminActor, CurrentActor, Services
from api.errors import problem_responses
from engine.people.delegation import clear_delegation, day_span, get_delegation, set_delegation
from engine.people.departments import (
    add_department, add_member, get_department, import_org_chart, list_departments, move_department, remove_member,
    set_manager, update_department,
)
from engine.records.errors import Forbidden, ValidationFailed

router = APIRouter(prefix="/api", tags=["departments"], responses=problem_responses(400, 401, 403, 404, 422))
DeptId = Annotated[str, Path(min_length=1, max_length=64)]
Username = Annotated[str, Path(min_length=1, max_length=64)]
Title = str | dict[str, str]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentOut(BaseModel):
    id: str
    title: Title
    parent: str | None
    manager: str | None = Field(description="User name of the manager")
    manager_name: str | None
    members: list[str] = Field(description="User names")
    depth: int = Field(description="0 for a top-level department")


class DepartmentCreate(_Body):
    id: str = Field(min_length=1, max_length=64, description="snake_case, e.g. east_sales")
    title: Title = Field(description="Text, or per language: {\"zh-CN\": \"华东销售部\", \"en\": \"East sales\"}")
    parent: str | None = None
    manager: str | None = None


class DepartmentPatch(_Body):
    """Only the keys given change; `parent: null` makes it top-level, `manager: null` leaves it without one."""

    title: Title | None = None
    parent: str | None = None
    manager: str | None = None


class Member(_Body):
    username: str = Field(min_length=1, max_length=64)


class ImportResultOut(BaseModel):
    created: int
    updated: int
    memberships: int


class DelegationIn(_Body):
    delegate: str = Field(min_length=1, max_length=64, description="User name of who handles the tasks")
    start: date | datetime = Field(alias="from", description="First day (the start of it, in the server's zone) or an instant")
    until: date | datetime = Field(description="Last day (to the end of it) or an instant (exclusive)")

    @model_validator(mode="after")
    def _aware(self) -> DelegationIn:
        for v in (self.start, self.until):
            if isinstance(v, datetime) and v.tzinfo is None:
                raise ValueError("give an instant with its offset, e.g. 2026-10-01T09:00+08:00, or a day")
        return self


class DelegationOut(BaseModel):
    user: str
    delegate: str
    delegate_name: str
    starts_at: datetime
    ends_at: datetime
    active: bool


def _out(svc: Any, dept_id: str) -> dict[str, Any]:
    return get_department(svc.db, dept_id).as_dict()


@router.get("/departments", response_model=list[DepartmentOut], summary="The org chart, a parent before its children")
async def departments_list(svc: Services, actor: CurrentActor) -> list[dict[str, Any]]:
    return [d.as_dict() for d in await svc.run(list_departments, svc.db)]


@router.get("/departments/{dept_id}", response_model=DepartmentOut, summary="One department")
async def departments_get(dept_id: DeptId, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    return await svc.run(_out, svc, dept_id)


@router.post("/departments", response_model=DepartmentOut, status_code=201, summary="Add a department")
async def departments_create(body: DepartmentCreate, svc: Services, admin: AdminActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        add_department(svc.executor, body.id, body.title, parent=body.parent, manager=body.manager)
        return _out(svc, body.id)

    return await svc.run(work)


@router.patch("/departments/{dept_id}", response_model=DepartmentOut, summary="Rename, move or set the manager")
async def departments_patch(dept_id: DeptId, body: DepartmentPatch, svc: Services, admin: AdminActor) -> dict[str, Any]:
    given = body.model_fields_set

    def work() -> dict[str, Any]:
        if "title" in given:
            if body.title is None:
                raise ValidationFailed({"title": "give a title"})
            update_department(svc.executor, dept_id, title=body.title)
        if "parent" in given:
            move_department(svc.executor, dept_id, body.parent)
        if "manager" in given:
            set_manager(svc.executor, dept_id, body.manager)
        return _out(svc, dept_id)

    return await svc.run(work)


@router.post("/departments/{dept_id}/members", response_model=DepartmentOut, summary="Add a member")
async def members_add(dept_id: DeptId, body: Member, svc: Services, admin: AdminActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        add_member(svc.executor, dept_id, body.username)
        return _out(svc, dept_id)

    return await svc.run(work)


@router.delete("/departments/{dept_id}/members/{username}", response_model=DepartmentOut, summary="Remove a member")
async def members_remove(dept_id: DeptId, username: Username, svc: Services, admin: AdminActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        remove_member(svc.executor, dept_id, username)
        return _out(svc, dept_id)

    return await svc.run(work)


@router.post("/departments/import", response_model=ImportResultOut, summary="Import an org chart (CSV, all or nothing)",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}})
async def departments_import(svc: Services, admin: AdminActor,
                             text: Annotated[str, Body(media_type="text/csv", max_length=2_000_000)]) -> dict[str, Any]:
    result = await svc.run(import_org_chart, svc.executor, text)
    return {"created": result.created, "updated": result.updated, "memberships": result.memberships}


# --- delegation --------------------------------------------------------------------------------------

def _span(body: DelegationIn, tz: Any) -> tuple[datetime, datetime]:
    if isinstance(body.start, datetime) and isinstance(body.until, datetime):
        return body.start, body.until
    first = body.start.date() if isinstance(body.start, datetime) else body.start
    last = body.until.date() if isinstance(body.until, datetime) else body.until
    return day_span(first, last, tz)


def _zone(svc: Any) -> Any:
    """The server's zone (RELAYFLOW_TIMEZONE, default UTC): what a day means in a delegation."""
    from zoneinfo import ZoneInfo

    from engine.settings import Settings

    name = Settings.from_env().timezone.strip()
    return ZoneInfo(name) if name else timezone.utc


def _may(actor: Any, username: str) -> None:
    if actor.username != username and not actor.is_admin:
        raise Forbidden("only administrators may change another user's delegation")


def _get(svc: Any, username: str) -> dict[str, Any] | None:
    d = get_delegation(svc.db, username)
    return None if d is None else d.as_dict()


@router.get("/users/{username}/delegation", response_model=DelegationOut | None, summary="A user's out-of-office delegation")
async def delegation_get(username: Username, svc: Services, actor: CurrentActor) -> dict[str, Any] | None:
    _may(actor, username)
    return await svc.run(_get, svc, username)


@router.put("/users/{username}/delegation", response_model=DelegationOut, summary="Set an out-of-office delegation")
async def delegation_put(username: Username, body: DelegationIn, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    _may(actor, username)
    start, end = _span(body, _zone(svc))

    def work() -> dict[str, Any]:
        set_delegation(svc.executor, username, body.delegate, start, end)
        out = _get(svc, username)
        assert out is not None
        return out

    return await svc.run(work)


@router.delete("/users/{username}/delegation", status_code=204, summary="End an out-of-office delegation")
async def delegation_delete(username: Username, svc: Services, actor: CurrentActor) -> None:
    _may(actor, username)
    await svc.run(clear_delegation, svc.executor, username)
