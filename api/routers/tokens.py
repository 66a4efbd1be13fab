"""API tokens: everyone manages their own; administrators also those of others.

A token that is not yours answers 404 to a non-admin (it is invisible to you).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import CurrentActor, CurrentPrincipal, Services
from api.errors import problem_responses
from api.schemas import NewTokenOut, TokenCreate, TokenOut
from engine.records.actor import Actor
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.people.tokens import TokenInfo, create_token, get_token, list_tokens, revoke_token
from engine.people.users import user_id

router = APIRouter(prefix="/api/tokens", tags=["tokens"], responses=problem_responses(400, 401, 403, 404, 422))
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def token_json(t: TokenInfo) -> dict[str, Any]:
    return {"id": t.id, "user_id": t.user_id, "username": t.username, "name": t.name, "prefix": t.prefix,
            "created_at": t.created_at, "expires_at": t.expires_at, "last_used_at": t.last_used_at,
            "revoked_at": t.revoked_at, "active": t.active()}


def _owner_id(svc: Any, actor: Actor, username: str | None) -> int:
    if username is None or username == actor.username:
        return actor.id
    if not actor.is_admin:
        raise Forbidden("only administrators manage other users' tokens")
    return user_id(svc.db, username)


@router.get("", response_model=list[TokenOut], summary="My tokens (admins: ?username= for another user's)")
async def tokens_list(svc: Services, actor: CurrentActor,
                      username: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    def work() -> list[dict[str, Any]]:
        return [token_json(t) for t in list_tokens(svc.db, _owner_id(svc, actor, username))]

    return await svc.run(work)


@router.post("", response_model=NewTokenOut, status_code=201, summary="Make a token (its secret is shown once)")
async def tokens_create(body: TokenCreate, svc: Services, principal: CurrentPrincipal) -> dict[str, Any]:
    actor = principal.actor

    def work() -> dict[str, Any]:
        owner = _owner_id(svc, actor, body.username)
        if principal.via == "token" and principal.token_id is not None:
            # A token cannot outlive the one that made it: else a short-lived token would be a way to a
            # permanent one.
            limit = get_token(svc.db, principal.token_id).expires_at
            if limit is not None and (body.expires_at is None or body.expires_at > limit):
                raise ValidationFailed({"expires_at": f"the token making this one expires at {limit.isoformat()}: "
                                                      "the new one must expire by then too"})
        new = create_token(svc.executor, owner, body.name, expires_at=body.expires_at, created_by=actor.id)
        return {**token_json(new.info), "token": new.secret}

    return await svc.run(work)


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke a token (it stops working at once)")
async def tokens_revoke(token_id: TokenId, svc: Services, actor: CurrentActor) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        t = get_token(svc.db, token_id)
        if t.user_id != actor.id and not actor.is_admin:
            raise NotFound(f"no token {token_id}")
        info = revoke_token(svc.executor, token_id)
        svc.auth_cache.drop_where(lambda a: a.token_id == token_id)
        return token_json(info)

    return await svc.run(work)
