"""A small flow and a database to evolve it in, for the reload tests."""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, text

from engine.evolve import AppliedRevision, Plan, apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.people.users import create_user, load_actor
from engine.records.records import Record, Records
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry
from engine.storage.schema import flow_revisions, flows

BASE = """\
flow: orders
title: Orders
roles: {clerk: Clerk, manager: Manager}
fields:
  customer: {type: text, title: Customer, max_length: 100}
  code: {type: text, max_length: 100}
  qty: {type: integer}
  note: {type: longtext}
states:
  draft: {owner: clerk, edit: [customer, code, qty, note]}
  review: {owner: manager, sla: {due: 4h, clock: elapsed}}
  legal: {owner: manager}
  done: {final: true}
transitions:
  submit: {from: draft, to: review, by: clerk}
  to_legal: {from: review, to: legal, by: manager}
  approve: {from: [review, legal], to: done, by: manager}
"""


def edit(source: str, *replacements: tuple[str, str]) -> str:
    """`source` with each (old, new) replaced exactly once."""
    for old, new in replacements:
        assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times"
        source = source.replace(old, new)
    return source


class Evolving:
    """A database with the engine's tables, one flow applied, and a user who may do everything."""

    def __init__(self, url: str, flow_text: str = BASE) -> None:
        self.db = make_engine(url)
        upgrade_database(self.db)
        self.registry = FlowRegistry()
        self.records = Records(self.db, self.registry)
        self.apply(flow_text)
        create_user(self.db, "ann", display_name="Ann", roles=["clerk", "manager"])
        self.actor = load_actor(self.db, username="ann")

    @property
    def name(self) -> str:
        return self.registry.names()[0]

    def plan(self, flow_text: str) -> Plan:
        return plan_flow(self.db, load_flow_text(flow_text))

    def apply(self, flow_text: str, plan: Plan | None = None) -> AppliedRevision:
        done = apply_flow(self.db, load_flow_text(flow_text), expected=plan)
        self.registry.refresh(self.db)
        return done

    def create(self, values: dict[str, Any], *moves: str) -> Record:
        rec = self.records.create(self.name, self.actor, values)
        for move in moves:
            rec = self.records.transition(self.name, rec.id, move, self.actor, expected_version=None)
        return rec

    def get(self, record_id: int) -> Record:
        return self.records.get(self.name, record_id)

    def columns(self) -> dict[str, str]:
        with self.db.connect() as conn:
            return {c["name"]: str(c["type"]) for c in inspect(conn).get_columns(f"flow_{self.name}")}

    def indexes(self) -> set[str]:
        with self.db.connect() as conn:
            return {str(ix["name"]) for ix in inspect(conn).get_indexes(f"flow_{self.name}")}

    def raw(self, column: str) -> dict[int, Any]:
        with self.db.connect() as conn:
            return dict(conn.execute(text(f"SELECT id, {column} FROM flow_{self.name} ORDER BY id")).all())

    def live_revision(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(flows.c.live_revision).where(flows.c.name == self.name)).scalar_one())

    def revisions(self) -> list[int]:
        with self.db.connect() as conn:
            return list(conn.execute(select(flow_revisions.c.revision).where(flow_revisions.c.flow == self.name)
                                     .order_by(flow_revisions.c.revision)).scalars())

    def close(self) -> None:
        self.db.dispose()


def kinds(plan: Plan) -> list[str]:
    return [c.kind for c in plan.changes]


def change(plan: Plan, kind: str, subject: str | None = None):  # type: ignore[no-untyped-def]
    found = [c for c in plan.changes if c.kind == kind and (subject is None or c.subject == subject)]
    assert found, f"no {kind} change for {subject} in {[(c.kind, c.subject) for c in plan.changes]}"
    return found[0]


def admin_headers(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A bearer header of a new administrator (/api/flows describes the flows only to people signed in)."""
    import secrets

    from engine.people.tokens import create_token
    from engine.people.users import create_user

    uid = create_user(db, f"admin_{secrets.token_hex(4)}", is_admin=True)
    return {"Authorization": f"Bearer {create_token(db, uid, 'tests').secret}"}
