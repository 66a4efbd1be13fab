"""The flow language as pydantic models (structure only; meaning is checked in checks.py).

Short forms are expanded before validation so that error locations stay plain
paths into the file: `sla: 4h` is `sla: {due: 4h}`, `by: clerk` is
`by: [clerk]`, `from: draft` is `from: [draft]`, `assign: {field: x}` names a
user field.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Discriminator, Field, ModelWrapValidatorHandler, PrivateAttr, Tag, model_validator,
)

from engine.sla.calendar import CalendarSpec
from engine.language.approval_spec import ApprovalSpec, NotifyOnChangeSpec, TaskAction, UrgeSpec
from engine.language.date_deadline_spec import DateDeadline
from engine.language.durations import parse_duration
from engine.language.effects_spec import CreateEffect, UpdateEffect, ValueSource, effect_list
from engine.language.event_spec import EventSpec
from engine.language.lookup_spec import LookupSpec, split_lookups
from engine.language.print_spec import PrintSpec
from forms import FieldSpec
from engine.language.author_messages import split_condition
from engine.language.dashboard_spec import DashboardSpec
from forms.local_text import LocalText

_PERCENT_RE = re.compile(r"^(\d{1,2})%$")


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_warn(value: str) -> str:
    m = _PERCENT_RE.match(value)
    if m:
        if not 1 <= int(m.group(1)) <= 99:
            raise ValueError("a warning percentage must be between 1% and 99%")
        return value
    parse_duration(value)
    return value


DurationText = Annotated[
    str,
    AfterValidator(_check_duration),
    Field(description="Duration such as 45s, 90m, 4h, 2d or 1h30m", examples=["4h", "2d", "1h30m"]),
]
WarnText = Annotated[
    str,
    AfterValidator(_check_warn),
    Field(description="When to warn: a duration after the stage starts, or a percentage of the due time", examples=["75%", "3h"]),
]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RoleSpec(_Model):
    title: LocalText | None = None
    description: LocalText | None = None


def _due_kind(value: Any) -> str:
    """A mapping (or a DateDeadline) is a deadline from a date field; anything else is read as a duration, so that
    a bad duration gets the duration's message alone, not also "should be a dictionary"."""
    return "date" if isinstance(value, (dict, DateDeadline)) else "text"


DueText = Annotated[Annotated[DurationText, Tag("text")] | Annotated[DateDeadline, Tag("date")], Discriminator(_due_kind)]
WarnOrDate = Annotated[Annotated[WarnText, Tag("text")] | Annotated[DateDeadline, Tag("date")], Discriminator(_due_kind)]


class SlaSpec(_Model):
    due: DueText = Field(
        description="A duration from the stage's start (4h, 2d), or {field: a_date_field, before: 3d} "
                    "(engine/language/date_deadline_spec.py)")
    warn: WarnOrDate | None = None
    clock: Literal["business", "elapsed"] = Field(
        default="business", description="business: count working time of the calendar; elapsed: wall time"
    )
    calendar: str | None = Field(default=None, description="Name of a shared calendar instead of the flow's own")
    on_change: Literal["keep", "recompute"] = Field(
        default="keep", description="When this SLA changes on reload: running clocks keep their due time or are recomputed"
    )


class AssignSpec(_Model):
    strategy: Literal["creator", "field", "round_robin", "least_loaded", "manager_of"]
    field: str | None = None
    manager_of: str | None = Field(default=None, description="creator | a user field: whose manager gets the record")


