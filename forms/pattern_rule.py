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

def split_with_message(data: dict[str, Any], key: str, inner: str, what: str, example: str) -> dict[str, Any]:
    """`key: {inner: ..., message: ...}` → `key` and `key_message` (a model validator's `before` step).

    The one spelling of an author's own message beside a rule: a field's `pattern: {regex, message}` and a
    transition's `when: {check, message}` (engine/language/author_messages.py) both read through here.
    """
    if f"{key}_message" in data:
        raise ValueError(f'write the message inside the {what}: {key}: {{{inner}: "...", message: ...}}')
    rule = data.get(key)
    if not isinstance(rule, dict):
        return data
    unknown = sorted(str(k) for k in set(rule) - {inner, "message"})
    if unknown:
        raise ValueError(f"a {what} has `{inner}` and `message`, not {', '.join(unknown)}")
    if inner not in rule:
        raise ValueError(f"a {what} written as a mapping needs `{inner}`: {key}: {{{inner}: {example}, message: ...}}")
    data = dict(data)
    data[key] = rule[inner]
    if rule.get("message") is not None:
        data[f"{key}_message"] = rule["message"]
    return data


def split_pattern(data: dict[str, Any]) -> dict[str, Any]:
    """`pattern: {regex, message}` → `pattern` and `pattern_message`."""
    return split_with_message(data, "pattern", "regex", "pattern", '"SO-[0-9]{6}"')


def mismatch_message(message: Words | None, help_text: Words | None) -> Message:
    """What a person reads when a value does not match the pattern: the author's words, else the
    field's help, else a plain sentence; never the regular expression."""
    if message:
        return Message("pattern", "{message}", message=Titled(message))
    if help_text:
        return Message("pattern", "does not match the required format: {help}", help=Titled(help_text))
    return Message("pattern", "does not match the required format")
