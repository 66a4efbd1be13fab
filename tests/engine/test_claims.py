"""Claiming a queued record and reassigning records (engine/records/claims.py)."""
from __future__ import annotations

import pytest

from engine.records.claims import claim, may_reassign, reassign
from engine.records.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from tests.conftest import World

ORDER = {"customer": "ACME", "product_model": "M", "quantity": 2, "unit_price": "10.00",
         "delivery_date": "2026-12-01"}


def _in_production(w: World):  # type: ignore[no-untyped-def]
    sales, clerk = w.user("s", "sales"), w.user("c", "clerk")
    rec = w.records.create(w.flow, sales, ORDER)
    rec = w.records.transition(w.flow, rec.id, "submit", sales, expected_version=rec.version)
    return w.records.transition(w.flow, rec.id, "approve", clerk, expected_version=rec.version)


def test_claim_takes_a_queued_record_once(reference_world: World) -> None:
    w = reference_world
    rec = _in_production(w)
    assert rec.assignee_id is None
    p1, p2 = w.user("p1", "production"), w.user("p2", "production")
    version = claim(w.db, w.registry, w.flow, rec.id, p1, expected_version=rec.version)
    assert version == rec.version + 1
    assert w.records.get(w.flow, rec.id).assignee_id == p1.id
    assert claim(w.db, w.registry, w.flow, rec.id, p1, expected_version=None) == version  # already mine
    with pytest.raises(StaleVersion):
        claim(w.db, w.registry, w.flow, rec.id, p2, expected_version=rec.version)
    with pytest.raises(Forbidden):
        claim(w.db, w.registry, w.flow, rec.id, p2, expected_version=version)
    last = w.history(rec.id)[-1]
    assert last["action"] == "claim" and last["changes"] == {"assignee_id": [None, p1.id]}


def test_claim_needs_the_owner_role_and_a_visible_record(reference_world: World) -> None:
    w = reference_world
    rec = _in_production(w)
    finance = w.user("f", "finance")
    with pytest.raises(NotFound):  # finance cannot even see it
        claim(w.db, w.registry, w.flow, rec.id, finance, expected_version=rec.version)
    manager = w.user("m", "manager")
    with pytest.raises(Forbidden):
        claim(w.db, w.registry, w.flow, rec.id, manager, expected_version=rec.version)


def test_managers_reassign_to_owner_role_members(reference_world: World) -> None:
    w = reference_world
    rec = _in_production(w)
    manager, p1 = w.user("m", "manager"), w.user("p1", "production")
    clerk = w.user("c2", "clerk")
    assert may_reassign(w.live.flow, manager) and not may_reassign(w.live.flow, p1)
    with pytest.raises(Forbidden):
        reassign(w.db, w.registry, w.flow, rec.id, p1, p1.id, expected_version=rec.version)
    with pytest.raises(ValidationFailed):
        reassign(w.db, w.registry, w.flow, rec.id, manager, clerk.id, expected_version=rec.version)
    v = reassign(w.db, w.registry, w.flow, rec.id, manager, p1.id, expected_version=rec.version)
    assert w.records.get(w.flow, rec.id).assignee_id == p1.id
    v = reassign(w.db, w.registry, w.flow, rec.id, manager, None, expected_version=v)
    assert w.records.get(w.flow, rec.id).assignee_id is None
    assert [h["action"] for h in w.history(rec.id)][-2:] == ["reassign", "reassign"]
