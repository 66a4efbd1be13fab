"""Flow text in the reader's language: the same records read by a zh-CN reader and an en reader.

The flow (tests/ui/bilingual_flow.py) writes its titles, labels, help, choices,
confirmation and author messages in zh-CN and en; its `language` is zh-CN, so
text written only in Chinese is what an English reader falls back to.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.people.users import load_actor
from tests.ui.bilingual_flow import BILINGUAL_FLOW
from tests.ui.live import PASSWORD, LiveServer, make_app, sign_in

ORDER = {"order_no": "SO-123456", "total": "500.00", "delivery_date": "2026-12-01"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(Path(tmp_path_factory.mktemp("bilingual")), flow_text=BILINGUAL_FLOW)
    yield app
    app.state.db.dispose()


def _create(app: FastAPI, **values: Any) -> Any:
    actor = load_actor(app.state.db, username="sales1")
    return app.state.api.records.create("sales_order", actor, {**ORDER, **values})


def _move(app: FastAPI, rec_id: int, transition: str, username: str) -> Any:
    svc = app.state.api
    current = svc.records.get("sales_order", rec_id)
    return svc.records.transition("sales_order", rec_id, transition, load_actor(app.state.db, username=username),
                                  expected_version=current.version)


def _text(html: str) -> str:
    """What a reader sees: the page without its tags, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _why(html: str, transition: str) -> str:
    found = re.search(rf'<span class="why" id="why-{transition}">(.*?)</span>', html, re.S)
    assert found, f"no reason shown for {transition}"
    return unescape(found.group(1))


def _no_mapping(html: str) -> None:
    assert "{&#39;zh-CN&#39;" not in html and "{'zh-CN'" not in html and "&#39;en&#39;:" not in html


def test_the_record_page_in_each_readers_language(app: FastAPI) -> None:
    rec = _create(app, priority="urgent")
    zh, _ = sign_in(app, "sales1", lang="zh-CN")
    en, _ = sign_in(app, "sales1", lang="en")
    zh_page, en_page = zh.get(f"/records/sales_order/{rec.id}").text, en.get(f"/records/sales_order/{rec.id}").text
    _no_mapping(zh_page)
    _no_mapping(en_page)
    zh_text, en_text = _text(zh_page), _text(en_page)
    for words in ("销售订单", "草稿", "订单号", "订单总额", "优先级", "加急", "普通", "提交审核", "取消订单", "以 R 开头，后接数字"):
        assert words in zh_text, words
    for words in ("Sales order", "Draft", "Order no.", "Order total", "Priority", "Urgent", "Normal", "Submit", "Cancel",
                  "R followed by digits"):
        assert words in en_text, words
    assert "Sales order" not in zh_text and "销售订单" not in en_text
    # `note` is titled in Chinese only: the English reader falls back to the flow's language
    assert "内部备注" in en_text and "内部备注" in zh_text
    # the new-record form, the list and the inbox
    assert "客户下单到发货" in zh.get("/records/sales_order/new").text
    assert "From the customer&#39;s order to delivery" in en.get("/records/sales_order/new").text
    en_list = _text(en.get("/lists/sales_order").text)
    assert "Sales order" in en_list and "Order review" in en_list and "Draft" in en_list
    zh_list = _text(zh.get("/lists/sales_order").text)
    assert "订单审核" in zh_list and "草稿" in zh_list


def test_refusals_name_field_titles_in_the_readers_language(app: FastAPI) -> None:
    rec = _create(app, delivery_date=None)
    zh, _ = sign_in(app, "sales1", lang="zh-CN")
    en, _ = sign_in(app, "sales1", lang="en")
    assert _why(en.get(f"/records/sales_order/{rec.id}").text, "submit") == "fill in first: Promised delivery date"
    assert _why(zh.get(f"/records/sales_order/{rec.id}").text, "submit") == "请先填写：交期"
    # firing it anyway: the banner names the title, never the field id
    en_csrf = re.search(r'name="csrf-token" content="([^"]+)"', en.get("/").text).group(1)  # type: ignore[union-attr]
    res = en.post(f"/records/sales_order/{rec.id}", data={"csrf_token": en_csrf, "version": str(rec.version),
                                                         "action": "t:submit"})
    assert res.status_code == 422 and "Promised delivery date" in res.text
    assert "delivery_date" not in _text(res.text).replace('name="delivery_date"', "")


def test_a_condition_shows_the_authors_message_or_the_titles_it_reads(app: FastAPI) -> None:
    rec = _create(app, total="250000.00")
    _move(app, rec.id, "submit", "sales1")
    zh, _ = sign_in(app, "clerk1", lang="zh-CN")
    en, _ = sign_in(app, "clerk1", lang="en")
    zh_page, en_page = zh.get(f"/records/sales_order/{rec.id}").text, en.get(f"/records/sales_order/{rec.id}").text
    assert _why(zh_page, "approve") == "十万元及以上的订单需经理审批"
    assert _why(en_page, "approve") == "Orders of 100000 or more need the manager"
    small = _create(app, total="10.00")
    _move(app, small.id, "submit", "sales1")
    # no message written: the refusal names the field the condition reads, by its title
    assert _why(en.get(f"/records/sales_order/{small.id}").text, "approve_large") == \
        "not possible with these values of Order total"
    assert _why(zh.get(f"/records/sales_order/{small.id}").text, "approve_large") == "订单总额的当前取值不满足条件"
    for page in (zh_page, en_page, en.get(f"/records/sales_order/{small.id}").text):
        assert "100000" not in page.replace("十万元", "").replace("Orders of 100000", "")
        assert "total &lt;" not in page and "total &gt;=" not in page


