"""The `events:` key of a flow: record events sent to other systems as signed JSON (docs/events.md).

Structure only (an unknown event kind or `via` is refused here, located by pydantic); the fields and
the setting's name are checked in engine/language/event_checks.py. The URL and the signing secret are
never in the file: `url_setting: ERP_WEBHOOK` names the settings `RELAYFLOW_ERP_WEBHOOK` (the URL) and
`RELAYFLOW_ERP_WEBHOOK_SECRET` (the secret).
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SETTING = re.compile(r"[A-Z][A-Z0-9_]{0,59}")
EVENT_KINDS = ("create", "edit", "transition", "warn", "breach")
EventKind = Literal["create", "edit", "transition", "warn", "breach"]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class EventSpec(BaseModel):
    """`{on: [create, transition], via: webhook, url_setting: ERP_WEBHOOK, fields: [customer, lines]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    on: list[EventKind] = Field(min_length=1, description="create | edit | transition | warn | breach")
    via: Literal["webhook"] = Field(default="webhook", description="How the events travel (a signed JSON POST)")
    url_setting: str = Field(
        description="Name of the setting holding the URL: RELAYFLOW_<NAME> (URL) and RELAYFLOW_<NAME>_SECRET (signing secret)",
        examples=["ERP_WEBHOOK"])
    fields: list[str] = Field(default_factory=list, description="The record's fields the payload carries (tables as rows)")

    @field_validator("url_setting")
    @classmethod
    def _setting_name(cls, value: str) -> str:
        if not _SETTING.fullmatch(value):
            raise ValueError(f"'{value}' is not a setting's name: capital letters, digits and _ (e.g. ERP_WEBHOOK), "
                             "up to 60 characters")
        return value

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            secrets = [k for k in ("url", "secret") if k in data]
            if secrets:
                raise ValueError(f"'{secrets[0]}' does not belong in a flow file: the URL and the signing secret are "
                                 "settings; name them with url_setting (RELAYFLOW_<NAME> and RELAYFLOW_<NAME>_SECRET)")
            data = dict(data)
            for key in ("on", "fields"):
                if key in data:
                    data[key] = _listify(data[key])
        return data
