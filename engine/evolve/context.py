"""The working state of one plan computation, shared by the planners of each area."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from forms.message_parts import Label, plural
from engine.evolve.model import Area, Change, Effect, Step
from engine.evolve.table_facts import TableFacts, count_rows, count_values
from engine.language.flow import CompiledFlow


__all__ = ["PlanContext", "plural"]


@dataclass
class PlanContext:
    conn: Connection
    flow: CompiledFlow
    old: CompiledFlow | None
    facts: TableFacts
    changes: list[Change] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    renamed_columns: dict[str, str] = field(default_factory=dict)  # new column → old column
    kept_columns: dict[str, TypeEngine[Any]] = field(default_factory=dict)  # retired columns that stay
    converted: set[str] = field(default_factory=set)  # columns rewritten by a conversion
    renamed_states: dict[str, str] = field(default_factory=dict)  # new state → old state
    rename_history: list[tuple[str, str]] = field(default_factory=list)  # column renames applied before
    _rows: int | None = None
    _values: dict[str, int] = field(default_factory=dict)  # column → non-null values, counted once

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def table_name(self) -> str:
        return self.flow.table_name

    def rows(self) -> int:
        if self._rows is None:
            self._rows = count_rows(self.conn, self.table_name) if self.facts.exists else 0
        return self._rows

    def values_in(self, column: str) -> int:
        """Values (not NULL) an existing column of the table holds; each column is counted once per plan."""
        if column not in self._values:
            self._values[column] = count_values(self.conn, self.table_name, column)
        return self._values[column]

    def change(self, area: Area, kind: str, subject: str, text: str, effect: Effect = "safe", *,
               count: int | None = None, examples: tuple[str, ...] = (), seconds: float | None = None,
               confirm: str | None = None) -> None:
        self.changes.append(Change(area, kind, subject, text, effect, count, examples, seconds, confirm))

    def step(self, step: Step) -> None:
        if step.key() not in {s.key() for s in self.steps}:
            self.steps.append(step)

    def field_label(self, name: str, flow: CompiledFlow | None = None) -> Label:
        """The field for people: `'Customer' (customer)` as plain text, its title alone on a page."""
        flow = flow or self.flow
        spec = flow.fields.get(name)
        return Label(name, spec.title if spec is not None else None, flow.spec.language)

    def state_label(self, name: str, flow: CompiledFlow | None = None) -> Label:
        flow = flow or self.flow
        st = flow.spec.states.get(name)
        return Label(name, st.title if st is not None else None, flow.spec.language)

    def role_label(self, name: str, flow: CompiledFlow | None = None) -> Label:
        flow = flow or self.flow
        role = flow.spec.roles.get(name)
        return Label(name, role.title if role is not None else None, flow.spec.language)
