"""Reload plans for line items, on SQLite and PostgreSQL: a table field added to a flow with records, a row
field renamed with renamed_from, a table field retired and restored with its rows."""
from __future__ import annotations

from decimal import Decimal

from tests.evolve.helpers import edit
from tests.tables.flows import ORDER
from tests.tables.helpers import LINES, Orders

WITHOUT_LINES = edit(
    ORDER,
    ("""  lines:
    type: table
    title: Order lines
    min_rows: 1
    max_rows: 5
    fields:
      product: {type: text, title: Product, required: true, max_length: 40}
      quantity: {type: integer, title: Quantity, min: 1, required: true}
      unit_price: {type: money, currency: CNY, scale: 2, min: 0, required: true, title: Unit price}
      amount: {type: money, currency: CNY, scale: 2, compute: "quantity * unit_price", title: Amount}
  total: {type: money, currency: CNY, scale: 2, compute: "sum(lines, 'amount')", title: Total, index: true}
  line_count: {type: integer, compute: "count(lines)", title: Lines}
""", "  total: {type: money, currency: CNY, scale: 2, title: Total, index: true}\n  line_count: {type: integer, title: Lines}\n"),
    ("edit: [order_no, lines, note]", "edit: [order_no, note]"),
    ("require: [lines]", "require: [order_no]"),
)


def _change(plan: object, kind: str) -> object:
    found = [c for c in plan.changes if c.kind == kind]  # type: ignore[attr-defined]
    assert found, [c.kind for c in plan.changes]  # type: ignore[attr-defined]
    return found[0]


def test_a_table_field_added_to_a_flow_with_records(database_url: str) -> None:
    w = Orders(database_url, WITHOUT_LINES)
    try:
        old = w.create({"order_no": "SO-1"})
        plan = w.plan(ORDER)
        added = _change(plan, "table_added")
        assert "new table" in added.text and not plan.refused  # type: ignore[attr-defined]
        w.apply(ORDER, plan)
        assert w.get(old.id).values["lines"] == [] and w.get(old.id).values["order_no"] == "SO-1"
        rec = w.create({"order_no": "SO-2", "lines": LINES})
        assert w.get(rec.id).values["total"] == Decimal("24.30")
    finally:
        w.close()


def test_a_row_field_renamed_keeps_its_values(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-3", "lines": LINES})
    renamed = edit(ORDER, ("      product: {type: text, title: Product, required: true, max_length: 40}",
                           "      item: {type: text, title: Item, required: true, max_length: 40, renamed_from: product}"))
    plan = orders.plan(renamed)
    change = _change(plan, "row_field_renamed")
    assert change.count == 3 and not plan.refused  # type: ignore[attr-defined]
    orders.apply(renamed, plan)
    assert [r["item"] for r in orders.get(rec.id).values["lines"]] == ["P-100", "P-200", "P-300"]
    assert orders.plan(renamed).unchanged  # applying the same file again changes nothing


def test_a_row_field_added_then_removed_keeps_its_values(orders: Orders) -> None:
    with_note = edit(ORDER, ("      amount:", "      remark: {type: text, title: Remark}\n      amount:"))
    orders.apply(with_note)
    rec = orders.create({"order_no": "SO-4", "lines": [dict(LINES[0], remark="fragile")]})
    plan = orders.plan(ORDER)
    assert _change(plan, "row_field_retired").effect == "data"  # type: ignore[attr-defined]
    orders.apply(ORDER, plan)
    assert "remark" not in orders.get(rec.id).values["lines"][0]
    orders.edit(orders.get(rec.id), {"note": "still editable"})
    orders.apply(with_note)
    assert orders.get(rec.id).values["lines"][0]["remark"] == "fragile"


def test_a_table_field_retired_and_restored_brings_its_rows_back(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-5", "lines": LINES})
    plan = orders.plan(WITHOUT_LINES)
    retired = _change(plan, "table_retired")
    assert retired.count == 3 and "kept" in retired.text  # type: ignore[attr-defined]
    orders.apply(WITHOUT_LINES, plan)
    got = orders.get(rec.id)
    assert "lines" not in got.values and got.values["total"] == Decimal("24.30")  # the stored total stays
    other = orders.create({"order_no": "SO-6"})
    back = orders.plan(ORDER)
    restored = _change(back, "table_restored")
    assert restored.count == 3 and restored.effect == "data"  # type: ignore[attr-defined]
    orders.apply(ORDER, back)
    assert [r["product"] for r in orders.get(rec.id).values["lines"]] == ["P-100", "P-200", "P-300"]
    assert orders.get(other.id).values["lines"] == []


def test_a_table_field_renamed_keeps_its_rows(orders: Orders) -> None:
    rec = orders.create({"order_no": "SO-7", "lines": LINES})
    renamed = (ORDER.replace("  lines:\n    type: table", "  items:\n    type: table\n    renamed_from: lines")
               .replace("sum(lines, 'amount')", "sum(items, 'amount')").replace("count(lines)", "count(items)")
               .replace("edit: [order_no, lines, note]", "edit: [order_no, items, note]")
               .replace("require: [lines]", "require: [items]"))
    plan = orders.plan(renamed)
    assert _change(plan, "table_renamed").count == 3 and not plan.refused  # type: ignore[attr-defined]
    orders.apply(renamed, plan)
    assert len(orders.get(rec.id).values["items"]) == 3


def test_changing_a_row_fields_type_is_refused(orders: Orders) -> None:
    orders.create({"order_no": "SO-8", "lines": LINES})
    changed = edit(ORDER, ("      product: {type: text, title: Product, required: true, max_length: 40}",
                           "      product: {type: integer, title: Product}"))
    plan = orders.plan(changed)
    assert _change(plan, "row_type_refused").effect == "refused"  # type: ignore[attr-defined]
