"""A text field's `pattern` with the words people read when a value does not match it.

    order_no:
      type: text
      pattern: {regex: "SO-[0-9]{6}", message: {zh-CN: 订单号格式为 SO-六位数字, en: "Order no. looks like SO-123456"}}

`pattern: "SO-[0-9]{6}"` stays valid. A clerk never reads the regular
expression: without a `message` the error says that the value does not have
the required format and repeats the field's `help` when it has one.
"""
from __future__ import annotations

from typing import Any

from .local_text import Titled, Words
from .messages import Message

PATTERN_KEYS = frozenset({"regex", "message"})


def split_pattern(data: dict[str, Any]) -> dict[str, Any]:
    """`pattern: {regex, message}` → `pattern` and `pattern_message` (a model validator's `before` step)."""
    if "pattern_message" in data:
        raise ValueError('write the message inside the pattern: pattern: {regex: "...", message: ...}')
    pattern = data.get("pattern")
    if not isinstance(pattern, dict):
        return data
    unknown = sorted(str(k) for k in set(pattern) - PATTERN_KEYS)
    if unknown:
        raise ValueError(f"a pattern has `regex` and `message`, not {', '.join(unknown)}")
    if "regex" not in pattern:
        raise ValueError('a pattern written as a mapping needs `regex`: pattern: {regex: "SO-[0-9]{6}", message: ...}')
    data = dict(data)
    data["pattern"] = pattern["regex"]
    if pattern.get("message") is not None:
        data["pattern_message"] = pattern["message"]
    return data


def mismatch_message(message: Words | None, help_text: Words | None) -> Message:
    """What a person reads when a value does not match the pattern: the author's words, else the
    field's help, else a plain sentence; never the regular expression."""
    if message:
        return Message("pattern", "{message}", message=Titled(message))
    if help_text:
        return Message("pattern", "does not match the required format: {help}", help=Titled(help_text))
    return Message("pattern", "does not match the required format")
