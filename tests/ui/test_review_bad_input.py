"""Bad input on the pages ends in a clear 4xx page, never a 500."""
from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.ui.live import new_order, sign_in

HUGE = str(2**63)  # one past SQLite's INTEGER range


@pytest.mark.parametrize("method, url", [
    ("get", f"/records/sales_order/{HUGE}"),
    ("get", f"/records/sales_order/{10**30}"),
    ("post", f"/records/sales_order/{HUGE}"),
    ("post", f"/records/sales_order/{HUGE}/preview"),
    ("post", f"/records/sales_order/{HUGE}/reassign"),
    ("post", f"/records/sales_order/{HUGE}/claim"),
])
def test_record_ids_past_sqlite_range_are_not_found(app: FastAPI, method: str, url: str) -> None:
    client, csrf = sign_in(app, "admin")
    r = client.get(url) if method == "get" else client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("url, data, status", [
    ("/notifications/read", {"id": "²"}, 303),  # a digit to str.isdigit, not to int()
    ("/records/sales_order/{rec}", {"version": "²", "action": "save"}, 409),
    ("/records/sales_order/{rec}/reassign", {"assignee": "²"}, 404),
])
def test_non_decimal_digits_in_forms_are_refused(app: FastAPI, url: str, data: dict[str, str], status: int) -> None:
    rec = new_order(app)
    client, csrf = sign_in(app, "admin")
    r = client.post(url.format(rec=rec.id), data={"csrf_token": csrf, **data}, follow_redirects=False)
    assert r.status_code == status, r.text


def test_pages_with_one_button_forms_still_draw_them(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    page = client.get("/notifications")
    assert page.status_code == 200
    assert '<input type="hidden" name="all" value="1">' in page.text and f'value="{csrf}"' in page.text