class StateSpec(_Model):
    title: LocalText | None = None
    description: LocalText | None = None
    owner: str | None = Field(default=None, description="Role responsible in this state; its members see the record in their inbox")
    assign: AssignSpec | None = Field(default=None, description="creator | round_robin | least_loaded | {field: a_user_field} "
                                      "| {manager_of: creator or a user field}")
    edit: list[str] = Field(default_factory=list, description="Fields editable in this state")
    edit_by: list[str] | None = Field(default=None, description="Roles that may edit (default: the owner role)")
    hide: list[str] = Field(default_factory=list, description="Fields not shown in this state")
    sla: SlaSpec | None = None
    pause_sla: bool = Field(default=False, description="A waiting state: the interrupted stage's clock stops")
    final: bool = False
    # Several people in one stage, and the actions around a task (engine/language/approval_spec.py).
    approval: ApprovalSpec | None = Field(default=None, description="Several people decide in this stage (会签 / 或签)")
    allow: list[TaskAction] = Field(default_factory=list, description="hand_over | add_approver | return | urge")
    return_to: Literal["any_previous"] | list[str] | None = Field(
        default=None, description="Where `return` may send the record: any_previous (a state it passed) or a list")
    urge: UrgeSpec | None = Field(default=None, description="Who may urge the responsible people, and how often")
    moved_to: str | None = Field(
        default=None,
        description="Only on a removed state, alone (`old: {moved_to: new}`): where its records go when the flow is reloaded",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        sla = data.get("sla")
        if isinstance(sla, (str, int)):
            data["sla"] = {"due": str(sla)}
        assign = data.get("assign")
        if isinstance(assign, str) and assign.startswith("manager_of:"):  # the sketch's `manager_of:creator`
            data["assign"] = {"strategy": "manager_of", "manager_of": assign.split(":", 1)[1].strip()}
        elif isinstance(assign, dict) and set(assign) == {"manager_of"}:
            data["assign"] = {"strategy": "manager_of", "manager_of": assign["manager_of"]}
        elif isinstance(assign, str):
            data["assign"] = {"strategy": assign}
        elif isinstance(assign, dict) and set(assign) == {"field"}:
            data["assign"] = {"strategy": "field", "field": assign["field"]}
        for key in ("edit_by", "edit", "hide", "allow"):
            if key in data:
                data[key] = _listify(data[key])
        return data


class TransitionSpec(_Model):
    title: LocalText | None = None
    from_: list[str] = Field(alias="from", description="State or list of states the transition leaves")
    to: str
    by: list[str] = Field(default_factory=list, description="Roles allowed to fire it")
    on: Literal["approval_passed"] | None = Field(
        default=None, description="approval_passed: fires by itself when the state's approval rule is met (no `by`)")
    when: str | None = Field(default=None, description="Condition over the record and the user, e.g. amount >= 100000")
    require: list[str] = Field(default_factory=list, description="Fields that must be filled before it may fire")
    comment: Literal["required", "optional"] | None = None
    confirm: LocalText | None = Field(default=None, description="Confirmation question shown before firing")
    when_message: LocalText | None = Field(
        default=None, description="Written as when: {check: ..., message: ...}: what people read when the condition is not met")
    # Effects besides the move (engine/language/effects_spec.py), in the transition's own transaction.
    set: dict[str, ValueSource] = Field(default_factory=dict, description="Fields of this record the transition sets: "
                                        "field → expression, e.g. {shipped_at: now}")
    create: list[CreateEffect] = Field(default_factory=list, description="Records created in other flows")
    update: list[UpdateEffect] = Field(default_factory=list, description="Records named by a reference field, changed")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = split_condition(dict(data))
            for key in ("from", "by", "require"):
                if key in data:
                    data[key] = _listify(data[key])
            for key in ("create", "update"):
                if key in data:
                    data[key] = effect_list(data[key])
        return data


class ReminderSpec(_Model):
    on: Literal["warn", "breach", "enter"]
    notify: list[str] = Field(description="assignee | owner | role:<role> | field:<user field>")
    via: list[Literal["inbox", "email", "webhook", "dingtalk", "wecom", "feishu"]] = Field(default_factory=lambda: ["inbox"])  # type: ignore[arg-type]
    states: list[str] | None = Field(default=None, description="Only for these states (default: every state with a clock)")
    repeat: DurationText | None = Field(default=None, description="Keep reminding at this interval while still breached")
    escalate: bool = False
    attach: list[str] = Field(default_factory=list, description="Print layouts (`print:` names) sent as PDF with the e-mail")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("notify", "via", "states", "attach"):
                if key in data:
                    data[key] = _listify(data[key])
        return data


class VisibilitySpec(_Model):
    """Who may read records of the flow (beyond admins)."""

    read: Literal["all", "roles", "own", "department"] = Field(
        default="roles",
        description="Besides admins (everything) and 'mine' (created by me or assigned to me): "
        "all = every record, for every signed-in user (master data such as customers and products, which other flows refer to); "
        "roles = records now or ever in a state where one of my roles may act (owner, edit_by, a transition's by), "
        "or that I acted on; own = records waiting unassigned in such a state (my role queue); "
        "department = as own, and the records created in my departments and those below them. "
        "See docs/access-control.md",
    )


class FlowSpec(_Model):
    flow: str = Field(description="Identifier of the flow (snake_case); names its table")
    title: LocalText | None = None
    description: LocalText | None = None
    language: str | None = Field(default=None, description="Language of the titles, e.g. zh-CN or en")
    record_title: str | None = Field(default=None, description="Template naming one record, e.g. '{{ customer }} · {{ product_model }}'")
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    calendar: CalendarSpec | str | None = Field(default=None, description="Default business calendar (or a shared calendar's name)")
    create_by: list[str] | None = Field(default=None, description="Roles that may create records (default: the first state's owner)")
    visibility: VisibilitySpec = Field(default_factory=VisibilitySpec)
    fields: dict[str, FieldSpec]
    initial: str | None = None
    states: dict[str, StateSpec]
    transitions: dict[str, TransitionSpec] = Field(default_factory=dict)
    reminders: list[ReminderSpec] = Field(default_factory=list)
    lookups: dict[str, LookupSpec] = Field(
        default_factory=dict, description="Written among `fields` as {lookup: ref.field}; moved here when read")
    notify_on_change: list[NotifyOnChangeSpec] = Field(default_factory=list, description="Tell people when fields change")
    inbox_fields: list[str] = Field(default_factory=list, description="Fields the inbox shows for each task")
    events: list[EventSpec] = Field(default_factory=list, description="Record events sent to other systems (docs/events.md)")
    dashboards: list[DashboardSpec] = Field(default_factory=list, description="Figures for the people named (dashboard_spec.py)")
    prints: list[PrintSpec] = Field(default_factory=list, alias="print",
                                    description="Print layouts and PDFs of a record (engine/language/print_spec.py)")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = split_lookups(dict(data))
            roles = data.get("roles")
            if isinstance(roles, dict):
                data["roles"] = {k: ({"title": v} if isinstance(v, str) else v) for k, v in roles.items()}
            if "create_by" in data:
                data["create_by"] = _listify(data["create_by"])
            if isinstance(data.get("visibility"), str):
                data["visibility"] = {"read": data["visibility"]}
        return data

    # Removed states (`old: {moved_to: new}` under states) are taken out of `states`
    # when the file is read: the engine never serves them, only the reload maps them.
    _moved_states: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _removed_states(cls, data: Any, handler: ModelWrapValidatorHandler["FlowSpec"]) -> "FlowSpec":
        moved: dict[str, str] = {}
        if isinstance(data, dict) and isinstance(data.get("states"), dict):
            live = {}
            for name, body in data["states"].items():
                if isinstance(body, dict) and set(body) == {"moved_to"} and isinstance(body["moved_to"], str):
                    moved[name] = body["moved_to"]
                else:
                    live[name] = body
            data = {**data, "states": live}
        spec = handler(data)
        if moved:
            spec._moved_states = moved
        return spec

    @property
    def moved_states(self) -> dict[str, str]:
        """Removed state → the state its records move to, as written in the file."""
        return dict(self._moved_states)

    @property
    def initial_state(self) -> str:
        return self.initial or next(iter(self.states))
