"""An import with 20 bad rows: each problem located by sheet, row and column in words (no field ids), the dry
run keeps nothing, and the real run imports the 30 good rows and refuses the same 20."""
from __future__ import annotations

from typing import Any

import pytest

from tests.excel.desk import open_desk
from tests.excel.helpers import orders, run_import, workbook

MAIN_HEAD = ["Order no.", "Customer", "Promised delivery date", "Priority"]
LINE_HEAD = ["Order no.", "Product", "Quantity", "Unit price"]
LINES = "Order lines"


def _file() -> tuple[bytes, set[tuple[str, int, str]]]:
    """50 orders, 20 of them bad in one place each; the (sheet, row, column) of each problem."""
    main: list[list[Any]] = [MAIN_HEAD]
    lines: list[list[Any]] = [LINE_HEAD]
    expected: set[tuple[str, int, str]] = set()
    kinds = ["pattern", "customer", "date", "choice", "required", "quantity", "product", "price", "duplicate", "orphan"]
    for i in range(1, 51):
        key = f"SO-{i:06d}"
        row: list[Any] = [key, "宁波华东机电", "2026-11-20", "普通"]
        line: list[Any] = [key, "HD-2000 液压泵", 2, None]
        kind = kinds[(i // 2 - 1) % 10] if i % 2 == 0 and i <= 40 else None  # orders 2, 4, ..., 40
        main_row, line_row = len(main) + 1, len(lines) + 1
        if kind == "pattern":
            row[0] = line[0] = f"SO-{i}"  # the pattern wants six digits; its line goes with it
            expected.add(("Orders", main_row, "Order no."))
        elif kind == "customer":
            row[1] = "没有这个客户"
            expected.add(("Orders", main_row, "Customer"))
        elif kind == "date":
            row[2] = "2026-13-45"
            expected.add(("Orders", main_row, "Promised delivery date"))
        elif kind == "choice":
            row[3] = "very urgent"
            expected.add(("Orders", main_row, "Priority"))
        elif kind == "required":
            row[2] = None
            expected.add(("Orders", main_row, "Promised delivery date"))
        elif kind == "quantity":
            line[2] = 0  # at least 1
            expected.add((LINES, line_row, "Quantity"))
        elif kind == "product":
            line[1] = "XX-0"
            expected.add((LINES, line_row, "Product"))
        elif kind == "price":
            line[3] = -5
            expected.add((LINES, line_row, "Unit price"))
        elif kind == "duplicate":
            row[0] = "SO-000001"  # the key of the first order again (its line is left out)
            expected.add(("Orders", main_row, "Order no."))
            line = []
        elif kind == "orphan":
            line[0] = "SO-999999"  # its line names no order of the file ...
            expected.add((LINES, line_row, "Order no."))
            expected.add(("Orders", main_row, "Order lines"))  # ... so the order has none (at least 1)
        main.append(row)
        if line:
            lines.append(line)
    return workbook({"Orders": main, LINES: lines}), expected


def test_twenty_bad_rows_are_each_located_and_the_good_rows_import(database_url: str) -> None:
    d = open_desk(database_url)
    data, expected = _file()
    assert len(expected) == 22  # 20 bad orders; an orphan line is a problem of its own besides its order's

    sales = d.who["sales"]
    dry = run_import(d, sales, "orders.xlsx", data, dry_run=True)
    located = {(p.sheet, p.row, p.column) for p in dry.problems}
    assert located == expected
    assert dry.counts.failed == 20 and dry.counts.created == 30
    assert orders(d) == {}  # the dry run imported nothing
    for p in dry.problems:  # words for people: no field ids, no code
        assert p.text and not any(word in p.text for word in ("order_no", "delivery_date", "lines[", "quantity", "unit_price"))

    run = run_import(d, sales, "orders.xlsx", data)
    assert {(p.sheet, p.row, p.column) for p in run.problems} == expected
    assert run.counts.created == 30 and run.counts.failed == 20
    got = orders(d)
    assert len(got) == 30 and all(len(o["lines"]) == 1 for o in got.values())
    d.db.dispose()


@pytest.mark.parametrize("lang", ["zh-CN"])
def test_problems_read_in_the_readers_language(sqlite_url: str, lang: str) -> None:
    from ui.i18n import Translator, translate_message

    d = open_desk(sqlite_url)
    data = workbook({"订单": [["订单号", "客户", "交期", "优先级"], ["SO-000001", "没有这个客户", "2026-11-20", "普通"]],
                     "订单明细": [["订单号", "产品", "数量"], ["SO-000001", "HD-2000", 0]]})
    _ = Translator(lang)
    from engine.transfer.import_plan import guess_mapping
    from engine.transfer.import_run import Importer
    from engine.transfer.upload import read_upload

    live = d.registry.get("sales_order")
    upload = read_upload("订单.xlsx", data)
    mapping = guess_mapping(live.flow, upload)  # Chinese headers find their fields
    assert mapping.columns == {"订单号": "order_no", "客户": "customer", "交期": "delivery_date", "优先级": "priority"}
    assert mapping.tables["lines"].columns == {"产品": "product", "数量": "quantity"}
    result = Importer(d.db, d.records, live, d.who["sales"], upload, mapping, lang=lang,
                      translate=lambda m: translate_message(_, m)).run(dry_run=True)
    texts = {(p.sheet, p.row, p.column): p.text for p in result.problems}
    assert set(texts) == {("订单", 2, "客户"), ("订单明细", 2, "数量")}
    assert "客户" in texts[("订单", 2, "客户")] and "没有这个客户" in texts[("订单", 2, "客户")]
    assert all(not any("a" <= ch <= "z" for ch in t.replace("没有这个客户", "")) for t in texts.values()), texts
    d.db.dispose()
