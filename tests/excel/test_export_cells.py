"""What an export holds: typed cells, no formula anywhere, and only what the reader may see (both databases)."""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from engine.records.listing import Filter, ListQuery
from engine.transfer.cells import Column, from_csv_text, money_format
from engine.transfer.export import ExportRow, ExportTable, export_csv_zip, export_xlsx
from tests.evolve.helpers import Evolving
from tests.excel.desk import NOW, open_desk, order_values
from tests.excel.helpers import export

DANGEROUS = ["=1+2", "+86 21 5555", "-3", "@SUM(A1)", "=HYPERLINK(\"http://evil\",\"x\")", "'=quoted"]
EVERY_START = DANGEROUS + ["\tTAB", "\rCR", "-", "="]  # a text field keeps no tab or CR: the writer is checked alone


def test_no_cell_of_an_xlsx_export_is_a_formula_and_risky_text_is_quote_prefixed(database_url: str) -> None:
    d = open_desk(database_url)
    sales = d.who["sales"]
    for text in DANGEROUS:
        d.records.create("customer", sales, {"name": text, "city": text, "contact": text}, now=NOW)
    data = export(d, sales, "xlsx", flow="customer")
    wb = load_workbook(io.BytesIO(data))  # not read-only: styles (quotePrefix) are read too
    seen: set[str] = set()
    cells = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                cells += 1
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
                    if cell.value.startswith(("=", "+", "-", "@", "\t", "\r")):
                        assert cell.quotePrefix, (cell.coordinate, cell.value)
    assert cells > 40
    # the text comes back exactly as it was (a tab or CR survives as text too)
    assert set(DANGEROUS) <= seen

    d.records.create("sales_order", sales, order_values(d, 3), now=NOW)  # customer "=HYPERLINK(...)"
    orders_data = export(d, sales, "xlsx")  # a reference's title that looks like a formula stays text
    for ws in load_workbook(io.BytesIO(orders_data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    d.db.dispose()


def test_risky_csv_cells_start_with_an_apostrophe(sqlite_url: str) -> None:
    d = open_desk(sqlite_url)
    sales = d.who["sales"]
    for text in DANGEROUS:
        d.records.create("customer", sales, {"name": text, "city": "宁波"}, now=NOW)
    text = export(d, sales, "csv", flow="customer").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    names = [r[rows[0].index("Name")] for r in rows[1:]]
    for name in names:
        assert not name.startswith(("=", "+", "-", "@", "\t", "\r")), name
    assert "'=1+2" in names and "'+86 21 5555" in names and "''=quoted" in names and "'-3" in names
    d.db.dispose()


@dataclass
class _Source:
    """The smallest export source (the typed interface a saved view will give too)."""

    title: str = "=Sheet"
    columns: tuple[Column, ...] = (Column("=A"), Column("n", "integer"), Column("amount", "money", money_format("EUR", 2)))
    tables: tuple[ExportTable, ...] = (ExportTable("lines", "-lines", (Column("@key"), Column("text"))),)

    def rows(self) -> Iterator[ExportRow]:
        for text in EVERY_START:
            yield ExportRow([text, 1, Decimal("2.50")], {"lines": [[text, text]]})


def test_the_writers_neutralise_every_risky_start_including_tab_and_cr() -> None:
    wb = load_workbook(io.BytesIO(b"".join(export_xlsx(_Source()))))
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value.startswith(("=", "+", "-", "@", "\t", "\r")):
                        assert cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
    assert {t.replace("\r", "\n") for t in EVERY_START} <= set(texts)  # XML reads a lone CR back as a line feed
    data = b"".join(export_csv_zip(_Source()))
    zf = zipfile.ZipFile(io.BytesIO(data))
    for name in zf.namelist():
        for row in csv.reader(io.StringIO(zf.read(name).decode("utf-8-sig"), newline="")):
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)
                assert from_csv_text(value) in EVERY_START + ["=A", "n", "amount", "@key", "text", "1", "2.50"]


def test_cells_are_typed_numbers_money_dates_labels_and_titles(database_url: str) -> None:
    d = open_desk(database_url)
    sales = d.who["sales"]
    d.records.create("sales_order", sales, order_values(d, 1), now=NOW)
    wb = load_workbook(io.BytesIO(export(d, sales, "xlsx", lang="zh-CN")))
    main, lines = wb.worksheets
    head = [c.value for c in main[1]]
    assert head[:4] == ["No.", "State", "订单号", "客户"] and "交期" in head and "优先级" in head  # titles, reader's language
    row = {h: c for h, c in zip(head, main[2])}
    assert row["客户"].value == "宁波华东机电"                     # a reference as its title
    assert row["优先级"].value == "普通"                            # a choice as its label
    assert row["State"].value == "草稿"
    assert row["交期"].is_date and row["交期"].value.date() == date(2026, 11, 2)
    total = row["订单总额"]
    assert total.data_type == "n" and Decimal(str(total.value)) == Decimal("5402.50")
    assert "CNY" in total.number_format and "0.00" in total.number_format
    assert lines.title == "订单明细"
    lhead = [c.value for c in lines[1]]
    assert lhead == ["No.", "订单号", "产品", "数量", "单价", "金额"]
    first = [c.value for c in lines[2]]
    assert first[1:4] == ["SO-000001", "HD-2000 液压泵", 2] and isinstance(first[3], int)
    d.db.dispose()


def test_an_export_holds_only_the_readers_records(database_url: str) -> None:
    d = open_desk(database_url)
    sales, clerk = d.who["sales"], d.who["clerk"]
    made = [d.records.create("sales_order", sales, order_values(d, i), now=NOW) for i in range(1, 7)]
    from engine.records.system_moves import move
    from engine.storage.plain import PlainExecutor

    live = d.orders
    for rec in made[:2]:  # two orders reach review, where the clerk works (moved as the system does: no contract here)
        with PlainExecutor(d.db).transaction() as tx:
            move(d.records, tx, live, live.fast.select_by_id(tx.conn, rec.id), sales, NOW, transition="submit")
    for fmt in ("xlsx", "csv"):
        data = export(d, clerk, fmt)
        if fmt == "xlsx":
            wb = load_workbook(io.BytesIO(data))
            keys = sorted(r[2] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True))
            line_keys = {r[1] for r in wb.worksheets[1].iter_rows(min_row=2, values_only=True)}
        else:
            zf = zipfile.ZipFile(io.BytesIO(data))
            sheets = {n: list(csv.reader(io.StringIO(zf.read(n).decode("utf-8-sig")))) for n in zf.namelist()}
            keys = sorted(r[2] for r in sheets["Sales order.csv"][1:])
            line_keys = {r[1] for r in sheets["Order lines.csv"][1:]}
        assert keys == ["SO-000001", "SO-000002"], fmt
        assert line_keys == {"SO-000001", "SO-000002"}, fmt  # their lines only
    # the list's filters hold too
    data = export(d, sales, "xlsx", query=ListQuery(filters=(Filter("order_no", "eq", "SO-000004"),)))
    assert [r[2] for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=2, values_only=True)] == ["SO-000004"]
    d.db.dispose()


