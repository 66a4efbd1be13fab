"""The pages over HTTP (no browser): sign-in, CSRF, forms, bad input, escaping, permissions."""
from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.people.users import load_actor
from tests.ui.live import PASSWORD, move, new_order, sign_in

SCRIPT = "<script>alert('x')</script>"


def _pre_token(client: TestClient) -> str:
    return re.search(r'name="pre_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]


# --- sign-in, sessions, CSRF -------------------------------------------------------------------------

def test_pages_need_a_session(app: FastAPI) -> None:
    client = TestClient(app)
    res = client.get("/lists/sales_order", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login?next=/lists/sales_order")
    htmx = client.post("/records/sales_order/1/claim", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")


def test_sign_in_sets_an_httponly_cookie_and_sign_out_ends_the_session(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    cookie = client.cookies.get("relayflow_session")
    assert cookie
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    stale = TestClient(app, cookies={"relayflow_session": cookie})
    assert stale.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_then_throttled(app: FastAPI) -> None:
    client = TestClient(app)
    for _ in range(5):
        res = client.post("/login", data={"username": "finance1", "password": "nope", "pre_token": _pre_token(client)})
        assert res.status_code == 401 and "Wrong user name or password." in res.text
    res = client.post("/login", data={"username": "finance1", "password": PASSWORD, "pre_token": _pre_token(client)})
    assert res.status_code == 429 and "Too many failed sign-ins" in res.text
    assert "relayflow_session" not in res.cookies


def test_sign_in_form_needs_its_token(app: FastAPI) -> None:
    client = TestClient(app)
    res = client.post("/login", data={"username": "sales1", "password": PASSWORD, "pre_token": "forged"})
    assert res.status_code == 403 and "relayflow_session" not in res.cookies


def test_next_never_leaves_the_site(app: FastAPI) -> None:
    client = TestClient(app)
    res = client.post("/login", data={"username": "sales1", "password": PASSWORD, "pre_token": _pre_token(client),
                                      "next": "//evil.example/"}, follow_redirects=False)
    assert res.headers["location"] == "/"


def test_state_changing_requests_need_the_csrf_token(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    data = {"customer": "No token", "product_model": "M", "quantity": "1", "delivery_date": "2026-12-01"}
    missing = client.post("/records/sales_order/new", data=data)
    assert missing.status_code == 403 and "The form has expired" in missing.text
    wrong = client.post("/records/sales_order/new", data={**data, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    by_header = client.post("/records/sales_order/new", data=data, headers={"X-CSRF-Token": csrf},
                            follow_redirects=False)
    assert by_header.status_code == 303


# --- forms and bad input -----------------------------------------------------------------------------

def test_wrong_types_and_overlong_text_are_shown_inline_with_the_input_kept(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/new", data={
        "csrf_token": csrf, "customer": "C" * 101, "product_model": "M-9", "quantity": "three",
        "unit_price": "1.234", "delivery_date": "tomorrow", "priority": "ultra"})
    assert res.status_code == 422
    text = res.text
    assert "must be at most 100 characters long (has 101)" in text
    assert "must be a whole number (&#39;three&#39; is not a number)" in text
    assert "must have at most 2 decimal places" in text
    assert "must be a date like 2026-10-01" in text
    assert "is not one of the choices" in text
    assert 'value="three"' in text and 'value="1.234"' in text and 'value="M-9"' in text
    assert 'id="f-quantity" name="quantity" required aria-required="true" aria-invalid="true"' in text
    assert '<label for="f-quantity">' in text


def test_computed_fields_preview_without_saving(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/preview", data={"quantity": "3", "unit_price": "2.5"},
                      headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert res.status_code == 200
    assert re.search(r'<output id="c-amount"[^>]*hx-swap-oob="true">7\.50</output>', res.text)
    junk = client.post("/records/sales_order/preview", data={"quantity": "x"}, headers={"X-CSRF-Token": csrf})
    assert junk.status_code == 200 and "—" in junk.text


def test_script_tags_are_escaped_in_lists_inbox_record_and_history(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    res = client.post("/records/sales_order/new", data={
        "csrf_token": csrf, "customer": SCRIPT, "product_model": "<b>bold</b>", "quantity": "1",
        "unit_price": "5", "delivery_date": "2026-12-01", "special_requirements": SCRIPT},
        follow_redirects=False)
    assert res.status_code == 303
    url = res.headers["location"].split("?")[0]
    client.post(url, data={"csrf_token": csrf, "version": "1", "action": "t:cancel", "comment": SCRIPT,
                           "confirmed": "yes"})
    for page in ("/", "/lists/sales_order", url, "/lists/sales_order?q=script"):
        text = client.get(page).text
        assert "<script>alert" not in text and "<b>bold" not in text, page
    record = client.get(url).text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in record
    assert record.count("&lt;script&gt;") >= 4  # title, field, history diff, comment


def test_stale_form_after_someone_else_moved_the_record(app: FastAPI) -> None:
    rec = new_order(app)
    client, csrf = sign_in(app, "sales1")
    assert client.get(f"/records/sales_order/{rec.id}").status_code == 200
    move(app, rec.id, "submit", "sales1")  # moved on in another tab
    res = client.post(f"/records/sales_order/{rec.id}", data={
        "csrf_token": csrf, "version": str(rec.version), "action": "save", "customer": "Changed"})
    assert res.status_code == 409
    assert "Someone else changed this record meanwhile" in res.text
    assert app.state.api.records.get("sales_order", rec.id).values["customer"] == "ACME"


def test_crafted_posts_editing_read_only_fields_are_refused(app: FastAPI) -> None:
    rec = new_order(app)
    move(app, rec.id, "submit", "sales1")
    sales, s_csrf = sign_in(app, "sales1")
    res = sales.post(f"/records/sales_order/{rec.id}", data={
        "csrf_token": s_csrf, "version": "2", "action": "save", "customer": "Hacked"})
    assert res.status_code == 403 and "Not allowed" in res.text
    res = sales.post("/records/sales_order/new", data={
        "csrf_token": s_csrf, "customer": "A", "product_model": "B", "quantity": "1", "delivery_date": "2026-12-01",
        "amount": "1"})
    assert res.status_code == 403
    draft = new_order(app)
    res = sales.post(f"/records/sales_order/{draft.id}", data={
        "csrf_token": s_csrf, "version": "1", "action": "save", "customer": "OK", "planned_finish": "2026-12-01"})
    assert res.status_code == 403
    assert app.state.api.records.get("sales_order", draft.id).values["customer"] == "ACME"


def test_no_button_without_the_role_and_a_crafted_transition_is_403(app: FastAPI) -> None:
    rec = new_order(app, quantity=1000, unit_price="200.00")
    move(app, rec.id, "submit", "sales1")
    manager, m_csrf = sign_in(app, "manager1")
    page = manager.get(f"/records/sales_order/{rec.id}").text
    assert 'value="t:approve_large"' in page
    assert 'value="t:approve"' not in page and 'value="t:send_back"' in page
    res = manager.post(f"/records/sales_order/{rec.id}", data={"csrf_token": m_csrf, "version": "2",
                                                               "action": "t:approve"})
    assert res.status_code == 403
    clerk, c_csrf = sign_in(app, "clerk1")
    page = clerk.get(f"/records/sales_order/{rec.id}").text
    assert re.search(r'<button type="button" disabled aria-disabled="true" aria-describedby="why-approve">', page)
    assert "not possible with these values of 金额(元)" in page and "amount &lt;" not in page
    res = clerk.post(f"/records/sales_order/{rec.id}", data={"csrf_token": c_csrf, "version": "2",
                                                             "action": "t:approve"})
    assert res.status_code == 409 and "not possible with these values of 金额(元)" in res.text
    assert "amount &lt;" not in res.text


def test_comment_required_and_confirmation(app: FastAPI) -> None:
    rec = new_order(app)
    client, csrf = sign_in(app, "sales1")
    url = f"/records/sales_order/{rec.id}"
    ask = client.post(url, data={"csrf_token": csrf, "version": "1", "action": "t:cancel", "comment": "why not"})
    assert ask.status_code == 200 and 'name="confirmed" value="yes"' in ask.text and "why not" in ask.text
    res = client.post(url, data={"csrf_token": csrf, "version": "1", "action": "t:cancel", "confirmed": "yes"})
    assert res.status_code == 422 and "needs a comment" in res.text and 'id="comment"' in res.text
    done = client.post(url, data={"csrf_token": csrf, "version": "1", "action": "t:cancel", "confirmed": "yes",
                                  "comment": "customer withdrew"}, follow_redirects=False)
    assert done.status_code == 303
    assert app.state.api.records.get("sales_order", rec.id).state == "cancelled"


def test_unknown_and_invisible_records_are_404_pages(app: FastAPI) -> None:
    rec = new_order(app)
    client, _ = sign_in(app, "prod1")
    for url in (f"/records/sales_order/{rec.id}", "/records/sales_order/999999", "/records/sales_order/abc",
                "/records/nope/1", "/lists/nope"):
        res = client.get(url)
        assert res.status_code == 404 and "<html" in res.text, url


def test_list_filters_search_and_bad_filter_values(app: FastAPI) -> None:
    new_order(app, customer="Findme Ltd")
    client, _ = sign_in(app, "sales1")
    ok = client.get("/lists/sales_order", params={"q": "findme", "state": "draft", "sort": "-delivery_date"})
    assert ok.status_code == 200 and "Findme Ltd" in ok.text
    assert re.search(r'aria-current="page">Draft|草稿', ok.text)
    bad = client.get("/lists/sales_order", params={"delivery_date.gte": "someday"})
    assert bad.status_code == 422 and "must be a date" in bad.text
    assert client.get("/lists/sales_order", params={"after": "garbage"}).status_code == 422
    assert client.get("/lists/sales_order", params={"sort": "password"}).status_code == 422
    assert client.get("/lists/sales_order", params={"state": "nowhere"}).status_code == 422


def test_keyset_pages_do_not_repeat(app: FastAPI) -> None:
    for i in range(55):
        new_order(app, customer=f"Pager {i:02d}")
    client, _ = sign_in(app, "sales1")
    first = client.get("/lists/sales_order", params={"q": "Pager"}).text
    cursor = re.search(r'href="\?([^"]*after=[^"]*)" rel="next"', first)
    assert cursor
    second = client.get("/lists/sales_order?" + cursor.group(1).replace("&amp;", "&")).text
    names1 = set(re.findall(r"Pager \d\d", first))
    names2 = set(re.findall(r"Pager \d\d", second))
    assert len(names1) == 50 and len(names2) == 5 and not names1 & names2


# --- inbox, claim, reassign --------------------------------------------------------------------------

def test_inbox_claim_and_reassign(app: FastAPI) -> None:
    rec = new_order(app, customer="Queue Co")
    move(app, rec.id, "submit", "sales1")
    move(app, rec.id, "approve", "clerk1")  # production has no `assign`: the role queue
    prod, p_csrf = sign_in(app, "prod1")
    inbox = prod.get("/").text
    assert "Queue Co" in inbox and "Claim" in inbox
    version = app.state.api.records.get("sales_order", rec.id).version
    res = prod.post(f"/records/sales_order/{rec.id}/claim", data={"version": str(version)},
                    headers={"X-CSRF-Token": p_csrf, "HX-Request": "true"})
    assert res.status_code == 200 and "Assigned to me" in res.text
    stale = prod.post(f"/records/sales_order/{rec.id}/claim", data={"version": str(version)},
                      headers={"X-CSRF-Token": p_csrf, "HX-Request": "true"})
    assert stale.status_code == 409
    clerk, c_csrf = sign_in(app, "clerk1")
    assert clerk.post(f"/records/sales_order/{rec.id}/reassign", data={"csrf_token": c_csrf}).status_code == 403
    manager, m_csrf = sign_in(app, "manager1")
    page = manager.get(f"/records/sales_order/{rec.id}").text
    assert "Reassign to" in page
    res = manager.post(f"/records/sales_order/{rec.id}/reassign",
                       data={"csrf_token": m_csrf, "assignee": "", "version": str(version + 1)}, follow_redirects=False)
    assert res.status_code == 303
    rec2 = app.state.api.records.get("sales_order", rec.id)
    assert rec2.assignee_id is None
    history = manager.get(f"/records/sales_order/{rec.id}").text
    assert "Claimed" in history and "Reassigned" in history and "Pat Production" in history
    wrong = manager.post(f"/records/sales_order/{rec.id}/reassign",
                         data={"csrf_token": m_csrf, "assignee": str(load_actor(app.state.db, username="clerk1").id),
                               "version": str(rec2.version)})
    assert wrong.status_code == 422 and "is not an active member" in wrong.text


# --- languages, admin, static -----------------------------------------------------------------------

def test_both_languages(app: FastAPI) -> None:
    zh, _ = sign_in(app, "sales1", lang="zh-CN,zh;q=0.9,en;q=0.5")
    text = zh.get("/").text
    assert '<html lang="zh-CN">' in text and "待办" in text and "退出" in text
    en, _ = sign_in(app, "sales1", lang="en-GB")
    assert "Inbox" in en.get("/").text and "Sign out" in en.get("/").text
    switched = en.get("/lang/zh-CN?next=/lists/sales_order", follow_redirects=False)
    assert switched.headers["location"] == "/lists/sales_order"
    assert "全部" in en.get("/lists/sales_order").text
    en.get("/lang/en")
    assert "All" in en.get("/lists/sales_order").text


def test_admin_pages_and_their_guard(app: FastAPI) -> None:
    admin, csrf = sign_in(app, "admin")
    users = admin.get("/admin/users")
    assert users.status_code == 200 and "Clara Clerk" in users.text
    res = admin.post("/admin/users", data={"csrf_token": csrf, "username": "newbie", "display_name": SCRIPT,
                                           "password": "long-enough-pw", "roles": ["clerk"]}, follow_redirects=False)
    assert res.status_code == 303
    listing = admin.get("/admin/users").text
    assert "<script>alert" not in listing and "&lt;script&gt;" in listing
    short = admin.post("/admin/users", data={"csrf_token": csrf, "username": "x y", "password": "short"})
    assert short.status_code == 422
    assert admin.post("/admin/users/newbie/roles", data={"csrf_token": csrf, "role": "qc"},
                      follow_redirects=False).status_code == 303
    assert "qc" in load_actor(app.state.db, username="newbie").roles
    flows = admin.get("/admin/flows").text
    assert "revision 1" in flows
    flow = admin.get("/admin/flows/sales_order").text
    assert "<svg" in flow and "订单审核" in flow and 'class="yaml"' in flow and "record_title" in flow
    svg = admin.get("/admin/flows/sales_order/diagram.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")
    user, u_csrf = sign_in(app, "sales1")
    assert user.get("/admin/users").status_code == 403
    assert user.get("/admin/flows/sales_order").status_code == 403
    assert user.post("/admin/users", data={"csrf_token": u_csrf, "username": "evil", "password": "x" * 10}
                     ).status_code == 403


def test_static_assets_are_served_by_the_app(app: FastAPI) -> None:
    client = TestClient(app)
    for path in ("/static/vendor/htmx.min.js", "/static/app.css", "/static/diagram.css", "/static/app.js", "/static/pygments.css"):
        assert client.get(path).status_code == 200, path
    page = client.get("/login").text
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
