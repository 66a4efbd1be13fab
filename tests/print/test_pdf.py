"""Printed records as PDF (SQLite and PostgreSQL): paged line items, subtotals, page numbers, Chinese text."""
from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.printing.service import layouts_for, print_html, print_pdf
from engine.records.errors import NotFound
from tests.print.flows import PAGED_SLIP, SLIP, WITH_TEMPLATE, lines
from tests.print.helpers import Desk, pdf_pages

ROW = re.compile(r"^(\d+) 产品-\d{3} Widget \d+ [\d,.]+ CNY [\d,.]+ CNY$", re.MULTILINE)


def _amount(row: dict[str, object]) -> Decimal:
    return int(str(row["quantity"])) * Decimal(str(row["unit_price"]))


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _assert_carried_forward(pages: list[str], rows: list[dict[str, object]]) -> None:
    """Every row printed once, in order; each page after the first brings forward what the page before carried;
    each page but the last carries the sum so far; the last has the grand total."""
    n = len(pages)
    assert n > 1
    seen: list[int] = []
    carried = Decimal(0)
    for i, text in enumerate(pages):
        on_page = [int(m) - 1 for m in ROW.findall(text)]
        seen += on_page
        if i > 0 and on_page:  # brought forward at the top: what the page before carried
            brought = re.search(r"承上页 \d+ ([\d,.]+) CNY", text)
            assert brought and _money(brought.group(1)) == carried
        carried += sum((_amount(rows[k]) for k in on_page), Decimal(0))
        if i < n - 1 and on_page:  # carried forward at the bottom: the sum of the rows so far
            found = re.search(r"转下页 \d+ ([\d,.]+) CNY", text)
            assert found and _money(found.group(1)) == carried, (i, found)
    assert seen == list(range(len(rows)))  # every row once, in order
    page1 = sum((_amount(rows[int(m) - 1]) for m in ROW.findall(pages[0])), Decimal(0))
    assert _money(re.search(r"转下页 \d+ ([\d,.]+) CNY", pages[0]).group(1)) == page1  # type: ignore[union-attr]
    total = sum((_amount(r) for r in rows), Decimal(0))
    grand = re.search(r"合计 \d+ ([\d,.]+) CNY", pages[-1])
    assert grand and _money(grand.group(1)) == total
    assert "转下页" not in pages[-1]


def test_120_lines_break_across_pages_with_carried_forward_subtotals(desk: Desk) -> None:
    rows = lines(120)
    rec = desk.create({"order_no": "SO-000001", "customer": "上海华东机电有限公司", "lines": rows, "margin_note": "毛利 12%"})
    pages = pdf_pages(print_pdf(desk.access, "print_order", rec.id, desk.sales, "order_confirmation"))
    n = len(pages)
    for i, text in enumerate(pages, 1):
        assert f"第 {i} 页 / 共 {n} 页" in text  # the footer on every page
        assert "SO-000001 · 上海华东机电有限公司" in text  # the running header
    first = pages[0]
    assert "订单确认书" in first and "销售订单" in first and "订单号" in first and "毛利 12%" in first
    _assert_carried_forward(pages, rows)


def test_a_flow_template_gets_the_paged_line_table_with_subtotals(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "print_order.slip.html").write_text(PAGED_SLIP, encoding="utf-8")
    desk = Desk(database_url, WITH_TEMPLATE, folder=tmp_path)
    try:
        rows = lines(120)
        rec = desk.create({"order_no": "SO-000009", "customer": "宁波港务", "lines": rows})
        pages = pdf_pages(print_pdf(desk.access, "print_order", rec.id, desk.sales, "slip"))
        assert "Our own slip: SO-000009 · 宁波港务" in pages[0]
        assert "Thank you" in pages[-1]  # the template's own text after the table
        _assert_carried_forward(pages, rows)
        html = print_html(desk.access, "print_order", rec.id, desk.sales, "slip")
        assert html.count('class="lines"') == 1  # the print view (no pages): the table whole
        assert 'data-missing=""' in html  # a name that is no table field prints nothing
    finally:
        desk.close()


def test_the_chinese_font_is_embedded(desk: Desk) -> None:
    rec = desk.create({"order_no": "SO-000002", "customer": "杭州西湖贸易", "lines": lines(2)})
    reader = PdfReader(io.BytesIO(print_pdf(desk.access, "print_order", rec.id, desk.sales, "order_confirmation")))
    fonts = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"] if "/DescendantFonts" in font \
            else font.get("/FontDescriptor")
        embedded = descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        fonts.append((str(font["/BaseFont"]), embedded))
    assert any("CJK" in name and embedded for name, embedded in fonts), fonts
    assert "杭州西湖贸易" in reader.pages[0].extract_text()


