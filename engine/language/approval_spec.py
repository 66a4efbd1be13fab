"""The flow-language keys of several people in one stage and of the actions around a task.

`approval:` on a state (会签 / 或签), `allow:` / `return_to:` / `urge:` on a state (转交 加签 回退 催办),
`notify_on_change:` on the flow and `on: approval_passed` on a transition. Structure only; what the
keys mean together is checked in engine/language/approval_checks.py.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from engine.language.durations import parse_duration

_PERCENT = re.compile(r"^(\d{1,3})%$")
TASK_ACTIONS = ("hand_over", "add_approver", "return", "urge")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class QuorumSpec(_Model):
    """`{quorum: 2}` or `{quorum: 60%}`, optionally `reject: N`: the number of rejections that ends the stage
    as rejected (default: as soon as the quorum can no longer be reached)."""

    quorum: int | str = Field(description="How many approvals pass the stage: a number, or a percentage of the approvers")
    reject: int | None = Field(default=None, ge=1, description="How many rejections end the stage (default: as soon "
                               "as the quorum can no longer be reached)")

    @model_validator(mode="after")
    def _check(self) -> QuorumSpec:
        q = self.quorum
        if isinstance(q, str):
            m = _PERCENT.match(q.strip())
            if not m or not 1 <= int(m.group(1)) <= 100:
                raise ValueError("quorum is a number of approvers (2) or a percentage between 1% and 100% (60%)")
        elif q < 1:
            raise ValueError("quorum must be at least 1")
        return self

    @property
    def percent(self) -> int | None:
        return int(str(self.quorum).strip()[:-1]) if isinstance(self.quorum, str) else None


class ApprovalSpec(_Model):
    approvers: list[str] = Field(description="role:<role> | field:<user field> | manager_of:creator | manager_of:<user field>")
    mode: Literal["all", "any"] | QuorumSpec = Field(
        default="all", description="all (会签: everyone approves) | any (或签: one approval) | {quorum: 2} | {quorum: 60%}, "
                                   "with an optional reject: N")
    on_reject: str = Field(default="send_back", description="send_back (to the state the record came from) | a transition id")
    distinct_from: list[str] = Field(default_factory=list, description="creator | a user field: people who may not "
                                     "decide on this record (nobody approves their own order)")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("approvers", "distinct_from"):
                if key in data:
                    data[key] = _listify(data[key])
        return data


class UrgeSpec(_Model):
    by: list[str] = Field(description="Who may urge: creator | role:<role>")
    every: Annotated[str, AfterValidator(_duration)] = Field(
        default="1h", description="At most one urge per this interval and stage (a duration: 30m, 2h)")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict) and "by" in data:
            data = {**data, "by": _listify(data["by"])}
        return data


TaskAction = Literal["hand_over", "add_approver", "return", "urge"]


class NotifyOnChangeSpec(_Model):
    fields: list[str] = Field(description="The fields whose change is told")
    states: list[str] | None = Field(default=None, description="Only while the record is in these states (default: any)")
    notify: list[str] = Field(description="assignee | creator | role:<role> | field:<user field>")
    via: list[Literal["inbox", "email", "webhook", "dingtalk", "wecom", "feishu"]] = Field(default_factory=lambda: ["inbox"])  # type: ignore[arg-type]

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("fields", "states", "notify", "via"):
                if key in data:
                    data[key] = _listify(data[key])
        return data
