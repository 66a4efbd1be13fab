"""Messages a clerk meets (field errors, list errors) carry a code and parameters and appear in Chinese on zh pages."""
from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi import FastAPI

from forms import IntegerField, TextField
from forms.messages import Message
from tests.ui.live import move, new_order, sign_in
from ui.i18n import Translator, translate_message

ROOT = Path(__file__).resolve().parents[2]


def message_templates() -> set[str]:
    """The literal templates of every Message made in forms/ and engine/ (`Message(code, template, ...)`,
    `FieldValueError.of(code, template, ...)`)."""
    found: set[str] = set()
    for folder in ("forms", "engine"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or len(node.args) < 2:
                    continue
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name not in ("Message", "of"):
                    continue
                tpl = node.args[1]
                options = [tpl.body, tpl.orelse] if isinstance(tpl, ast.IfExp) else [tpl]
                found.update(o.value for o in options if isinstance(o, ast.Constant) and isinstance(o.value, str))
    return found


def test_every_engine_message_template_has_a_chinese_translation() -> None:
    templates = message_templates()
    assert len(templates) > 30
    with open(ROOT / "ui" / "i18n" / "zh_CN.po", "rb") as fh:
        zh = {m.id: m.string for m in read_po(fh) if m.id}
    with open(ROOT / "ui" / "i18n" / "en.po", "rb") as fh:
        en = {m.id for m in read_po(fh) if m.id}
    assert sorted(t for t in templates if not zh.get(t)) == []
    assert sorted(t for t in templates if t not in en) == []


def test_a_message_is_its_english_text_and_translates_by_its_template() -> None:
    try:
        TextField(type="text", max_length=3).coerce("abcdef")
    except ValueError as exc:
        msg = exc.message  # type: ignore[attr-defined]
    assert msg == "must be at most 3 characters long (has 6)" and isinstance(msg, Message)
    assert (msg.code, msg.params) == ("too_long", {"n": 3, "has": 6})
    zh = Translator("zh-CN")
    assert translate_message(zh, msg) == "最多 3 个字符（现有 6 个）"
    assert translate_message(Translator("en"), msg) == msg
    try:
        IntegerField(type="integer").coerce(10**30)
    except ValueError as exc:
        assert translate_message(zh, exc.message) == "数值太大，超出整数字段的范围"  # type: ignore[attr-defined]


def test_a_clerk_sees_field_errors_in_chinese(app: FastAPI) -> None:
    zh, csrf = sign_in(app, "sales1", lang="zh-CN")
    res = zh.post("/records/sales_order/new", data={
        "csrf_token": csrf, "customer": "x\x01", "product_model": "M", "quantity": "99999999999999999999999",
        "unit_price": "1e400", "delivery_date": "2026-02-30", "priority": "ultra"})
    assert res.status_code == 422
    for english in ("invisible control character", "too large", "not a valid date", "not one of the choices"):
        assert english not in res.text, english
    for chinese in ("不可见的控制字符", "数值太大", "不是有效的日期", "不是可选项"):
        assert chinese in res.text, chinese


def test_list_errors_in_chinese(app: FastAPI) -> None:
    new_order(app)
    zh, _ = sign_in(app, "sales1", lang="zh-CN")
    assert "未知的状态" in zh.get("/lists/sales_order", params={"state": "nowhere"}).text
    assert "最多 100 个字符" in zh.get("/lists/sales_order", params={"q": "x" * 101}).text
    assert "翻页标记无效" in zh.get("/lists/sales_order", params={"after": "garbage"}).text


def test_disabled_reasons_and_stale_edits_in_chinese(app: FastAPI) -> None:
    rec = new_order(app, quantity=2000, unit_price="100.00")
    move(app, rec.id, "submit", "sales1")
    clerk, _ = sign_in(app, "clerk1", lang="zh-CN")
    page = clerk.get(f"/records/sales_order/{rec.id}").text
    assert "金额(元)的当前取值不满足条件" in page and "not possible" not in page and "amount &lt;" not in page
    sales, csrf = sign_in(app, "sales1", lang="zh-CN")
    res = sales.post(f"/records/sales_order/{rec.id}", data={
        "csrf_token": csrf, "version": "1", "action": "save", "customer": "Changed"})
    assert res.status_code == 409 and "其他人" in res.text and "Someone else" not in res.text
