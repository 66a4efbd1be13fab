"""Line items on the pages over HTTP: the grid posts rows, errors land in their cell with the typing kept,
the summary names the row and column in words, history shows rows, the live preview computes amounts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.tables.flows import ORDER
from tests.ui.live import make_app, sign_in


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    a = make_app(Path(tmp_path_factory.mktemp("table_pages")), flow_text=ORDER)
    yield a
    a.state.db.dispose()


def _form(csrf: str, **cells: str) -> dict[str, Any]:
    return {"csrf_token": csrf, "order_no": "SO-1", "lines": "rows", **cells}


ROWS = {"lines.0.product": "P-1", "lines.0.quantity": "2", "lines.0.unit_price": "10.5",
        "lines.1.product": "", "lines.1.quantity": "", "lines.1.unit_price": "",  # a blank row: not a row
        "lines.2.product": "P-2", "lines.2.quantity": "3", "lines.2.unit_price": "1"}


def test_a_bad_cell_is_shown_in_place_with_what_was_typed(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/new", data=_form(csrf, **{**ROWS, "lines.2.quantity": "three"}))
    assert res.status_code == 422
    # The blank row was dropped: the bad row is the second one, its input keeps "three".
    assert 'id="f-lines.1.quantity" name="lines.1.quantity"' in res.text and 'value="three"' in res.text
    assert 'id="f-lines.1.quantity-error">must be a whole number' in res.text
    assert '<a href="#f-lines.1.quantity">Order lines · row 2 · Quantity</a>' in res.text
    assert "lines[1]" not in res.text  # no code-like key for people


def test_create_edit_and_history_through_the_form(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/new", data=_form(csrf, **ROWS), follow_redirects=False)
    assert res.status_code == 303, res.text
    url = res.headers["location"].split("?")[0]
    page = client.get(url).text
    assert 'id="c-lines-0-amount" class="value computed" aria-live="polite">21.00 CNY' in page
    assert "24.00 CNY" in page  # the total
    edit = {"csrf_token": csrf, "version": "1", "action": "save", "order_no": "SO-1", "lines": "rows",
            "lines.0.product": "P-1", "lines.0.quantity": "5", "lines.0.unit_price": "10.5"}
    assert client.post(url, data=edit, follow_redirects=False).status_code == 303
    page = client.get(url).text
    assert "52.50 CNY" in page
    assert "Order lines · row 1 · Quantity" in page and "Order lines · row 2 removed" in page


def test_too_many_rows_are_refused_with_a_message_for_people(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    cells = {f"lines.{i}.{c}": v for i in range(6) for c, v in (("product", "P"), ("quantity", "1"), ("unit_price", "1"))}
    res = client.post("/records/sales_order/new", data=_form(csrf, **cells))
    assert res.status_code == 422 and "may have at most 5 rows" in res.text


def test_the_live_preview_computes_row_amounts_and_the_total(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/preview", data=_form(csrf, **ROWS))
    assert res.status_code == 200
    assert 'id="c-lines-0-amount" class="value computed" aria-live="polite" hx-swap-oob="true">21.00 CNY' in res.text
    assert 'id="c-lines-1-amount"' in res.text and ">3.00 CNY<" in res.text
    assert 'id="c-total"' in res.text and "24.00 CNY" in res.text


def test_rows_are_read_only_where_the_table_is_not_editable(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/new", data=_form(csrf, **ROWS), follow_redirects=False)
    url = res.headers["location"].split("?")[0]
    move = {"csrf_token": csrf, "version": "1", "action": "t:submit"}
    assert client.post(url, data=move, follow_redirects=False).status_code == 303
    clerk, clerk_csrf = sign_in(app, "clerk1")
    page = clerk.get(url).text
    assert 'name="lines.0.quantity"' not in page and "data-add-row" not in page and "P-1" in page
    # A crafted post of rows is not taken: the rows stay as they were.
    crafted = {"csrf_token": clerk_csrf, "version": "2", "action": "save", "note": "ok", "lines": "rows",
               "lines.0.product": "X", "lines.0.quantity": "9", "lines.0.unit_price": "9"}
    res = clerk.post(url, data=crafted, follow_redirects=False)
    assert res.status_code in (303, 403)
    assert "21.00 CNY" in clerk.get(url).text


def test_row_errors_and_the_grid_read_in_chinese(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    client.cookies.set("rf_lang", "zh-CN")
    cells = {f"lines.{i}.{c}": v for i in range(6) for c, v in (("product", "P"), ("quantity", "1"), ("unit_price", "1"))}
    res = client.post("/records/sales_order/new", data=_form(csrf, **cells))
    assert res.status_code == 422 and "最多 5 行" in res.text
    res = client.post("/records/sales_order/new", data=_form(csrf, **{**ROWS, "lines.2.quantity": "0"}))
    assert "不能小于 1" in res.text and "第 2 行" in res.text and "添加一行" in res.text
