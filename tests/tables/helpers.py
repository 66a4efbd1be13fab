"""A database with the order flow applied, a salesperson and a clerk, for the line-item tests."""
from __future__ import annotations

from typing import Any

from engine.evolve import AppliedRevision, Plan, apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.people.users import create_user, load_actor
from engine.records.records import Record, Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry
from tests.tables.flows import ORDER


class Orders:
    def __init__(self, url: str, text: str = ORDER) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        self.records = Records(self.db, self.registry)
        self.apply(text)
        create_user(self.db, "sam", display_name="Sam", roles=["sales"])
        create_user(self.db, "cleo", display_name="Cleo", roles=["clerk"])
        self.sales = load_actor(self.db, username="sam")
        self.clerk = load_actor(self.db, username="cleo")

    @property
    def name(self) -> str:
        return self.registry.names()[0]

    def plan(self, text: str) -> Plan:
        return plan_flow(self.db, load_flow_text(text))

    def apply(self, text: str, plan: Plan | None = None) -> AppliedRevision:
        done = apply_flow(self.db, load_flow_text(text), expected=plan)
        self.registry.refresh(self.db)
        return done

    def create(self, values: dict[str, Any]) -> Record:
        return self.records.create(self.name, self.sales, values)

    def edit(self, rec: Record, values: dict[str, Any], actor: Any = None) -> Record:
        return self.records.edit(self.name, rec.id, actor or self.sales, values, expected_version=rec.version)

    def move(self, rec: Record, name: str, actor: Any = None, values: dict[str, Any] | None = None) -> Record:
        return self.records.transition(self.name, rec.id, name, actor or self.sales, expected_version=rec.version,
                                       values=values)

    def get(self, record_id: int) -> Record:
        return self.records.get(self.name, record_id)

    def history(self, record_id: int) -> list[dict[str, Any]]:
        return self.records.history(self.name, record_id)

    def close(self) -> None:
        self.db.dispose()


LINES = [{"product": "P-100", "quantity": 2, "unit_price": "10.50"},
         {"product": "P-200", "quantity": 1, "unit_price": "3"},
         {"product": "P-300", "quantity": 3, "unit_price": "0.10"}]
