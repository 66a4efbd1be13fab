"""A reload plan read in Chinese: the admin editor's plan page, field and state titles, no field ids."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from engine.evolve.plan_words import type_words
from forms import TextField
from forms.message_parts import Count, Joined, Label
from forms.messages import Message
from tests.ui.live import REFERENCE_FLOW, new_order, sign_in
from ui.i18n import Translator, translate_message

FLOW = REFERENCE_FLOW.read_text(encoding="utf-8")
EDIT = "/admin/flows/sales_order/edit"
# Three changes at once: a field added, a field removed (and taken out of the state that edits it), a choice added.
CHANGED = (FLOW
           .replace("  paid_amount:", "  customer_po: {type: text, title: 客户订单号, max_length: 40}\n  paid_amount:", 1)
           .replace("  contact_phone: {type: phone, title: 联系电话}\n", "")
           .replace("edit: [customer, contact_phone,", "edit: [customer,")
           .replace("choices: {normal: 普通, urgent: 加急}", "choices: {normal: 普通, urgent: 加急, rush: 特急}"))


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[FastAPI]:
    from tests.ui.live import make_app

    app = make_app(tmp_path)
    yield app
    app.state.db.dispose()


def _changes(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", t)).strip()
            for t in re.findall(r'<span class="change-text">(.*?)</span>', page, re.S)]


def test_a_chinese_admin_reads_the_plan_in_chinese_with_titles_and_no_field_ids(fresh: FastAPI) -> None:
    assert CHANGED.count("customer_po") == 1 and "contact_phone" not in CHANGED and "rush" in CHANGED
    new_order(fresh)  # a record: the removed field's stored values are counted
    client, csrf = sign_in(fresh, "admin", lang="zh-CN")
    res = client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": CHANGED})
    assert res.status_code == 200, res.text
    texts = _changes(res.text)
    assert "新字段“客户订单号”，单行文本（最多 40 个字符）：新增一个空列；已有记录暂无取值" in texts, texts
    removed = next(t for t in texts if t.startswith("字段“联系电话”从表单中移除"))
    assert "个已存的值会保留并隐藏" in removed
    assert "字段“优先级”有新的规则；所有已存的值都符合" in texts, texts
    for text in texts:
        for field_id in ("customer_po", "contact_phone", "priority"):
            assert field_id not in text, text
        assert not re.search(r"[A-Za-z]{4,}", text.replace("on_change", "")), text  # no English sentence left


def test_the_same_plan_reads_in_english_with_titles_and_at_the_command_line_with_ids(fresh: FastAPI) -> None:
    client, csrf = sign_in(fresh, "admin")
    texts = _changes(client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": CHANGED}).text)
    assert "Field '联系电话' is removed from the form: its column and 0 stored values are kept, hidden, and come back " \
           "if the field returns" in texts, texts
    from engine.evolve import plan_flow
    from engine.language.loader import load_flow_text
    plan = plan_flow(fresh.state.db, load_flow_text(CHANGED))
    plain = {c.kind: c.text for c in plan.changes}
    assert plain["field_added"] == ("New field '客户订单号' (customer_po), text (at most 40 characters): a new empty column; "
                                    "existing records have no value yet")
    assert plain["field_retired"].startswith("Field '联系电话' (contact_phone) is removed from the form")
    assert plan.to_dict()["changes"][0]["text"] == str(plan.changes[0].text)  # the API keeps plain strings


def test_plan_parts_for_each_reader() -> None:
    zh, en = Translator("zh-CN"), Translator("en")
    assert (str(Count(1, "record")), str(Count(1234, "record")), Count(1234, "record").for_reader("zh-CN")) == (
        "1 record", "1,234 records", "1,234")
    label = Label("qty", {"zh-CN": "数量", "en": "Quantity"}, "zh-CN")
    assert (str(label), label.for_reader("en"), label.for_reader("zh-CN")) == ("'数量' (qty)", "'Quantity'", "“数量”")
    assert str(Label("qty")) == "'qty'"
    both = Joined.from_parts([Message("type.text", "text"), label])
    assert str(both) == "text, '数量' (qty)"
    msg = Message("plan.list_added", "+ {items}", items=both)
    assert translate_message(zh, msg) == "增加 单行文本、“数量”" and translate_message(en, msg) == "+ text, 'Quantity'"
    described = type_words(TextField(type="text", max_length=12))
    assert described == "text (at most 12 characters)" and translate_message(zh, described) == "单行文本（最多 12 个字符）"


def test_a_chinese_admin_sees_the_flow_files_meaning_problems_in_chinese(app: FastAPI) -> None:
    wrong = FLOW.replace('compute: "quantity * unit_price"}', 'compute: "quantity * unit_price", required: true}')
    assert wrong != FLOW
    zh, csrf = sign_in(app, "admin", lang="zh-CN")
    res = zh.post(f"{EDIT}/validate", data={"yaml": wrong}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    line = wrong.splitlines().index(next(x for x in wrong.splitlines() if "required: true}" in x and "amount" in x)) + 1
    assert res.status_code == 200
    assert re.search(rf">{line}:\d+</a>: 字段“amount”是计算字段，不能设为必填", html.unescape(res.text)), res.text
    assert "is computed" not in res.text
    en, csrf = sign_in(app, "admin")
    res = en.post(f"{EDIT}/validate", data={"yaml": wrong}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert "field &#39;amount&#39; is computed; it cannot be required" in res.text


def test_an_assignment_error_names_the_person_and_the_role_by_title(app: FastAPI) -> None:
    from engine.language.loader import load_flow_text
    from engine.people.users import assignable_problem, load_actor

    flow = load_flow_text(FLOW)
    clerk = load_actor(app.state.db, username="clerk1")
    with app.state.db.connect() as conn:
        problem = assignable_problem(conn, clerk.id, "production", roles=flow.spec.roles, language=flow.spec.language)
        nobody = assignable_problem(conn, 999999, None)
        assert assignable_problem(conn, clerk.id, "clerk", roles=flow.spec.roles) is None
    assert problem == "Clara Clerk is not an active member of role '生产部'" and str(clerk.id) not in problem
    assert translate_message(Translator("zh-CN"), problem) == "Clara Clerk不是角色“生产部”的在职成员"
    assert nobody == "an unknown user (#999999) is not an active user"
    assert translate_message(Translator("zh-CN"), nobody) == "未知用户（#999999）不是在职用户"
