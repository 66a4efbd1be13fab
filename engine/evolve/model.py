"""What a plan is: changes described for people, steps for the database, and a hash.

A Change is one sentence an admin or a business user reads ("field 'discount'
is retired: its 42 values are kept"). Its effect says how careful to be:
`safe` touches no stored value (adds and rule changes: the server applies such
plans by itself at start), `data` changes, moves or hides stored data (an admin
applies it), `refused` blocks the plan until the file or the records change.

Steps are what apply runs, in order. The plan hash covers the flow file, the
live revision planned against and every step, but no counts: records keep
moving while an admin reads a plan, and that must not invalidate it.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from alembic.operations import Operations
    from sqlalchemy.engine import Connection

    from engine.language.flow import CompiledFlow

Effect = Literal["safe", "data", "refused"]
Area = Literal["flow", "fields", "states", "rules", "sla", "indexes"]
AREAS: tuple[Area, ...] = ("flow", "fields", "states", "rules", "sla", "indexes")
AREA_TITLES: dict[Area, str] = {
    "flow": "Flow", "fields": "Fields and columns", "states": "States and the records in them",
    "rules": "Transitions, roles and permissions", "sla": "SLA clocks", "indexes": "Indexes",
}


@dataclass(frozen=True)
class Change:
    area: Area
    kind: str
    subject: str
    text: str
    effect: Effect = "safe"
    count: int | None = None
    examples: tuple[str, ...] = ()
    seconds: float | None = None  # expected duration of the work, when it takes noticeable time
    # A change that may not be what the file's author meant (a removed choice still in use, a field
    # removed next to a look-alike added): apply needs this token among the confirmed ones.
    confirm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "kind": self.kind, "subject": self.subject, "text": self.text,
                "effect": self.effect, "count": self.count, "examples": list(self.examples),
                "seconds": self.seconds, "confirm": self.confirm}


@dataclass
class ApplyContext:
    """What a step needs while it runs inside the apply transaction."""

    conn: Connection
    op: Operations
    flow: CompiledFlow
    old_flow: CompiledFlow | None
    revision: int
    applied_by: int | None
    now: datetime
    timings: dict[str, float] = field(default_factory=dict)


class Step(ABC):
    """One unit of work of an apply; `key` identifies it in the plan hash."""

    @abstractmethod
    def key(self) -> tuple[str, ...]: ...

    @abstractmethod
    def run(self, ctx: ApplyContext) -> None: ...

    @property
    def changes_schema(self) -> bool:
        return False


@dataclass(frozen=True)
class Plan:
    flow: str
    source: str
    sha256: str
    base_revision: int | None
    base_sha256: str | None
    dialect: str
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    calendars: dict[str, Any]
    rows: int = 0

    @property
    def new_revision(self) -> int:
        return (self.base_revision or 0) + 1

    @property
    def unchanged(self) -> bool:
        """The file is the live revision and the table already matches it."""
        return self.sha256 == self.base_sha256 and not self.steps

    @property
    def problems(self) -> list[Change]:
        return [c for c in self.changes if c.effect == "refused"]

    @property
    def refused(self) -> bool:
        return bool(self.problems)

    @property
    def confirmations(self) -> list[str]:
        """Tokens an apply must confirm (`apply_flow(confirmed=...)`), one per change that asks for it."""
        return [c.confirm for c in self.changes if c.confirm]

    @property
    def safe(self) -> bool:
        """Nothing stored is changed, moved or hidden: fit to apply without asking anyone."""
        return not self.refused and all(c.effect == "safe" for c in self.changes)

    @property
    def hash(self) -> str:
        body = {"flow": self.flow, "sha256": self.sha256, "base": self.base_revision,
                "steps": [list(s.key()) for s in self.steps]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "source": self.source, "sha256": self.sha256, "hash": self.hash,
                "base_revision": self.base_revision, "new_revision": self.new_revision,
                "unchanged": self.unchanged, "refused": self.refused, "safe": self.safe,
                "confirm": self.confirmations,
                "records": self.rows, "changes": [c.to_dict() for c in self.changes],
                "steps": [list(s.key()) for s in self.steps]}
