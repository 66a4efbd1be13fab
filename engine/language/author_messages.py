"""The flow author's own words for a refusal: `message:` beside a condition.

A clerk never reads an expression. A transition's condition may carry the
sentence to show when it is not met, in one or several languages:

    when:
      check: "total < 100000"
      message: {zh-CN: 十万元以上的订单需走会签, en: Orders of 100,000 or more go to joint review}

The plain spelling `when: "total < 100000"` stays; without a message the
refusal names the fields the condition reads, by their titles. The mapping is
read into the model's `when` (the expression) and `when_message` (its words),
so everything that reads `when` is unchanged.
"""
from __future__ import annotations

from typing import Any

from forms.pattern_rule import split_with_message


def split_condition(data: dict[str, Any]) -> dict[str, Any]:
    """`when: {check, message}` → `when` and `when_message` (a model validator's `before` step)."""
    return split_with_message(data, "when", "check", "condition", '"total < 100000"')