HIDING = """\
flow: hires
title: Hires
roles: {clerk: Clerk}
record_title: "{{ name }}"
fields:
  name: {type: text, index: true}
  salary: {type: money, currency: EUR, index: true}
  codename: {type: text}
states:
  open: {owner: clerk, edit: [name, codename, salary]}
  sealed: {owner: clerk, hide: [salary, codename]}
  done: {final: true}
transitions:
  seal: {from: open, to: sealed, by: clerk}
  close: {from: sealed, to: done, by: clerk}
"""


def test_fields_hidden_in_a_records_state_are_empty_cells(database_url: str) -> None:
    w = Evolving(database_url, HIDING)
    w.create({"name": "Ann", "codename": "falcon", "salary": "1000"})
    w.create({"name": "Cid", "codename": "kestrel", "salary": "2000"}, "seal")
    from engine.transfer.export import export_chunks
    from engine.transfer.list_export import ListExport

    live = w.registry.get("hires")
    for fmt in ("xlsx", "csv"):
        chunks, _, _ = export_chunks(ListExport(w.db, w.records, live, w.actor, ListQuery(sort="id"), "en", live.flow.timezone), fmt)  # type: ignore[arg-type]
        data = b"".join(chunks)
        if fmt == "xlsx":
            rows = [list(r) for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)]
        else:
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        flat = " ".join(str(c) for r in rows for c in r)
        assert "kestrel" not in flat and "2000" not in flat, fmt
        assert "falcon" in flat and "1000" in flat, fmt
    w.close()
