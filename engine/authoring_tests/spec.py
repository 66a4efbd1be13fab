"""The language of `<flow>.tests.yaml`: tests a flow's author writes next to the flow (docs/flow-tests.md).

A file has `fixtures` (people, departments and records made before every test), `files` (names for
small files next to the test file) and `tests`, each a `given` (who acts, and when) and `steps`: one
action each (create, edit, move, decide, wait, hand_over, return, urge) or an `expect`, with `as`,
`comment`, `values`, `expect_error` beside the action. Unknown keys are refused (a step that is not
one of these is a typo, not something to skip); the loader (engine/authoring_tests/loader.py) locates
every problem as `file:line:column`, like a flow file's.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.language.durations import parse_duration

ACTIONS = ("create", "edit", "move", "decide", "wait", "hand_over", "return", "urge")
NOTIFICATION_KINDS = ("enter", "warn", "breach", "repeat", "urge")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def parse_instant(value: str) -> datetime:
    """An instant written with its offset (2026-09-30T17:30+08:00); a time without one is refused, since it
    would mean something else on a server in another timezone."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not an instant: write it like 2026-09-30T17:30+08:00") from None
    if at.tzinfo is None:
        raise ValueError(f"'{value}' has no offset: write it like 2026-09-30T17:30+08:00")
    return at


class FixtureUser(_Strict):
    username: str = Field(min_length=1, max_length=64)
    roles: list[str] = Field(default_factory=list)
    department: str | None = Field(default=None, description="The department the user belongs to (a fixture department)")
    display_name: str | None = None


class FixtureDepartment(_Strict):
    id: str = Field(min_length=1, max_length=64)
    title: str | dict[str, str] | None = None
    manager: str | None = Field(default=None, description="A fixture user")
    parent: str | None = Field(default=None, description="Another fixture department, listed before this one")


class FixtureRecord(_Strict):
    flow: str
    as_: str = Field(alias="as", description="The fixture user who creates the record")
    values: dict[str, Any] = Field(default_factory=dict)
    state: str | None = Field(default=None, description="Put the record in this state (the engine moves it there)")


class Fixtures(_Strict):
    users: list[FixtureUser] = Field(default_factory=list)
    departments: list[FixtureDepartment] = Field(default_factory=list)
    records: list[FixtureRecord] = Field(default_factory=list)
    now: str | None = Field(default=None, description="When the fixture records are made (default: the first test's now)")

    @field_validator("now")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value)
        return value


class Given(_Strict):
    user: str = Field(description="Who acts when a step says no `as`")
    now: str = Field(description="The instant the test starts, with its offset")

    @field_validator("now")
    @classmethod
    def _instant(cls, value: str) -> str:
        parse_instant(value)
        return value


class NotificationExpect(_Strict):
    to: str = Field(description="A fixture user, or role:<role> (every member got one)")
    kind: Literal["enter", "warn", "breach", "repeat", "urge"] | None = None
    via: str | None = Field(default=None, description="A channel: inbox, email, wecom, ...")


class Expect(_Strict):
    state: str | None = None
    assignee: str | None = Field(default=None, description="The username of the assignee; '' or null: nobody")
    assignee_role: str | None = Field(default=None, description="The assignee has this role (or, unassigned, the record waits for it)")
    values: dict[str, Any] | None = Field(default=None, description="Field values as the record shows them ('2400.00')")
    due: str | None = Field(default=None, description="The stage's due instant, with its offset")
    pending_approvers: int | None = Field(default=None, ge=0)
    notifications: list[NotificationExpect] | None = None
    history: list[str] | None = Field(default=None, description="Actions of the history, in this order (others may be between)")

    @field_validator("due")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value)
        return value


class Step(_Strict):
    create: dict[str, Any] | None = None
    edit: dict[str, Any] | None = None
    move: str | None = None
    decide: Literal["approve", "reject"] | None = None
    wait: str | int | None = Field(default=None, description="Working time of the flow's calendar, e.g. 4h or 2d")
    hand_over: str | None = Field(default=None, description="To this fixture user")
    return_: str | None = Field(default=None, alias="return", description="To this state, passed before")
    urge: bool | str | None = Field(default=None, description="true, or the reason")
    expect: Expect | None = None
    as_: str | None = Field(default=None, alias="as")
    comment: str | None = None
    values: dict[str, Any] | None = Field(default=None, description="Values given with a move")
    expect_error: str | None = Field(default=None, description="The reason the step must be refused with")

    @field_validator("wait")
    @classmethod
    def _duration(cls, value: str | int | None) -> str | None:
        if value is not None:
            parse_duration(value)  # a bare number is refused here: its unit would be a guess
        return None if value is None else str(value)

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [a for a in ACTIONS if getattr(self, "return_" if a == "return" else a) is not None]
        if len(given) > 1:
            raise ValueError(f"a step does one thing; this one says {' and '.join(given)}: make them separate steps")
        if not given:
            if self.expect is None:
                raise ValueError(f"a step is one of {', '.join(ACTIONS)} or expect")
            extra = [k for k in ("as_", "comment", "values", "expect_error") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(k.rstrip('_') for k in extra)} belongs to an action, not to a lone expect")
        if self.values is not None and self.move is None:
            raise ValueError("values: goes with move (a create or an edit carries its values itself)")
        return self

    @property
    def action(self) -> str | None:
        return next((a for a in ACTIONS if getattr(self, "return_" if a == "return" else a) is not None), None)


class AuthorTest(_Strict):
    name: str = Field(min_length=1, max_length=200)
    given: Given
    steps: list[Step] = Field(min_length=1)


class TestFile(_Strict):
    """A `<flow>.tests.yaml` file."""

    __test__ = False  # not a pytest class

    fixtures: Fixtures = Field(default_factory=Fixtures)
    files: dict[str, str] = Field(default_factory=dict, description="name → path relative to the test file")
    tests: list[AuthorTest] = Field(min_length=1)


def tests_language_schema() -> dict[str, Any]:
    """JSON Schema of the tests file, for editors (like `relayflow schema` for flows)."""
    schema = TestFile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Relayflow flow tests file"
    return schema
