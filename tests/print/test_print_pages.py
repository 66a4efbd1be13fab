"""The print button, the print view and the PDF over HTTP (pages and API); visibility holds in each."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from engine.people.users import load_actor
from tests.print.flows import SLIP, WITH_TEMPLATE, lines
from tests.print.helpers import pdf_pages
from tests.ui.live import make_app, sign_in

BROKEN = "<p>{{ customer }}</p>{{ ('a' * 99999) * 99999 }}"  # loads, but fails on every record (a limit)


def print_app(tmp: Path) -> FastAPI:
    (tmp / "flows").mkdir(parents=True, exist_ok=True)
    (tmp / "flows" / "print_order.slip.html").write_text(SLIP, encoding="utf-8")
    (tmp / "flows" / "print_order.broken.html").write_text(BROKEN, encoding="utf-8")
    text = WITH_TEMPLATE + "  - {name: broken, title: Broken, template: print_order.broken.html, for: [clerk]}\n"
    return make_app(tmp, flow_text=text)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    a = print_app(Path(tmp_path_factory.mktemp("print_pages")))
    yield a
    a.state.db.dispose()


def new_order(app: FastAPI, **values: Any) -> Any:
    data = {"order_no": "SO-100001", "customer": "上海华东机电", "lines": lines(4), "margin_note": "MARGIN-77"}
    data.update(values)
    return app.state.api.records.create("print_order", load_actor(app.state.db, username="sales1"), data)


def submit(app: FastAPI, rec: Any) -> Any:
    return app.state.api.records.transition("print_order", rec.id, "submit", load_actor(app.state.db, username="sales1"),
                                            expected_version=rec.version)


def test_the_record_page_offers_the_layouts_the_reader_may_print(app: FastAPI) -> None:
    rec = new_order(app)
    client, _ = sign_in(app, "sales1")
    page = client.get(f"/records/print_order/{rec.id}").text
    links = re.findall(r'<a class="button print-button" id="print-(\w+)" href="([^"]+)">([^<]*)</a>', page)
    assert [(name, href) for name, href, _label in links] == [
        ("default", f"/records/print_order/{rec.id}/print/default"),
        ("order_confirmation", f"/records/print_order/{rec.id}/print/order_confirmation"),
        ("slip", f"/records/print_order/{rec.id}/print/slip"),
    ]  # finance_sheet is for finance, in state done
    assert [label for *_x, label in links] == ["Print", "Order confirmation", "Slip"]
    zh, _ = sign_in(app, "sales1", lang="zh-CN")
    assert "订单确认书</a>" in zh.get(f"/records/print_order/{rec.id}").text


def test_the_print_view_links_its_pdf_and_stylesheet(app: FastAPI) -> None:
    rec = new_order(app, order_no="SO-100002")
    client, _ = sign_in(app, "sales1")
    res = client.get(f"/records/print_order/{rec.id}/print/order_confirmation")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert f'href="/records/print_order/{rec.id}/print/order_confirmation.pdf" id="print-pdf" download>Download PDF' in html
    assert 'href="/print/style/en.css"' in html and "<style>" not in html  # the pages' CSP: no inline style
    assert "SO-100002" in html and "Order confirmation" in html and "MARGIN-77" in html
    css = client.get("/print/style/en.css")
    assert css.status_code == 200 and '"Page " counter(page) " of " counter(pages)' in css.text
    pdf = client.get(f"/records/print_order/{rec.id}/print/order_confirmation.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f"print_order-{rec.id}-order_confirmation.pdf" in pdf.headers["content-disposition"]
    text = pdf_pages(pdf.content)[0]
    assert "SO-100002" in text and "Page 1 of 1" in text and "Order confirmation" in text


def test_an_invisible_record_and_a_layout_not_for_the_reader_are_404(app: FastAPI) -> None:
    rec = new_order(app, order_no="SO-100003")
    finance, _ = sign_in(app, "finance1")
    for path in (f"/records/print_order/{rec.id}/print/default", f"/records/print_order/{rec.id}/print/default.pdf",
                 f"/records/print_order/{rec.id}/print/finance_sheet.pdf"):
        res = finance.get(path)
        assert res.status_code == 404 and "SO-100003" not in res.text
    sales, _ = sign_in(app, "sales1")
    assert sales.get(f"/records/print_order/{rec.id}/print/finance_sheet").status_code == 404
    assert sales.get(f"/records/print_order/{rec.id}/print/nothing.pdf").status_code == 404
    assert sales.get(f"/records/print_order/{rec.id + 999}/print/default.pdf").status_code == 404


def test_a_template_that_fails_says_so_in_words_on_the_page_and_in_the_api(app: FastAPI) -> None:
    rec = submit(app, new_order(app, order_no="SO-100006"))
    clerk, _ = sign_in(app, "clerk1")
    for path in (f"/records/print_order/{rec.id}/print/broken", f"/records/print_order/{rec.id}/print/broken.pdf"):
        res = clerk.get(path)
        assert res.status_code == 500 and "This print layout has a mistake" in res.text and "99999" not in res.text
    zh, _ = sign_in(app, "clerk1", lang="zh-CN")
    assert "无法生成打印件" in zh.get(f"/records/print_order/{rec.id}/print/broken").text
    api = clerk.get(f"/api/flows/print_order/records/{rec.id}/print/broken.pdf")
    assert api.status_code == 500 and api.json()["code"] == "print_failed"


def test_fields_hidden_in_the_state_are_not_printed_on_any_route(app: FastAPI) -> None:
    rec = submit(app, new_order(app, order_no="SO-100004", margin_note="SECRET-MARGIN"))
    clerk, _ = sign_in(app, "clerk1")
    for name in ("default", "slip"):
        html = clerk.get(f"/records/print_order/{rec.id}/print/{name}").text
        assert "SO-100004" in html and "SECRET-MARGIN" not in html
        pdf = clerk.get(f"/records/print_order/{rec.id}/print/{name}.pdf")
        assert pdf.status_code == 200 and "SECRET-MARGIN" not in "\n".join(pdf_pages(pdf.content))


def test_the_api_lists_layouts_and_serves_the_pdf(app: FastAPI) -> None:
    rec = new_order(app, order_no="SO-100005")
    sales, _ = sign_in(app, "sales1")
    listed = sales.get(f"/api/flows/print_order/records/{rec.id}/print", headers={"Accept-Language": "en"})
    assert listed.status_code == 200, listed.text
    assert [(p["name"], p["title"]) for p in listed.json()] == [
        ("default", "Sales order"), ("order_confirmation", "Order confirmation"), ("slip", "Slip")]
    pdf = sales.get(f"/api/flows/print_order/records/{rec.id}/print/order_confirmation.pdf?lang=zh-CN")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "订单确认书" in pdf_pages(pdf.content)[0]
    finance, _ = sign_in(app, "finance1")
    assert finance.get(f"/api/flows/print_order/records/{rec.id}/print/order_confirmation.pdf").status_code == 404
    assert finance.get(f"/api/flows/print_order/records/{rec.id}/print").status_code == 404
