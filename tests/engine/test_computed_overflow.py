"""A computed value its field cannot hold refuses the write; it is never stored as empty."""
from __future__ import annotations

import pytest

from engine.records.errors import ValidationFailed
from tests.conftest import World

FLOW = """
flow: totals
roles: {sales: Sales}
fields:
  quantity: {type: integer}
  price: {type: money, precision: 8, scale: 2}
  total: {type: money, precision: 8, scale: 2, compute: "quantity * price"}
  boxes: {type: integer, max: 100, compute: "quantity * 10"}
states:
  draft: {owner: sales, edit: [quantity, price]}
  done: {final: true}
transitions:
  finish: {from: draft, to: done, by: sales}
"""


def test_an_overflowing_computed_value_refuses_create_edit_and_transition(database_url: str) -> None:
    world = World(database_url, FLOW)
    sales = world.user("sally", "sales")
    with pytest.raises(ValidationFailed) as refused:
        world.records.create("totals", sales, {"quantity": 999_999, "price": "999999.99"})
    assert set(refused.value.field_errors) == {"total", "boxes"}
    rec = world.records.create("totals", sales, {"quantity": 2, "price": "10.00"})
    assert str(rec.values["total"]) == "20.00" and rec.values["boxes"] == 20
    with pytest.raises(ValidationFailed) as refused:
        world.records.edit("totals", rec.id, sales, {"quantity": 11}, expected_version=1)
    assert set(refused.value.field_errors) == {"boxes"}  # 110 boxes is above the field's maximum
    with pytest.raises(ValidationFailed):
        world.records.transition("totals", rec.id, "finish", sales, expected_version=1, values={"price": "999999.99",
                                                                                                 "quantity": 9})
    again = world.records.get("totals", rec.id)  # nothing was written
    assert (again.version, str(again.values["total"]), again.values["boxes"]) == (1, "20.00", 20)
    # An input left empty still leaves the computed value empty, without an error.
    empty = world.records.create("totals", sales, {"price": "1.00"})
    assert empty.values["total"] is None and empty.values["boxes"] is None
    world.db.dispose()
