"""Users and role grants (administrators only) and `GET /api/me` (anyone signed in)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import AdminActor, CurrentActor, Services
from api.errors import problem_responses
from api.schemas import Me, UserCreate, UserOut, UserPatch
from api.services import ApiServices
from engine.records.errors import NotFound
from engine.people.im_contacts import set_im_contact
from engine.people.sessions import end_user_sessions
from engine.people.users import (
    create_user, grant_role, list_users, revoke_role, set_active, set_password, update_user, user_id,
)

router = APIRouter(prefix="/api", tags=["users"], responses=problem_responses(400, 401, 403, 404, 422))
Username = Annotated[str, Path(min_length=1, max_length=64)]
Role = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/me", response_model=Me, summary="Who I am")
async def me(actor: CurrentActor) -> dict[str, Any]:
    return {"id": actor.id, "username": actor.username, "display_name": actor.display_name,
            "roles": sorted(actor.roles), "is_admin": actor.is_admin, "locale": actor.locale}


def _one(svc: ApiServices, username: str) -> dict[str, Any]:
    uid = user_id(svc.db, username)
    for u in list_users(svc.db):
        if u["id"] == uid:
            return u
    raise NotFound(f"no user '{username}'")


@router.get("/users", response_model=list[UserOut], summary="All users with their roles")
async def users_list(svc: Services, admin: AdminActor) -> list[dict[str, Any]]:
    return await svc.run(list_users, svc.db)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user")
async def users_create(body: UserCreate, svc: Services, admin: AdminActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        create_user(svc.executor, body.username, display_name=body.display_name, email=body.email,
                    password=body.password, is_admin=body.is_admin, roles=body.roles)
        return _one(svc, body.username)

    return await svc.run(work)


@router.get("/users/{username}", response_model=UserOut, summary="One user")
async def users_get(username: Username, svc: Services, admin: AdminActor) -> dict[str, Any]:
    return await svc.run(_one, svc, username)


@router.patch("/users/{username}", response_model=UserOut, summary="Change a user; deactivating signs them out")
async def users_patch(username: Username, body: UserPatch, svc: Services, admin: AdminActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        uid = user_id(svc.db, username)
        set_im_contact(svc.executor, username, phone=body.phone, im_id=body.im_id)  # first: its checks refuse before any write
        update_user(svc.executor, username, display_name=body.display_name, email=body.email, is_admin=body.is_admin)
        if body.password is not None:
            set_password(svc.executor, username, body.password)
        if body.active is not None:
            set_active(svc.executor, username, body.active)
        if body.password is not None or body.active is False:
            end_user_sessions(svc.executor, uid)
        svc.auth_cache.drop_user(uid)
        return _one(svc, username)

    return await svc.run(work)


def _change_role(svc: ApiServices, change: Callable[[Any, str, str], Any], username: str, role: str) -> dict[str, Any]:
    change(svc.executor, username, role)
    svc.auth_cache.drop_user(user_id(svc.db, username))
    return _one(svc, username)


@router.put("/users/{username}/roles/{role}", response_model=UserOut, summary="Grant a role")
async def roles_grant(username: Username, role: Role, svc: Services, admin: AdminActor) -> dict[str, Any]:
    return await svc.run(_change_role, svc, grant_role, username, role)


@router.delete("/users/{username}/roles/{role}", response_model=UserOut, summary="Revoke a role")
async def roles_revoke(username: Username, role: Role, svc: Services, admin: AdminActor) -> dict[str, Any]:
    return await svc.run(_change_role, svc, revoke_role, username, role)
