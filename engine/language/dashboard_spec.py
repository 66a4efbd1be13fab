"""The `dashboards:` key of a flow: who sees which figures (structure only; meaning in dashboard_checks.py).

```yaml
dashboards:
  - title: {zh-CN: 跟单看板, en: Order desk}
    for: [role:manager, role:sales]
    widgets:
      - {count_by: state}              # records per stage
      - {on_time_rate: by_stage}       # or by_person: stages finished before their due instant
      - {cycle_time: by_stage}         # time spent per visit of a stage (a revisited stage counts each visit)
      - {sum: total, by: month}        # a money or number field summed per month (or week) of creation
      - {count: records, by: week}     # records created per week (a trend)
      - {late: list}                   # records past their due instant
      - {soon_late: list}              # records in their warning period
      - {wip_by_age: [1d, 3d, 7d]}     # open records by age (the bounds of the buckets; `default` = 1d 3d 7d 30d)
```

Each widget is a mapping with exactly one kind key (plus `by:` for sums and counts, and an optional `title`).
A flow without `dashboards:` gets a default one (engine/records/dashboards.py).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.language.durations import parse_duration
from forms.local_text import LocalText

WIDGET_KINDS = ("count_by", "on_time_rate", "cycle_time", "sum", "count", "late", "soon_late", "wip_by_age")
DEFAULT_AGE_BOUNDS = ("1d", "3d", "7d", "30d")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WidgetSpec(_Model):
    """One figure of a dashboard: exactly one of the kind keys."""

    title: LocalText | None = Field(default=None, description="Heading of the widget (default: named after its kind)")
    count_by: Literal["state"] | None = Field(default=None, description="Records per stage")
    on_time_rate: Literal["by_stage", "by_person"] | None = Field(
        default=None, description="Share of stages finished before their due instant, per stage or per person who finished them")
    cycle_time: Literal["by_stage"] | None = Field(
        default=None, description="Average time per visit of each stage, from the history (a revisited stage counts each visit)")
    sum: str | None = Field(default=None, description="A money or number field, summed per period of creation")
    count: Literal["records", "created"] | None = Field(default=None, description="Records created per period (a trend)")
    by: Literal["month", "week"] | None = Field(default=None, description="The period of a sum or a count")
    late: Literal["list"] | None = Field(default=None, description="Records past their due instant")
    soon_late: Literal["list"] | None = Field(default=None, description="Records in their warning period, not yet due")
    wip_by_age: list[str] | Literal["default"] | None = Field(
        default=None, description="Open records by age since creation; the upper bounds of the buckets, e.g. [1d, 3d, 7d]")

    @model_validator(mode="after")
    def _one_kind(self) -> WidgetSpec:
        kinds = [k for k in WIDGET_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a widget needs exactly one of {', '.join(WIDGET_KINDS)}"
                             + (f" (this one has {', '.join(kinds)})" if kinds else ""))
        if self.by is not None and kinds[0] not in ("sum", "count"):
            raise ValueError(f"'by' only applies to sum and count widgets, not {kinds[0]}")
        if isinstance(self.wip_by_age, list):
            if not self.wip_by_age:
                raise ValueError("wip_by_age needs at least one bound, e.g. [1d, 3d, 7d]")
            for text in self.wip_by_age:
                parse_duration(text)
        return self

    @property
    def kind(self) -> str:
        return next(k for k in WIDGET_KINDS if getattr(self, k) is not None)

    @property
    def period(self) -> str:
        """month or week: the buckets of a sum or a count (a sum defaults to month, a count to week)."""
        return self.by or ("month" if self.kind == "sum" else "week")

    @property
    def age_bounds(self) -> tuple[float, ...]:
        """Upper bounds (seconds) of the age buckets of a wip_by_age widget."""
        texts = DEFAULT_AGE_BOUNDS if self.wip_by_age in (None, "default") else tuple(self.wip_by_age or ())
        return tuple(sorted(float(d.days * 86400 + d.seconds) for d in map(parse_duration, texts)))


class DashboardSpec(_Model):
    title: LocalText | None = None
    for_: list[str] = Field(default_factory=list, alias="for", description="Who sees it: role:<role> entries")
    widgets: list[WidgetSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("for"), str):
            data = {**data, "for": [data["for"]]}
        return data

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(e.partition(":")[2].strip() for e in self.for_ if e.partition(":")[0].strip() == "role")
