"""Export → import round trips of the order desk (1,000 orders with their lines), and re-runs that update.

Both databases: the orders are exported as the sales person sees them and imported into a second, empty
database with the same master data; what a person sees of every order must be the same on both sides.
"""
from __future__ import annotations

from typing import Any

import pytest
from openpyxl import load_workbook

from engine.records.access import visible_clause
from engine.storage.plain import JoinedExecutor, PlainTransaction
from tests.excel.desk import NOW, Desk, open_desk, order_values
from tests.excel.helpers import export, orders, run_import, workbook


def _fill(d: Desk, n: int) -> None:
    """`n` orders, created in one transaction (the engine's own create, just not one COMMIT each)."""
    with d.db.begin() as conn:
        records = d.records.using(JoinedExecutor(PlainTransaction(conn)))
        for i in range(1, n + 1):
            records.create("sales_order", d.who["sales"], order_values(d, i), now=NOW)


@pytest.fixture
def desks(database_url: str, second_url: str) -> Any:
    a, b = open_desk(database_url), open_desk(second_url)
    yield a, b
    a.db.dispose()
    b.db.dispose()


def test_1000_orders_with_lines_come_back_identical_through_xlsx(desks: Any) -> None:
    source, target = desks
    _fill(source, 1000)
    data = export(source, source.who["sales"], "xlsx")
    dry = run_import(target, target.who["sales"], "orders.xlsx", data, dry_run=True)
    assert dry.problems == []
    assert (dry.counts.created, dry.counts.lines_added) == (1000, sum(len(o["lines"]) for o in orders(source).values()))
    assert orders(target) == {}  # the dry run kept nothing
    result = run_import(target, target.who["sales"], "orders.xlsx", data)
    assert result.problems == [] and result.counts.created == 1000
    assert orders(target) == orders(source)


def test_orders_come_back_identical_through_a_zip_of_csvs(desks: Any) -> None:
    source, target = desks
    _fill(source, 60)
    data = export(source, source.who["sales"], "csv")
    assert data[:2] == b"PK"  # line items: one CSV per sheet, in a ZIP
    result = run_import(target, target.who["sales"], "orders.zip", data)
    assert result.problems == [] and result.counts.created == 60
    assert orders(target) == orders(source)


def test_a_rerun_updates_instead_of_duplicating(desks: Any) -> None:
    source, target = desks
    _fill(source, 30)
    data = export(source, source.who["sales"], "xlsx")
    sales = target.who["sales"]
    assert run_import(target, sales, "orders.xlsx", data).counts.created == 30
    again = run_import(target, sales, "orders.xlsx", data)
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 30)

    # change a priority, a quantity, drop a line and add one: updated in place, lines counted
    wb = load_workbook(__import__("io").BytesIO(data))
    main, lines = wb.worksheets
    head = [c.value for c in main[1]]
    main.cell(row=2, column=head.index("Priority") + 1, value="Urgent")
    lhead = [c.value for c in lines[1]]
    lines.cell(row=2, column=lhead.index("Quantity") + 1, value=99)   # SO-000001, first line
    rows = list(lines.iter_rows(min_row=2, values_only=True))
    so5 = [i for i, r in enumerate(rows, start=2) if r[1] == "SO-000005"]
    lines.delete_rows(so5[-1])                                       # SO-000005 loses its last line
    lines.append([None, "SO-000003", "VL-300 电磁阀", 4, 350.5])        # SO-000003 gets one more
    buf = __import__("io").BytesIO()
    wb.save(buf)
    third = run_import(target, sales, "orders.xlsx", buf.getvalue())
    assert third.problems == []
    c = third.counts
    assert (c.created, c.updated, c.unchanged) == (0, 3, 27)
    assert (c.lines_added, c.lines_changed, c.lines_removed) == (1, 1, 1)
    got = orders(target)
    assert len(got) == 30
    assert got["SO-000001"]["values"]["priority"] == "urgent"
    assert got["SO-000001"]["lines"][0]["quantity"] == 99
    assert len(got["SO-000005"]["lines"]) == len(orders(source)["SO-000005"]["lines"]) - 1
    assert got["SO-000003"]["lines"][-1]["quantity"] == 4
    with target.db.connect() as conn:  # one record per key, whatever the number of runs
        live = target.registry.get("sales_order")
        n = conn.execute(live.table.select().with_only_columns(live.table.c.id)
                         .where(visible_clause(live, target.who["boss"]))).all()
    assert len(n) == 30


def test_orders_land_in_a_named_state_only_through_an_explicit_mapping_and_history_says_so(database_url: str) -> None:
    d = open_desk(database_url)
    data = workbook({"Orders": [["Order no.", "Customer", "Promised delivery date", "Stage"],
                                ["SO-000001", "宁波华东机电", "2026-11-20", "订单审核"],
                                ["SO-000002", "宁波华东机电", "2026-11-21", ""]],
                     "Order lines": [["Order no.", "Product", "Quantity"],
                                     ["SO-000001", "HD-2000", 1], ["SO-000002", "VL-300", 2]]})
    from engine.transfer.import_plan import STATE, guess_mapping
    from engine.transfer.upload import read_upload

    flow = d.registry.get("sales_order").flow
    mapping = guess_mapping(flow, read_upload("o.xlsx", data))
    assert "Stage" not in mapping.columns  # never guessed
    mapping.columns["Stage"] = STATE
    # only an administrator may land records in a named state
    from engine.transfer.import_plan import mapping_problems

    assert [p.code for p in mapping_problems(flow, read_upload("o.xlsx", data), mapping, d.who["sales"], "en")] == [
        "import_state_admin"]
    result = run_import(d, d.who["boss"], "o.xlsx", data, mapping=mapping)
    assert result.problems == [] and result.counts.created == 2
    got = orders(d)
    assert got["SO-000001"]["state"] == "review" and got["SO-000002"]["state"] == "draft"
    rid = next(r for r in range(1, 10) if d.records.get("sales_order", r).values["order_no"] == "SO-000001")
    moved = [h for h in d.records.history("sales_order", rid) if h["action"] == "import"]
    assert len(moved) == 1 and moved[0]["to_state"] == "review"
    assert moved[0]["comment"] == "imported into state Order review by Boss"
    d.db.dispose()
