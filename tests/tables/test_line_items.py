"""Line items end to end in the engine, on SQLite and PostgreSQL: rows, row computes, aggregates, limits,
editability, history, bad input, and the one write transaction per step."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from engine.records.errors import Forbidden, ReadOnlyField, ValidationFailed
from engine.records.listing import Filter, ListQuery, list_records
from engine.storage.row_tables import row_table_name
from tests.tables.helpers import LINES, Orders


def _stored_rows(w: Orders, record_id: int) -> list[tuple[Any, ...]]:
    t = row_table_name("sales_order", "lines")
    with w.db.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f"SELECT position, product, quantity FROM {t} WHERE record_id = :r ORDER BY position"), {"r": record_id})]


def test_an_order_with_three_lines_has_exact_amounts_and_total(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-1", "lines": LINES})
    got = orders.get(rec.id)
    assert [r["amount"] for r in got.values["lines"]] == [Decimal("21.00"), Decimal("3.00"), Decimal("0.30")]
    assert got.values["total"] == Decimal("24.30") and isinstance(got.values["total"], Decimal)
    assert got.values["line_count"] == 3
    # One typed row per line in the child table, keyed by record and position: no JSON blob.
    assert _stored_rows(orders, rec.id) == [(0, "P-100", 2), (1, "P-200", 1), (2, "P-300", 3)]


def test_editing_lines_recomputes_and_history_shows_them(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-2", "lines": LINES})
    changed = [dict(LINES[0], quantity=5), LINES[2], {"product": "P-400", "quantity": 1, "unit_price": "100"}]
    after = orders.edit(rec, {"lines": changed})
    assert after.values["total"] == Decimal("152.80")  # 52.50 + 0.30 + 100.00
    assert orders.get(rec.id).values["total"] == Decimal("152.80")
    assert _stored_rows(orders, rec.id) == [(0, "P-100", 5), (1, "P-300", 3), (2, "P-400", 1)]
    edit = orders.history(rec.id)[-1]
    before_rows, after_rows = edit["changes"]["lines"]
    assert [r["product"] for r in before_rows] == ["P-100", "P-200", "P-300"]
    assert [r["quantity"] for r in after_rows] == [5, 3, 1]
    assert edit["changes"]["total"] == ["24.30", "152.80"]


def test_history_view_lists_rows_added_removed_and_changed_field_by_field(orders: Orders) -> None:
    from ui.history_view import history_entries

    rec = orders.create({"order_no": "SO-3", "lines": LINES})
    changed = [dict(LINES[0], quantity=5), LINES[2], {"product": "P-400", "quantity": 1, "unit_price": "100"}]
    orders.edit(rec, {"lines": changed})
    flow = orders.registry.get("sales_order").flow
    entries = history_entries(flow, "draft", orders.history(rec.id), {}, lambda s, **kw: s.format(**kw) if kw else s)
    lines = [(c.label, c.before, c.after) for c in entries[0].changes]
    assert ("Order lines · row 1 · Quantity", "2", "5") in lines
    assert ("Order lines · row 1 · Amount", "21.00 CNY", "52.50 CNY") in lines
    removed = [c for c in lines if c[0] == "Order lines · row 2 removed"]
    assert removed and "P-200" in removed[0][1] and removed[0][2] == ""
    added = [c for c in lines if c[0] == "Order lines · row 3 added"]
    assert added and "P-400" in added[0][2] and "100.00 CNY" in added[0][2]


def test_transitions_keep_the_lines_and_a_second_read_sees_them(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-4", "lines": LINES})
    moved = orders.move(rec, "submit")
    assert moved.values["lines"][0]["product"] == "P-100" and moved.values["total"] == Decimal("24.30")
    done = orders.move(moved, "approve", orders.clerk)
    assert done.state == "done" and orders.get(rec.id).values["line_count"] == 3


def test_min_and_max_rows_are_refused_with_clear_messages(orders: Orders) -> None:
    with pytest.raises(ValidationFailed) as few:
        orders.create({"order_no": "SO-5", "lines": []})
    assert few.value.field_errors == {"lines": "needs at least 1 rows"}
    with pytest.raises(ValidationFailed) as many:
        orders.create({"order_no": "SO-5", "lines": LINES * 2})
    assert many.value.field_errors == {"lines": "may have at most 5 rows"}
    rec = orders.create({"order_no": "SO-5", "lines": LINES})
    with pytest.raises(ValidationFailed):
        orders.edit(rec, {"lines": []})
    assert len(orders.get(rec.id).values["lines"]) == 3  # nothing lost


def test_a_transition_needs_the_lines_it_requires(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-6"})
    assert orders.get(rec.id).values["lines"] == [] and orders.get(rec.id).values["total"] == Decimal("0.00")
    from engine.records.errors import MissingRequired
    with pytest.raises(MissingRequired):
        orders.move(rec, "submit")


def test_rows_cannot_be_changed_where_the_state_does_not_allow_editing_the_table(orders: Orders) -> None:
    rec = orders.move(orders.create({"order_no": "SO-7", "lines": LINES}), "submit")
    with pytest.raises(ReadOnlyField):
        orders.edit(rec, {"lines": LINES[:1]}, orders.clerk)  # the clerk may edit the note here, not the lines
    with pytest.raises(Forbidden):
        orders.edit(rec, {"lines": LINES[:1]})  # the salesperson edits nothing in review
    note = orders.edit(rec, {"note": "checked"}, orders.clerk)
    assert note.values["total"] == Decimal("24.30") and len(orders.get(rec.id).values["lines"]) == 3


@pytest.mark.parametrize(("lines", "errors"), [
    ("three lines", {"lines": "must be a list of rows"}),
    ([LINES[0], "P-200"], {"lines[1]": "each row must be an object of field values"}),
    ([dict(LINES[0], colour="red")], {"lines[0].colour": "unknown field 'colour' in a row"}),
    ([dict(LINES[0], quantity="two")], {"lines[0].quantity": "must be a whole number ('two' is not a number)"}),
    ([LINES[0], dict(LINES[1], quantity=0)], {"lines[1].quantity": "must be at least 1"}),
    ([{"product": "P-1", "unit_price": 1}], {"lines[0].quantity": "this field is required"}),
])
def test_malformed_rows_are_refused_located_and_lose_nothing(orders: Orders, lines: Any, errors: dict[str, str]) -> None:
    rec = orders.create({"order_no": "SO-8", "lines": LINES})
    with pytest.raises(ValidationFailed) as exc:
        orders.edit(rec, {"lines": lines})
    assert exc.value.field_errors == errors
    got = orders.get(rec.id)
    assert got.version == 1 and got.values["total"] == Decimal("24.30") and len(got.values["lines"]) == 3
    assert len(_stored_rows(orders, rec.id)) == 3


def test_a_computed_value_sent_for_a_row_is_ignored(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-9", "lines": [dict(LINES[0], amount="999")]})
    assert orders.get(rec.id).values["lines"][0]["amount"] == Decimal("21.00")


def test_the_list_filters_and_sorts_by_the_stored_total(orders: Orders) -> None:
    small = orders.create({"order_no": "SO-10", "lines": LINES[2:]})  # 0.30
    big = orders.create({"order_no": "SO-11", "lines": LINES})  # 24.30
    orders.edit(small, {"lines": [dict(LINES[2], quantity=1000)]})  # 100.00: recomputed when the rows change
    live = orders.registry.get("sales_order")
    query = ListQuery(filters=(Filter("total", "gte", "50"),), sort="total")
    page = list_records(orders.db, orders.records, live, orders.sales, query)
    assert [r.id for r in page.records] == [small.id]
    page = list_records(orders.db, orders.records, live, orders.sales, ListQuery(sort="-total"))
    assert [r.id for r in page.records] == [small.id, big.id]


def test_reading_and_writing_many_rows_takes_a_fixed_number_of_statements(orders: Orders) -> None:
    from sqlalchemy import event

    from tests.tables.flows import ORDER

    orders.apply(ORDER.replace("max_rows: 5", "max_rows: 200"))
    rows = [{"product": f"P-{i}", "quantity": i + 1, "unit_price": "1.25"} for i in range(200)]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(orders.db, "before_cursor_execute", count)
    try:
        rec = orders.create({"order_no": "SO-BIG", "lines": rows})
        created = len(statements)
        statements.clear()
        got = orders.get(rec.id)
        read = len(statements)
        statements.clear()
        orders.edit(got, {"lines": [dict(r, quantity=2) for r in rows]})
        edited = len(statements)
    finally:
        event.remove(orders.db, "before_cursor_execute", count)
    assert got.values["total"] == Decimal("25125.00") and len(got.values["lines"]) == 200
    # No statement per row: the rows go in with one executemany and come back with one query.
    assert created <= 12 and read <= 3 and edited <= 12, (created, read, edited)
