"""Fetched prices in order lines (the order desk set, SQLite and PostgreSQL): remembered per row, marked when
the product's price changed since, the mark following its row when rows are reordered or removed, and a
re-fetch written as an ordinary edit (history, version check)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.records.errors import StaleVersion
from engine.records.row_fetches import match_rows, row_fetch_statuses
from tests.acceptance import test_order_desk as base
from tests.acceptance.test_order_desk import NOW, Desk, _master_data, _order

desk = base.desk  # the order desk set on SQLite and PostgreSQL


def _marks(d: Desk, order_id: int, who: Any) -> dict[str, Any]:
    rec = d.access.get("sales_order", order_id, who)
    flow = d.registry.get("sales_order").flow
    with d.db.connect() as conn:
        return {k: s.current for k, s in row_fetch_statuses(conn, d.registry, flow, order_id, rec.values, who).items()}


def _new_order(d: Desk) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """The master data, an order of three lines by sales, and its lines to change."""
    m = _master_data(d)
    order = d.records.create("sales_order", d.who["sales"], _order(m), now=NOW)
    return m, order, [dict(r) for r in order.values["lines"]]


def _edit_lines(d: Desk, order: Any, lines: list[dict[str, Any]]) -> Any:
    return d.records.edit("sales_order", order.id, d.who["sales"], {"lines": lines}, expected_version=order.version,
                          now=NOW)


def _price(d: Desk, product: Any, price: str) -> None:
    rec = d.records.get("product", product.id)
    d.records.edit("product", product.id, d.who["pm"], {"list_price": price}, expected_version=rec.version, now=NOW)


def test_a_changed_list_price_marks_the_rows_that_copied_it(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales = d.who["sales"]
    order = d.records.create("sales_order", sales, _order(m), now=NOW)
    assert _marks(d, order.id, sales) == {}
    _price(d, m["pump"], "1500")
    # row 0 copied the pump's 1200; row 2's 1100 was agreed by hand and never copied: not marked
    assert _marks(d, order.id, sales) == {"lines[0].unit_price": Decimal("1500.00")}
    _price(d, m["pump"], "1200")  # back to the price copied: no mark
    assert _marks(d, order.id, sales) == {}


def test_the_mark_follows_its_row_when_rows_move_or_go(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales = d.who["sales"]
    order = d.records.create("sales_order", sales, _order(m), now=NOW)
    _price(d, m["valve"], "400")
    assert _marks(d, order.id, sales) == {"lines[1].unit_price": Decimal("400.00")}
    lines = [dict(r) for r in d.access.get("sales_order", order.id, sales).values["lines"]]
    # the valve's row moves to the top, the pump's agreed row goes, a quantity changes
    lines = [lines[1], lines[0]]
    lines[0]["quantity"] = 11
    order = _edit_lines(d, order, lines)
    assert _marks(d, order.id, sales) == {"lines[0].unit_price": Decimal("400.00")}
    # removing the row above it moves the mark up with it
    lines = [{"product": m["pump"].id, "quantity": 3}] + [dict(r) for r in order.values["lines"]]
    order = _edit_lines(d, order, lines)
    assert order.values["lines"][0]["unit_price"] == Decimal("1200.00")
    assert _marks(d, order.id, sales) == {"lines[1].unit_price": Decimal("400.00")}
    lines = [dict(r) for r in order.values["lines"]][1:]
    order = _edit_lines(d, order, lines)
    assert _marks(d, order.id, sales) == {"lines[0].unit_price": Decimal("400.00")}


def test_a_price_edited_on_purpose_is_marked_only_when_the_source_changes(desk: Desk) -> None:
    d, sales = desk, desk.who["sales"]
    m, order, lines = _new_order(d)
    lines[0]["unit_price"] = Decimal("1150")  # a discount on the copied 1200
    order = _edit_lines(d, order, lines)
    assert _marks(d, order.id, sales) == {}
    _price(d, m["pump"], "1300")
    assert _marks(d, order.id, sales) == {"lines[0].unit_price": Decimal("1300.00")}


def test_changing_a_rows_product_fetches_and_remembers_the_new_one(desk: Desk) -> None:
    d, sales = desk, desk.who["sales"]
    m, order, lines = _new_order(d)
    lines[0] = {"product": m["valve"].id, "quantity": 2}  # the product changes: the price is fetched again
    order = _edit_lines(d, order, lines)
    assert order.values["lines"][0]["unit_price"] == Decimal("350.50")
    _price(d, m["pump"], "1600")
    assert _marks(d, order.id, sales) == {}  # no row copies the pump's price any more
    _price(d, m["valve"], "360")
    assert _marks(d, order.id, sales) == {"lines[0].unit_price": Decimal("360.00"),
                                          "lines[1].unit_price": Decimal("360.00")}


def test_a_re_fetch_is_an_edit_with_history_and_a_version_check(desk: Desk) -> None:
    d, m = desk, _master_data(desk)
    sales = d.who["sales"]
    order = d.records.create("sales_order", sales, _order(m), now=NOW)
    _price(d, m["pump"], "1500")
    _price(d, m["valve"], "400")
    marks = _marks(d, order.id, sales)
    assert set(marks) == {"lines[0].unit_price", "lines[1].unit_price"}
    lines = [dict(r) for r in order.values["lines"]]
    lines[0]["unit_price"] = marks["lines[0].unit_price"]
    with pytest.raises(StaleVersion):  # a stale version is refused and changes nothing
        d.access.edit("sales_order", order.id, sales, {"lines": lines}, expected_version=order.version - 1)
    assert _marks(d, order.id, sales) == marks
    order = d.access.edit("sales_order", order.id, sales, {"lines": lines}, expected_version=order.version)
    assert [r["unit_price"] for r in order.values["lines"]] == [Decimal("1500.00"), Decimal("350.50"), Decimal("1100.00")]
    assert order.values["total"] == Decimal("3000.00") + Decimal("3505.00") + Decimal("1100.00")
    assert _marks(d, order.id, sales) == {"lines[1].unit_price": Decimal("400.00")}  # remembered anew
    last = d.records.history("sales_order", order.id)[-1]
    assert last["action"] == "edit" and "lines" in last["changes"]


def test_rows_are_matched_by_content_before_place() -> None:
    before = [{"p": 1, "q": 1, "u": 10}, {"p": 2, "q": 1, "u": 20}, {"p": 1, "q": 5, "u": 10}]
    # rows with the same product and copied price are alike for the memory: the first free one is taken
    after = [{"p": 1, "q": 6, "u": 10}, {"p": 2, "q": 1, "u": 20}]
    assert match_rows(before, after, ["p"], ["u"]) == [0, 1]
    assert match_rows(before, [before[2], before[0]], ["p"], ["u"]) == [2, 0]
    assert match_rows(before, [{"p": 3, "q": 1, "u": 10}], ["p"], ["u"]) == [None]