def test_an_english_reader_gets_english_words_and_page_numbers(desk: Desk) -> None:
    rec = desk.create({"order_no": "SO-000003", "customer": "ACME", "lines": lines(3)})
    pages = pdf_pages(print_pdf(desk.access, "print_order", rec.id, desk.sales, "order_confirmation", "en"))
    assert "Page 1 of 1" in pages[0] and "Order confirmation" in pages[0] and "Order no." in pages[0]
    assert "Total" in pages[0] and "订单确认书" not in pages[0]


def test_hidden_fields_are_never_printed(desk: Desk) -> None:
    rec = desk.create({"order_no": "SO-000004", "customer": "ACME", "lines": lines(2), "margin_note": "MARGIN-SECRET-42"})
    draft_html = print_html(desk.access, "print_order", rec.id, desk.sales, "order_confirmation")
    assert "MARGIN-SECRET-42" in draft_html  # shown in draft
    rec = desk.move(rec, "submit", desk.sales)  # review hides margin_note
    html = print_html(desk.access, "print_order", rec.id, desk.clerk, "order_confirmation")
    pdf = "\n".join(pdf_pages(print_pdf(desk.access, "print_order", rec.id, desk.clerk, "order_confirmation")))
    for printed in (html, pdf):
        assert "MARGIN-SECRET-42" not in printed and "毛利说明" not in printed
        assert "SO-000004" in printed


def test_a_record_the_reader_cannot_see_is_not_found(desk: Desk) -> None:
    rec = desk.create({"order_no": "SO-000005", "customer": "ACME", "lines": lines(1)})
    with pytest.raises(NotFound):
        print_pdf(desk.access, "print_order", rec.id, desk.finance, "order_confirmation")
    with pytest.raises(NotFound):
        print_html(desk.access, "print_order", rec.id + 1000, desk.sales, "order_confirmation")
    with pytest.raises(NotFound):
        print_html(desk.access, "print_order", rec.id, desk.sales, "no_such_layout")


def test_layouts_follow_for_and_states(desk: Desk) -> None:
    rec = desk.create({"order_no": "SO-000006", "customer": "ACME", "lines": lines(1)})
    flow = desk.registry.get("print_order").flow
    assert [p.name for p in layouts_for(flow, desk.sales, rec.state)] == ["default", "order_confirmation"]
    assert [p.name for p in layouts_for(flow, desk.finance, "done")] == ["default", "order_confirmation", "finance_sheet"]
    with pytest.raises(NotFound):  # sales may see the record, but finance_sheet is for finance
        print_html(desk.access, "print_order", rec.id, desk.sales, "finance_sheet")
    rec = desk.move(desk.move(rec, "submit", desk.sales), "approve", desk.clerk)
    html = print_html(desk.access, "print_order", rec.id, desk.clerk, "default")
    # the approvals block: who moved the record at which stage
    assert "审批与签字" in html and "提交审核" in html and "审核通过" in html and "Cleo" in html and "Sam 王" in html


def test_a_flow_template_prints_the_visible_values(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "print_order.slip.html").write_text(SLIP, encoding="utf-8")
    desk = Desk(database_url, WITH_TEMPLATE, folder=tmp_path)
    try:
        rec = desk.create({"order_no": "SO-000007", "customer": "宁波港务", "lines": lines(3), "margin_note": "SECRET-M"})
        html = print_html(desk.access, "print_order", rec.id, desk.sales, "slip")
        assert "<h1>Slip: SO-000007 · 宁波港务</h1>" in html and html.count('class="line"') == 3
        assert "SECRET-M" in html  # visible in draft
        rec = desk.move(rec, "submit", desk.sales)
        html = print_html(desk.access, "print_order", rec.id, desk.clerk, "slip")
        assert "SECRET-M" not in html and 'class="margin"' not in html
        pages = pdf_pages(print_pdf(desk.access, "print_order", rec.id, desk.clerk, "slip"))
        assert "宁波港务" in pages[0] and "第 1 页 / 共 1 页" in pages[0]
        # the template is stored with the revision: the server reloads it without the file
        (tmp_path / "print_order.slip.html").unlink()
        from engine.storage.registry import FlowRegistry

        fresh = FlowRegistry()
        fresh.refresh(desk.db)
        assert fresh.get("print_order").flow.print_templates == {"print_order.slip.html": SLIP}
    finally:
        desk.close()
