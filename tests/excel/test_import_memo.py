"""An import reads the customers and products its rows name once per batch (engine/records/read_memo.py): the
answers stay those of one read per row. A retired customer is refused on every row that names it, beside rows
of an active one in the same batch; a price changed between two imports is the one the second copies."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.excel.desk import NOW, open_desk
from tests.excel.helpers import orders, run_import, workbook

MAIN_HEAD = ["Order no.", "Customer", "Promised delivery date", "Priority"]
LINE_HEAD = ["Order no.", "Product", "Quantity", "Unit price"]
LINES = "Order lines"


def _file(first: int, customers: list[str]) -> bytes:
    main: list[list[Any]] = [MAIN_HEAD]
    lines: list[list[Any]] = [LINE_HEAD]
    for n, customer in enumerate(customers):
        key = f"SO-{first + n:06d}"
        main.append([key, customer, "2026-11-20", "普通"])
        lines.append([key, "HD-2000 液压泵", 2, None])  # the price fetched from the product
    return workbook({"Orders": main, LINES: lines})


def test_refusals_and_fetched_prices_stay_those_of_one_read_per_row(database_url: str) -> None:
    d = open_desk(database_url)
    sales, pm = d.who["sales"], d.who["pm"]
    retired = d.records.create("customer", sales, {"name": "停用客户", "city": "宁波"}, now=NOW)
    d.records.transition("customer", retired.id, "retire", sales, expected_version=retired.version,
                         comment="no longer a customer", now=NOW)

    first = run_import(d, sales, "orders.xlsx", _file(1, ["宁波华东机电", "停用客户"] * 3))
    assert first.counts.created == 3 and first.counts.failed == 3
    assert {(p.sheet, p.row, p.column) for p in first.problems} == {("Orders", r, "Customer") for r in (3, 5, 7)}
    got = orders(d)
    assert sorted(got) == ["SO-000001", "SO-000003", "SO-000005"]
    assert {o["lines"][0]["unit_price"] for o in got.values()} == {Decimal("1200.00")}

    pump = d.records.get("product", d.master["pump"].id)
    d.records.edit("product", pump.id, pm, {"list_price": "1350"}, expected_version=pump.version, now=NOW)
    second = run_import(d, sales, "orders.xlsx", _file(7, ["宁波华东机电", "宁波华东机电"]))
    assert second.counts.created == 2 and second.problems == []
    got = orders(d)
    assert [got[k]["lines"][0]["unit_price"] for k in ("SO-000007", "SO-000008")] == [Decimal("1350.00")] * 2
    assert got["SO-000001"]["lines"][0]["unit_price"] == Decimal("1200.00")  # a snapshot stays one
    d.db.dispose()
