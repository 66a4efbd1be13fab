"""A lookup field: `customer_city: {lookup: customer.city, title: ...}`, a live value of the referenced
record, shown read-only and never stored.

A lookup has no `type` (its value has the type of the field it reads) and no column, so it is
not one of the flow's `fields`: the flow file writes it among them, and FlowSpec moves it into
`lookups` when the file is read (`split_lookups`).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from forms.local_text import LocalText


class LookupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lookup: str = Field(description="ref_field.target_field: the field of the referenced record to show")
    title: LocalText | None = Field(default=None, description="Label shown to people")
    help: LocalText | None = Field(default=None, description="Help text under the value")

    @property
    def reference(self) -> str:
        return self.lookup.partition(".")[0]

    @property
    def target_field(self) -> str:
        return self.lookup.partition(".")[2]


def is_lookup(body: Any) -> bool:
    """A field entry written as a lookup: a mapping with `lookup:` and no `type:`."""
    return isinstance(body, dict) and "lookup" in body and "type" not in body


def split_lookups(data: dict[str, Any]) -> dict[str, Any]:
    """The flow mapping with its lookup entries moved from `fields` to `lookups` (the file's order kept)."""
    fields = data.get("fields")
    if not isinstance(fields, dict) or not any(is_lookup(b) for b in fields.values()):
        return data
    data = dict(data)
    data["fields"] = {n: b for n, b in fields.items() if not is_lookup(b)}
    data["lookups"] = {n: b for n, b in fields.items() if is_lookup(b)}
    return data
