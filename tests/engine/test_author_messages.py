"""`message:` on a condition and on a pattern; refusals that name titles in the reader's language."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.records.actor import Actor
from engine.records.transitions import blockers, decide_create
from forms.local_text import Titled, TitleList
from forms.message_text import message_in
from tests.ui.bilingual_flow import BILINGUAL_FLOW
from ui.i18n import Translator, translate_message
from ui.i18n.problem_words import translate_problem

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ZH, EN = Translator("zh-CN"), Translator("en")
CLERK = Actor(id=2, username="clerk1", roles=frozenset({"clerk"}))
SALES = Actor(id=1, username="sales1", roles=frozenset({"sales"}))


def _problems(text: str) -> str:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(text)
    return str(info.value)


def test_both_spellings_load_and_the_plain_ones_stay_valid() -> None:
    flow = load_flow_text(BILINGUAL_FLOW)
    approve, large = flow.spec.transitions["approve"], flow.spec.transitions["approve_large"]
    assert approve.when == "total < 100000" and approve.when_message == {
        "zh-CN": "十万元及以上的订单需经理审批", "en": "Orders of 100000 or more need the manager"}
    assert large.when == "total >= 100000" and large.when_message is None
    order_no, ref = flow.fields["order_no"], flow.fields["ref_code"]
    assert order_no.pattern == "SO-[0-9]{6}" and order_no.pattern_message["en"] == "Order no. looks like SO-123456"  # type: ignore[attr-defined,index]
    assert ref.pattern == "R[0-9]+" and ref.pattern_message is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("bad", "expected"), [
    ('when: {check: "total < 1", mesage: x}', "a condition has `check` and `message`, not mesage"),
    ("when: {message: x}", "a condition written as a mapping needs `check`"),
    ('when: "total < 1"\n    when_message: x', "write the message inside the condition"),
    ('when: {check: "totl < 1", message: x}', "condition uses unknown field 'totl'"),
])
def test_a_misspelt_condition_message_is_a_located_error(bad: str, expected: str) -> None:
    text = BILINGUAL_FLOW.replace('''    when:
      check: "total < 100000"
      message: {zh-CN: 十万元及以上的订单需经理审批, en: Orders of 100000 or more need the manager}''', "    " + bad)
    assert text != BILINGUAL_FLOW
    problems = _problems(text)
    assert expected in problems and re.search(r":(3[7-9]|4[0-9]):\d+:", problems), problems  # at the transition


@pytest.mark.parametrize(("bad", "expected"), [
    ('pattern: {regex: "SO-[0-9]{6}", text: x}', "a pattern has `regex` and `message`, not text"),
    ("pattern: {message: x}", "a pattern written as a mapping needs `regex`"),
    ('pattern: {regex: "SO-[", message: x}', "is not a valid regular expression"),
    ('pattern: {regex: "SO-[0-9]{6}", message: {zh_CN: x}}', "is not a language tag"),
])
def test_a_misspelt_pattern_message_is_a_located_error(bad: str, expected: str) -> None:
    text = BILINGUAL_FLOW.replace(
        '    pattern: {regex: "SO-[0-9]{6}", message: {zh-CN: 订单号格式为 SO-六位数字, en: "Order no. looks like SO-123456"}}',
        "    " + bad)
    assert text != BILINGUAL_FLOW
    problems = _problems(text)
    assert expected in problems and "fields.order_no" in problems, problems


def test_refusals_carry_titles_and_are_read_in_each_language() -> None:
    flow = load_flow_text(BILINGUAL_FLOW)
    t = flow.spec.transitions["submit"]
    [missing] = blockers(flow, t, "submit", {"total": 1, "delivery_date": None}, SALES, NOW)
    assert translate_message(EN, missing.reason) == "fill in first: Promised delivery date"
    assert translate_message(ZH, missing.reason) == "请先填写：交期"
    assert translate_message(ZH, missing.error.message) == "“提交审核”：请先填写：交期"
    assert translate_message(EN, missing.error.message) == "'Submit': fill in first: Promised delivery date"
    assert str(missing.reason) == "fill in first: 交期"  # plain text (logs): the flow's language
    large = flow.spec.transitions["approve_large"]
    [cond] = blockers(flow, large, "approve_large", {"total": 5}, CLERK, NOW)
    assert translate_message(EN, cond.reason) == "not possible with these values of Order total"
    assert translate_message(ZH, cond.reason) == "订单总额的当前取值不满足条件"
    [undecided] = blockers(flow, large, "approve_large", {"total": None}, CLERK, NOW)
    assert translate_message(EN, undecided.reason) == "cannot be decided yet: fill in Order total"
    assert translate_message(ZH, undecided.reason) == "暂时无法判断，请先填写订单总额"
    for refusal in (missing, cond, undecided):
        for text in (translate_message(EN, refusal.error.message), translate_message(ZH, refusal.error.message)):
            assert "delivery_date" not in text and "total >=" not in text and "{'" not in text


def test_validation_errors_name_the_field_and_never_the_regex() -> None:
    flow = load_flow_text(BILINGUAL_FLOW)
    data, _given, errors = decide_create(flow, {"order_no": "12", "ref_code": "X", "total": "1"}, SALES, NOW)  # type: ignore[misc]
    assert translate_message(ZH, errors["order_no"]) == "订单号格式为 SO-六位数字"
    assert translate_message(EN, errors["order_no"]) == "Order no. looks like SO-123456"
    assert translate_message(ZH, errors["ref_code"]) == "格式不正确。以 R 开头，后接数字"
    assert translate_message(EN, errors["ref_code"]) == "does not match the required format: R followed by digits"
    # the API's wording: English, titles in the asked language
    assert message_in(errors["order_no"], "en") == "Order no. looks like SO-123456"
    for e in errors.values():
        assert "[0-9]" not in str(e) and "R[" not in str(e)


def test_title_lists_use_the_readers_separator() -> None:
    titles = TitleList((Titled({"zh-CN": "交期", "en": "Delivery date"}, "zh-CN"), Titled({"zh-CN": "订单号", "en": "Order no."}, "zh-CN")))
    assert titles.for_reader("zh-CN") == "交期、订单号" and titles.for_reader("en") == "Delivery date, Order no."
    assert str(titles) == "交期、订单号"
    # a tag the text lacks: the flow's language
    assert Titled({"zh-CN": "内部备注"}, "zh-CN").for_reader("en") == "内部备注"
    assert Titled({"en": "Notes", "zh-CN": "备注", "ja": "メモ"}, "zh-CN").for_reader("fr") == "备注"


def test_flow_file_problems_are_shown_in_chinese_to_a_chinese_reader() -> None:
    broken = BILINGUAL_FLOW.replace("  total: {type: decimal", "  total: {type: decimel").replace(
        "  review: {title:", "  review: {titel: x, title:")
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(broken)
    shown = [translate_problem(ZH, p.message) for p in info.value.problems]
    assert any(s.startswith("fields.total:未知的字段类型“decimel”——是否想写“decimal”？") for s in shown), shown
    assert any("未知的键“titel”" in s and "是否想写“title”" in s for s in shown), shown
    assert all(translate_problem(EN, p.message) == p.message for p in info.value.problems)
