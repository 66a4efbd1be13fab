"""References on the pages: the picker's options, the link to the target, the lookup, the mark of a fetched
value whose source changed with its re-fetch button, and what refers to a customer."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from engine.people.users import load_actor
from tests.references.helpers import set_customer
from tests.ui.live import PASSWORD


def sign_in(app: Any, username: str) -> tuple[Any, str]:
    """A signed-in client and its CSRF token, read from the new-order form (the home page lists flows by
    title, which is the i18n helper's to show for titles in several languages)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, headers={"Accept-Language": "en"})
    token = re.search(r'name="pre_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    res = client.post("/login", data={"username": username, "password": PASSWORD, "pre_token": token, "next": "/inbox"},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/records/sales_order/new").text)
    return client, found.group(1) if found else ""  # "": someone who may not create orders (only reads here)


def _engine(app: Any, user: str) -> tuple[Any, Any]:
    return app.state.api, load_actor(app.state.db, username=user)


def _customer(app: Any, name: str, city: str = "Shanghai") -> Any:
    svc, sales = _engine(app, "sales1")
    return svc.access.create("customer", sales, {"name": name, "city": city})


def test_the_picker_lists_matching_customers(desk_app: Any) -> None:
    _customer(desk_app, "ACME Trading")
    _customer(desk_app, "Beta <b>Corp</b>")
    client, _ = sign_in(desk_app, "sales1")
    form = client.get("/records/sales_order/new")
    assert 'hx-get="/records/sales_order/pick/customer"' in form.text
    res = client.get("/records/sales_order/pick/customer", params={"q": "acm"})
    assert res.status_code == 200
    assert re.findall(r'data-title="([^"]*)"', res.text) == ["ACME Trading"]
    res = client.get("/records/sales_order/pick/customer", params={"q": "corp"})
    assert "Beta &lt;b&gt;Corp&lt;/b&gt;" in res.text and "<b>Corp" not in res.text
    agent, _ = sign_in(desk_app, "agent1")
    assert "data-id" not in agent.get("/records/sales_order/pick/customer", params={"q": "acm"}).text


def test_create_with_a_hidden_customer_shows_the_one_answer(desk_app: Any) -> None:
    acme = _customer(desk_app, "ACME Trading")
    client, csrf = sign_in(desk_app, "agent1")
    res = client.post("/records/sales_order/new", data={"csrf_token": csrf, "order_no": "SO-000001",
                                                         "customer": str(acme.id)})
    assert res.status_code == 422
    assert "there is no such 客户" in res.text or "没有这个客户" in res.text
    assert "ACME" not in res.text


def test_the_order_page_links_the_customer_shows_the_city_and_marks_a_changed_credit_limit(desk_app: Any) -> None:
    acme = _customer(desk_app, "ACME Trading", city="Shanghai")
    set_customer(desk_app.state.db, desk_app.state.api.registry, acme.id, credit_limit=Decimal("5000"))
    svc, sales = _engine(desk_app, "sales1")
    order = svc.access.create("sales_order", sales, {"order_no": "SO-000001", "customer": acme.id})
    client, csrf = sign_in(desk_app, "sales1")
    page = client.get(f"/records/sales_order/{order.id}").text
    assert f'<a class="ref-link" href="/records/customer/{acme.id}">ACME Trading</a>' in page
    assert "Shanghai" in page
    assert 'id="f-credit_limit-fetch"' not in page
    set_customer(desk_app.state.db, svc.registry, acme.id, credit_limit=Decimal("8000"))
    page = client.get(f"/records/sales_order/{order.id}").text
    assert 'id="f-credit_limit-fetch"' in page and "8,000.00" in page or "8000.00" in page
    action = f"/records/sales_order/{order.id}/refetch/credit_limit"
    assert f'formaction="{action}"' in page
    res = client.post(action, data={"csrf_token": csrf, "version": str(order.version)}, follow_redirects=False)
    assert res.status_code == 303
    assert svc.records.get("sales_order", order.id).values["credit_limit"] == Decimal("8000.00")
    page = client.get(f"/records/sales_order/{order.id}").text
    assert 'id="f-credit_limit-fetch"' not in page
    # an old version: refused like any stale edit, nothing changes
    set_customer(desk_app.state.db, svc.registry, acme.id, credit_limit=Decimal("9000"))
    res = client.post(action, data={"csrf_token": csrf, "version": str(order.version)}, follow_redirects=False)
    assert res.status_code == 409
    assert svc.records.get("sales_order", order.id).values["credit_limit"] == Decimal("8000.00")


def test_the_customer_page_lists_its_orders_for_those_who_may_see_them(desk_app: Any) -> None:
    acme = _customer(desk_app, "ACME Trading")
    svc, sales = _engine(desk_app, "sales1")
    svc.access.create("sales_order", sales, {"order_no": "SO-000001", "customer": acme.id})
    client, _ = sign_in(desk_app, "sales1")
    page = client.get(f"/records/customer/{acme.id}").text
    assert re.search(r'<a href="/records/sales_order/\d+">SO-000001</a>', page)
    admin, _ = sign_in(desk_app, "admin")
    assert "SO-000001" in admin.get(f"/records/customer/{acme.id}").text
