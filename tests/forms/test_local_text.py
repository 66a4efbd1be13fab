"""Flow text in several languages: which words a reader gets, and the author's slips."""
from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from forms.local_text import LocalText, pick

TEXT = {"zh-CN": "销售订单", "en": "Sales order"}
adapter: TypeAdapter[object] = TypeAdapter(LocalText)


@pytest.mark.parametrize(("lang", "fallback", "expected"), [
    ("en", "zh-CN", "Sales order"),
    ("zh-CN", "en", "销售订单"),
    ("zh", None, "销售订单"),          # a base language finds its regional text
    ("en-GB", None, "Sales order"),
    ("fr", "zh-CN", "销售订单"),        # no French: the flow's language
    ("fr", "de", "销售订单"),           # neither: the first one written
    (None, "en", "Sales order"),
])
def test_the_reader_gets_their_language_then_the_flows(lang: str | None, fallback: str | None, expected: str) -> None:
    assert pick(TEXT, lang, fallback) == expected


def test_plain_text_is_the_same_for_every_reader() -> None:
    assert pick("Order", "zh-CN", "en") == "Order"
    assert pick(None, "en") is None


def test_an_unquoted_comma_in_chinese_text_is_explained() -> None:
    with pytest.raises(ValidationError) as info:
        adapter.validate_python({"zh-CN": "质检不合格", "返工": None, "en": "Failed: rework"})
    message = str(info.value)
    assert "'返工' is not a language tag" in message and "quotes" in message


@pytest.mark.parametrize("bad", [{}, {"zh CN": "x"}, {"en": 3}])
def test_malformed_mappings_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        adapter.validate_python(bad)
