"""Catalogues, language choice, engine-message translation, the diagram and the YAML highlighting."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.language.loader import load_flow_text
from tests.ui.live import REFERENCE_FLOW
from ui.diagram import flow_svg
from ui.highlight import highlight_yaml
from ui.i18n import Translator, choose_locale, from_accept_language, translate_message

UI = Path(__file__).resolve().parents[2] / "ui"
_TEMPLATE_IDS = (re.compile(r'(?<![\w.])_\(\s*"((?:[^"\\]|\\.)*)"'), re.compile(r"(?<![\w.])_\(\s*'((?:[^'\\]|\\.)*)'"))


def used_message_ids() -> set[str]:
    ids: set[str] = set()
    for path in UI.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for rx in _TEMPLATE_IDS:
            ids.update(rx.findall(text))
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in ("_", "N_"):
                    ids.add(node.args[0].value)
    from ui.i18n import _PATTERNS

    ids.update(m for _, m in _PATTERNS)
    return ids


def test_every_ui_message_has_a_chinese_translation() -> None:
    with open(UI / "i18n" / "zh_CN.po", "rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh) if m.id}
    missing = sorted(i for i in used_message_ids() if not catalogue.get(i))
    assert not missing, f"add these to ui/i18n/zh_CN.po (and en.po): {missing}"
    for msgid, text in catalogue.items():  # placeholders survive translation
        assert set(re.findall(r"{\w+}", str(msgid))) == set(re.findall(r"{\w+}", str(text))), msgid


def test_language_choice() -> None:
    assert from_accept_language("de-DE,zh-TW;q=0.8,en;q=0.9") == "en"
    assert from_accept_language("zh-CN,zh;q=0.9") == "zh-CN"
    assert from_accept_language("fr, de") is None
    assert from_accept_language("en;q=0, zh;q=0.1") == "zh-CN"
    assert choose_locale(None, "zh-CN", "en") == "zh-CN"
    assert choose_locale("en", "zh-CN", "zh") == "en"  # the switch of this browser wins
    assert choose_locale(None, None, None) == "en"


def test_engine_messages_are_translated_by_shape() -> None:
    zh = Translator("zh-CN")
    assert translate_message(zh, "this field is required") == "此项必填"
    assert translate_message(zh, "must be at most 100 characters long (has 101)") == "最多 100 个字符（现有 101 个）"
    assert translate_message(zh, "condition not met: amount < 100000") == "条件不满足：amount < 100000"
    assert translate_message(zh, "something new") == "something new"
    assert translate_message(Translator("en"), "this field is required") == "this field is required"


def test_diagram_shows_states_roles_and_sla_and_escapes_text() -> None:
    text = REFERENCE_FLOW.read_text(encoding="utf-8").replace("title: 草稿", "title: \"<b>草稿</b>\"")
    svg = str(flow_svg(load_flow_text(text)))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "&lt;b&gt;草稿&lt;/b&gt;" in svg and "<b>" not in svg
    assert "跟单员" in svg and "SLA 4h · warn 75%" in svg and "审核通过" in svg
    assert svg.count('class="rf-node') == 9


def test_yaml_is_highlighted_and_escaped() -> None:
    html = str(highlight_yaml("title: <script>alert(1)</script>\nn: 1\n"))
    assert "<script>" not in html and "&lt;script&gt;" in html and 'class="yaml"' in html


@pytest.mark.parametrize("name", ["en.po", "zh_CN.po"])
def test_catalogue_files_are_well_formed(name: str) -> None:
    """Every entry has its msgstr and no message id is given twice (an entry lost in a merge shows here)."""
    with open(UI / "i18n" / name, "rb") as fh:
        read_po(fh, abort_invalid=True)
    text = (UI / "i18n" / name).read_text(encoding="utf-8")
    entries = [block for block in text.split("\n\n") if "\nmsgid " in "\n" + block]
    ids = []
    for block in entries:
        lines = block.strip().splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
        assert any(line.startswith("msgstr") for line in lines[first:]), f"{name}: no msgstr for {lines[first]}"
        ids.append(tuple(line for line in lines[first:] if not line.startswith("msgstr")))
    doubled = {i for i in ids if ids.count(i) > 1}
    assert not doubled, f"{name}: message ids given twice: {sorted(doubled)[:3]}"
