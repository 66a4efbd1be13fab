"""Pydantic models of the API's fixed shapes (everything that is not a flow's own record)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlaInfo(_Out):
    state: str | None = Field(description="State whose clock this is (a pause keeps the interrupted one)")
    status: str | None
    due_at: datetime | None
    warn_at: datetime | None
    paused: bool


class RecordBase(_Out):
    """System part of every record; each flow's model adds typed `state` and `values`."""

    flow: str
    id: int
    state_title: str
    version: int = Field(description="Optimistic-lock version; send it back (or If-Match) to edit or move")
    revision: int | None = Field(description="Flow revision the record runs under")
    title: str
    editable: list[str] = Field(description="Fields you may edit in this state")
    assignee_id: int | None
    assignee_role: str | None
    created_by: int | None
    created_at: datetime
    updated_by: int | None
    updated_at: datetime
    sla: SlaInfo


class HistoryEntry(_Out):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str = Field(description="create | edit | transition")
    transition: str | None
    from_state: str | None
    to_state: str | None
    changes: dict[str, Any] = Field(description="field → [before, after]")
    comment: str | None
    revision: int | None
    on_behalf_of: int | None = Field(default=None, description="Who was responsible, when the actor stood in for them "
                                     "(out-of-office delegation); empty when people act for themselves")
    on_behalf_of_name: str | None = None


class TransitionInfo(_Out):
    name: str
    title: str
    to: str
    visible: bool = Field(description="You hold a role that may fire it (a button is shown)")
    allowed: bool = Field(description="You may fire it now")
    reasons: list[str] = Field(description="Why it cannot fire now (empty when allowed)")
    comment: str | None = Field(description="required | optional | null")
    confirm: str | None
    require: list[str]


class TransitionList(_Out):
    flow: str
    record_id: int
    state: str
    version: int
    transitions: list[TransitionInfo]


class InboxEntry(_Out):
    flow: str
    flow_title: str
    record_id: int
    state: str
    state_title: str
    title: str
    assignee_id: int | None
    assignee_role: str | None
    sla_status: str | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    on_behalf_of: int | None = Field(default=None, description="Standing in (out of office): whose task this is")
    on_behalf_of_name: str | None = None
    task: str | None = Field(default=None, description="approval: my own approval task (with its own due time)")
    urged: bool = Field(default=False, description="Someone urged it in its current state (urged items come first)")
    key_values: dict[str, Any] = Field(default_factory=dict, description="The flow's inbox_fields and their values")


class Me(_Out):
    id: int
    username: str
    display_name: str
    roles: list[str]
    is_admin: bool
    locale: str | None


class FlowSummary(BaseModel):
    name: str
    title: str | None
    revision: int
    states: list[str]
    transitions: list[str]


class FlowDetail(_Out):
    name: str
    revision: int
    spec: dict[str, Any] = Field(description="The parsed flow file (long forms)")
    can_create: bool
    create_fields: list[str]
    visibility: str


# --- users and tokens -----------------------------------------------------------------------------

class UserOut(_Out):
    id: int
    username: str
    display_name: str
    email: str | None
    phone: str | None = Field(default=None, description="Mobile number, for @-mentions in IM robot messages")
    im_id: str | None = Field(default=None, description="The user's id in the office IM (WeCom userid, DingTalk userId, "
                                                        "Feishu open_id), for @-mentions")
    is_admin: bool
    active: bool
    roles: list[str]


class UserCreate(_Out):
    username: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=1000)
    is_admin: bool = False
    roles: list[str] = Field(default_factory=list, max_length=100)


class UserPatch(_Out):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=1000)
    is_admin: bool | None = None
    active: bool | None = None
    phone: str | None = Field(default=None, max_length=40, description="'' clears it")
    im_id: str | None = Field(default=None, max_length=128, description="'' clears it")


class TokenOut(_Out):
    id: int
    user_id: int
    username: str
    name: str
    prefix: str = Field(description="First characters of the token, to tell tokens apart")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret: shown only now, store it safely")


class TokenCreate(_Out):
    name: str = Field(min_length=1, max_length=100)
    expires_at: datetime | None = Field(default=None, description="When the token stops working (with time zone)")
    username: str | None = Field(default=None, max_length=64, description="Admins: make a token for this user")


class LoginBody(_Out):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class SessionOut(_Out):
    user: Me
    via: str = Field(description="session | token")
    csrf_token: str | None = Field(description="Send as X-CSRF-Token on changes made with the cookie")
    expires_at: datetime | None
