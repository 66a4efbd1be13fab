"""Deadlines from a date field: `sla: {due: {field: delivery_date, before: 3d}}`.

Structure only: the model of `{field, before}` and the load checks that need the whole flow (an unknown
field, a field that holds no date, a warning that would come after the due). What the deadline means is
computed in engine/sla/date_deadlines.py:

* due at the **end of the working day** that lies `before` working days (of the stage's calendar; calendar
  days under `clock: elapsed`) before the date in the field; `before: 0d` is the end of the date itself (or
  of the last working day before it when the date is not one);
* the record's date is read when it enters the stage, and again whenever the date changes while it is there;
* an empty date: the stage has no deadline (the page says so); a date already too close: due at once.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forms.messages import Message

if TYPE_CHECKING:
    from engine.language.spec import FlowSpec

_DAYS = re.compile(r"^\s*([0-9]{1,4})\s*d\s*$")
DATE_TYPES = ("date", "datetime")
MAX_BEFORE_DAYS = 3650


class DateDeadline(BaseModel):
    """`{field: delivery_date, before: 3d}`: the end of the working day 3 working days before the date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="A date field of the record (type date or datetime)")
    before: str = Field(default="0d", description="Whole working days before that date, e.g. 3d (0d: on the date)",
                        examples=["3d", "0d"])

    @field_validator("before", mode="before")
    @classmethod
    def _whole_days(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str):
            raise ValueError("before is a number of days such as 3d")
        m = _DAYS.match(value)
        if m is None:
            raise ValueError(f"before '{value}' counts whole working days, e.g. 3d (hours are not counted back from a date)")
        if int(m.group(1)) > MAX_BEFORE_DAYS:
            raise ValueError(f"before '{value}' is too long: at most {MAX_BEFORE_DAYS}d")
        return value.strip().replace(" ", "")

    @property
    def days(self) -> int:
        return int(self.before[:-1])

    def __str__(self) -> str:
        return f"{self.before} before {self.field}"


def deadline_fields(spec: FlowSpec) -> dict[str, set[str]]:
    """State → the date fields its clock reads (empty states left out)."""
    out: dict[str, set[str]] = {}
    for name, st in spec.states.items():
        if st.sla is None:
            continue
        found = {d.field for d in (st.sla.due, st.sla.warn) if isinstance(d, DateDeadline)}
        if found:
            out[name] = found
    return out


def date_deadline_problems(spec: FlowSpec) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Located problems of the date deadlines of `spec` (the loader turns the paths into line:column)."""
    from engine.language.identifiers import did_you_mean

    for name, st in spec.states.items():
        sla = st.sla
        if sla is None:
            continue
        for key in ("due", "warn"):
            d = getattr(sla, key)
            if not isinstance(d, DateDeadline):
                continue
            where = ("states", name, "sla", key, "field")
            f = spec.fields.get(d.field)
            if f is None:
                yield where, Message("deadline_unknown_field", "unknown field '{field}': a deadline counts back "
                                     "from a date field of this flow{hint}", field=d.field, hint=did_you_mean(d.field, spec.fields))
            elif f.type not in DATE_TYPES:
                yield where, Message("deadline_not_a_date", "'{field}' holds no date (its type is {type}): a deadline "
                                     "counts back from a field of type date or datetime", field=d.field, type=f.type)
        due, warn = sla.due, sla.warn
        if isinstance(due, DateDeadline) and isinstance(warn, DateDeadline) and warn.field == due.field \
                and warn.days <= due.days:
            yield ("states", name, "sla", "warn", "before"), Message(
                "deadline_warn_after_due", "the warning ({warn} before the date) is not before the due ({due} before the "
                "date): it would never be sent; warn more days before, e.g. {hint}",
                warn=warn.before, due=due.before, hint=f"{due.days + 2}d")