def test_a_pattern_mismatch_shows_the_authors_message_never_the_regex(app: FastAPI) -> None:
    for lang, message, help_text in (("zh-CN", "订单号格式为 SO-六位数字", "格式不正确。以 R 开头，后接数字"),
                                     ("en", "Order no. looks like SO-123456",
                                      "does not match the required format: R followed by digits")):
        client, csrf = sign_in(app, "sales1", lang=lang)
        res = client.post("/records/sales_order/new", data={
            "csrf_token": csrf, "order_no": "12345", "ref_code": "X1", "total": "10", "priority": "normal"})
        assert res.status_code == 422
        text = _text(res.text)
        assert message in text and help_text in text
        assert "[0-9]" not in res.text and "SO-[" not in res.text


def test_the_confirmation_in_each_language(app: FastAPI) -> None:
    rec = _create(app)
    for lang, question, title in (("zh-CN", "确定取消这张订单吗？", "取消订单"), ("en", "Cancel this order?", "Cancel")):
        client, csrf = sign_in(app, "sales1", lang=lang)
        res = client.post(f"/records/sales_order/{rec.id}", data={
            "csrf_token": csrf, "version": str(rec.version), "action": "t:cancel", "comment": ""})
        assert res.status_code == 200
        assert f'<p class="question" id="confirm-q">{question}</p>' in res.text
        assert f"<h1>{title}</h1>" in res.text


def test_the_admin_flow_page_and_diagram_in_each_language(app: FastAPI) -> None:
    zh, _ = sign_in(app, "admin", lang="zh-CN")
    en, _ = sign_in(app, "admin", lang="en")
    zh_svg = zh.get("/admin/flows/sales_order/diagram.svg").text
    en_svg = en.get("/admin/flows/sales_order/diagram.svg").text
    assert "订单审核" in zh_svg and "跟单员" in zh_svg and "Order review" not in zh_svg
    assert "Order review" in en_svg and "Order desk" in en_svg and "Manager approval" in en_svg
    assert "销售经理" in en_svg  # the manager role is titled in Chinese only: the flow's language
    assert "终态" in zh_svg and "final" in en_svg and "终态" not in en_svg
    assert "Sales order" in en.get("/admin/flows").text and "销售订单" in zh.get("/admin/flows").text
    page = en.get("/admin/flows/sales_order").text
    _no_mapping(page)
    table = _text(page.split('aria-labelledby="tr-h"')[1].split('aria-labelledby="yaml-h"')[0])  # not the YAML itself
    assert "Order review" in table and "Manager approval" in table and "Order desk" in table and "订单审核" not in table


def test_the_api_picks_titles_by_lang_or_accept_language(app: FastAPI) -> None:
    rec = _create(app, total="250000.00")
    _move(app, rec.id, "submit", "sales1")
    client = TestClient(app)
    signed = client.post("/api/session", json={"username": "clerk1", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    flows = client.get("/api/flows", params={"lang": "en"}).json()
    assert [f["title"] for f in flows] == ["Sales order"]
    assert [f["title"] for f in client.get("/api/flows", headers={"Accept-Language": "zh-CN,en;q=0.5"}).json()] == ["销售订单"]
    assert [f["title"] for f in client.get("/api/flows", headers={"Accept-Language": "fr"}).json()] == ["销售订单"]
    got = client.get(f"/api/flows/sales_order/records/{rec.id}", params={"lang": "en"}).json()
    assert got["state_title"] == "Order review"
    options = {t["name"]: t for t in client.get(f"/api/flows/sales_order/records/{rec.id}/transitions",
                                                params={"lang": "en"}).json()["transitions"]}
    assert options["approve"]["title"] == "Approve" and options["approve"]["reasons"] == ["Orders of 100000 or more need the manager"]
    res = client.post(f"/api/flows/sales_order/records/{rec.id}/transitions/approve", params={"lang": "en"},
                      json={"version": got["version"]})
    assert res.status_code == 409
    assert res.json()["detail"] == "'Approve': Orders of 100000 or more need the manager"
    zh_detail = client.post(f"/api/flows/sales_order/records/{rec.id}/transitions/approve",
                            headers={"Accept-Language": "zh-CN"}, json={"version": got["version"]}).json()["detail"]
    assert "审核通过" in zh_detail and "十万元及以上的订单需经理审批" in zh_detail and "total" not in zh_detail


def test_chromium_shows_the_same_record_to_a_chinese_and_an_english_reader(app: FastAPI, browser: Any) -> None:
    rec = _create(app, priority="urgent")
    with LiveServer(app) as server:
        seen = {}
        for lang in ("zh-CN", "en"):
            context = browser.new_context(locale=lang, extra_http_headers={"Accept-Language": lang})
            page = context.new_page()
            page.goto(f"{server.url}/login?next=/records/sales_order/{rec.id}")
            page.fill("#username", "sales1")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(rf".*/records/sales_order/{rec.id}$"))
            seen[lang] = {
                "flow": page.locator(".meta dd a").first.inner_text(),
                "state": page.locator(".badge.state").inner_text(),
                "label": page.locator("label[for='f-order_no']").inner_text(),
                "choice": page.locator("#f-priority option:checked").inner_text(),
                "button": page.locator("button[value='t:submit']").inner_text(),
            }
            page.click("button[value='t:cancel']")
            seen[lang]["confirm"] = page.locator("#confirm-q").inner_text()
            context.close()
    assert seen["zh-CN"] == {"flow": "销售订单", "state": "草稿", "label": "订单号 *", "choice": "加急", "button": "提交审核",
                             "confirm": "确定取消这张订单吗？"}
    assert seen["en"] == {"flow": "Sales order", "state": "Draft", "label": "Order no. *", "choice": "Urgent",
                          "button": "Submit", "confirm": "Cancel this order?"}
