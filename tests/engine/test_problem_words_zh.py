"""Loader problems that used to reach a Chinese author in English: identifiers, dead ends, durations."""
from __future__ import annotations

import re

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from ui.i18n import Translator
from ui.i18n.problem_words import translate_problem

ZH = Translator("zh-CN")

FLOW = """
flow: t
title: T
roles: {a: {title: A}}
create_by: [a]
fields:
  Bad-Name: {type: text}
  none: {type: text}
  x: {type: text}
states:
  s1: {owner: a, sla: {due: 4H}}
  s2: {owner: a, sla: {due: 1.5h}}
  s3: {owner: a, sla: {due: 2h2h}}
  s4: {final: true}
transitions:
  go: {from: s1, to: s2, by: a}
  back: {from: s2, to: s3, by: a}
  loop: {from: s3, to: s2, by: a}
"""

LATIN_WORDS = re.compile(r"\b(?!e\.g\b)[a-z]{4,}\b")  # an English word of the problem left untranslated


def _problems() -> list[str]:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(FLOW)
    return [p.message for p in info.value.problems]


def test_every_problem_of_this_file_reads_in_chinese() -> None:
    problems = _problems()
    assert len(problems) >= 5
    for text in problems:
        zh = translate_problem(ZH, text)
        assert zh != text, text
        # the names the author wrote stay; the words around them are Chinese
        words = [w for w in LATIN_WORDS.findall(zh.split(":", 1)[-1]) if w not in {"none", "value"}]
        assert not words, (text, zh)


@pytest.mark.parametrize(("text", "expected"), [
    ("field id 'Bad-Name' must be snake_case ASCII: a lower-case letter, then lower-case letters, digits or underscores",
     "字段标识“Bad-Name”须为小写 ASCII 蛇形命名"),
    ("row field id 'and' is a word of the expression language; choose another name (e.g. 'and_value')",
     "明细字段标识“and”是表达式语言的保留字"),
    ("no path leads from 's1', 's2' to a final state: records there could never be closed; add a transition toward a final state",
     "从 's1', 's2' 没有任何路径通往结束状态"),
    ("states.s1.sla.due: unknown unit 'H' in duration '4H': units are lower-case d, h, m, s: did you mean 'h'?",
     "states.s1.sla.due:时长“4H”中的单位“H”无法识别：单位须为小写的 d、h、m、s，是否想写“h”？"),
])
def test_the_shapes(text: str, expected: str) -> None:
    assert expected in translate_problem(ZH, text)
