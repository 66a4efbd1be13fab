"""The effects a transition has besides moving its record (flow-language-2.md, "Effects of a transition"):

```yaml
ship:
  from: shipping
  to: shipped
  set: {shipped_at: "now"}                  # fields of this record set by the transition
  create:                                   # a record in another flow, in the same transaction
    flow: collection_task
    values: {order: "id", amount_due: "total", due_on: "today + days(30)"}
  update:                                   # the record a reference field of this record names
    reference: customer
    values: {last_order_on: "today"}
```

Every value is an expression over this record (its fields, `id`, `user`, `now`, `today`,
`days(n)`); a number or yes/no written as such is a constant, and text is quoted inside the
expression (`"'open'"`). Structure only here; the checks are engine/language/effect_rules.py,
the running engine/records/effects.py.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ValueSource = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateEffect(_Model):
    flow: str = Field(description="The flow the new record belongs to")
    values: dict[str, ValueSource] = Field(default_factory=dict, description="Its field values, each an expression "
                                           "over this record (`id` is this record's id)")


class UpdateEffect(_Model):
    reference: str = Field(description="A reference field of this record: the record it names is changed")
    values: dict[str, ValueSource] = Field(description="The fields set there, each an expression over this record")


def effect_list(data: Any) -> Any:
    """`create:` / `update:` may be one mapping or a list of them."""
    return [data] if isinstance(data, dict) else data


def effect_summary(set_: Mapping[str, Any], create: list[CreateEffect], update: list[UpdateEffect]) -> list[str]:
    """The effects of a transition in a few words for the flow's author (`relayflow simulate`)."""
    out = []
    if set_:
        out.append("sets " + ", ".join(set_))
    out += [f"creates a {c.flow} record ({', '.join(c.values) or 'no values'})" for c in create]
    out += [f"updates {', '.join(u.values)} of the record in {u.reference}" for u in update]
    return out
