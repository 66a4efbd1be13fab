"""Tests for engine.language.yaml_safe: safe YAML 1.2-style loading with positions."""

from __future__ import annotations

import math
import os
import subprocess
import time
from pathlib import Path as FsPath

import pytest

from engine.language.yaml_safe import Mark, Positions, YamlLoadError, YamlProblem, load_yaml

REPO = FsPath(__file__).resolve().parents[2]
REFERENCE_CANDIDATES = [REPO / "tests" / "acceptance" / "sales_order.yaml"]


def _problems(text: str | bytes, **limits: int) -> list[YamlProblem]:
    with pytest.raises(YamlLoadError) as info:
        load_yaml(text, **limits)
    assert info.value.problems, "YamlLoadError without problems"
    return info.value.problems


def _only(text: str | bytes, **limits: int) -> YamlProblem:
    problems = _problems(text, **limits)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------
# The reference flow
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_text() -> str:
    for candidate in REFERENCE_CANDIDATES:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    pytest.skip("reference flow sales_order.yaml not found")


def test_reference_flow_loads(reference_text: str) -> None:
    data, positions = load_yaml(reference_text.encode("utf-8"))
    assert data["flow"] == "sales_order"
    assert list(data["fields"])[:3] == ["customer", "contact_phone", "sales_rep"]
    assert data["fields"]["customer"]["required"] is True
    assert data["fields"]["quantity"]["min"] == 1
    assert data["fields"]["priority"]["choices"] == {"normal": "普通", "urgent": "加急"}
    assert data["states"]["review"]["sla"] == {"due": "4h", "warn": "75%"}
    assert data["states"]["on_hold"]["pause_sla"] is True
    assert data["calendar"]["hours"] == {"mon-fri": ["09:00-12:00", "13:00-18:00"]}
    assert data["calendar"]["holidays"][0] == "2026-10-01"
    assert all(isinstance(d, str) for d in data["calendar"]["workdays"])
    # `on:` of reminders is the string "on", never True.
    reminders = data["reminders"]
    assert [r["on"] for r in reminders] == ["warn", "breach"]
    assert all(set(r) >= {"on", "notify"} for r in reminders)
    assert reminders[1]["escalate"] is True
    assert reminders[1]["repeat"] == "4h"
    assert data["transitions"]["cancel"]["from"] == ["draft", "review", "production", "on_hold"]

    lines = reference_text.splitlines()
    line_no = next(i for i, line in enumerate(lines, 1) if line.strip() == "- on: warn")
    column = lines[line_no - 1].index("on:") + 1
    assert positions.key(("reminders", 0, "on")) == Mark(line_no, column)
    assert positions.value(("reminders", 0, "on")) == Mark(line_no, column + 4)
    assert positions.value(("reminders", 0)) == Mark(line_no, column)
    assert positions.key(("reminders", 0)) is None


def test_yes_no_like_keys_and_choice_ids_are_strings() -> None:
    text = (
        "fields:\n"
        "  answer:\n"
        "    type: choice\n"
        "    choices: {yes: 是, no: 否, on: 开, off: 关, y: Y, n: N, true: 真, null: 空, 1: 一}\n"
        "    default: no\n"
    )
    data, _ = load_yaml(text)
    answer = data["fields"]["answer"]
    assert list(answer["choices"]) == ["yes", "no", "on", "off", "y", "n", "true", "null", "1"]
    assert answer["default"] == "no"


# --------------------------------------------------------------------------
# Scalars: YAML 1.2 core schema
# --------------------------------------------------------------------------


def test_yaml_11_traps_stay_strings() -> None:
    data, _ = load_yaml(
        "norway: no\ntime: 1:30\nflag: yes\nd: 2026-10-01\n"
        "others: [on, off, y, n, Yes, NO, On, 1_000, 0b101, 12:30:00, 2026-10-01 09:00:00, =]\n"
    )
    assert data["norway"] == "no"
    assert data["time"] == "1:30"
    assert data["flag"] == "yes"
    assert data["d"] == "2026-10-01"
    assert all(isinstance(item, str) for item in data["others"])
    assert data["others"][7] == "1_000"


def test_booleans_and_nulls() -> None:
    data, _ = load_yaml(
        "t: [true, True, TRUE]\nf: [false, False, FALSE]\n"
        "n: [null, Null, NULL, ~, ]\nempty:\nnot_bool: [tRUE, 'true']\n"
    )
    assert data["t"] == [True, True, True]
    assert data["f"] == [False, False, False]
    assert data["n"] == [None, None, None, None]  # a trailing comma adds no item
    assert data["empty"] is None
    assert data["not_bool"] == ["tRUE", "true"]


def test_integers_and_floats() -> None:
    data, _ = load_yaml(
        "ints: [0, 7, -7, +7, 0o17, 0x1F, 0xff, 123456789012345678901234567890]\n"
        "floats: [1.5, -0.25, .5, 1., 1e3, 2.5E-2, .inf, -.Inf, +.INF]\n"
        "nan: .nan\n"
        "strings: [012, -007, 0o8, 0xG, 0b11, 1_000, 1:30, '12', \"3.5\", 1.2.3, 0X1F]\n"
    )
    ints = data["ints"]
    assert ints == [0, 7, -7, 7, 15, 31, 255, 123456789012345678901234567890]
    assert all(type(i) is int for i in ints)
    assert data["floats"][:6] == [1.5, -0.25, 0.5, 1.0, 1000.0, 0.025]
    assert all(type(f) is float for f in data["floats"])
    assert data["floats"][6:] == [math.inf, -math.inf, math.inf]
    assert math.isnan(data["nan"])
    assert data["strings"] == [
        "012", "-007", "0o8", "0xG", "0b11", "1_000", "1:30", "12", "3.5", "1.2.3", "0X1F",
    ]


def test_quoted_and_block_scalars_are_strings() -> None:
    data, _ = load_yaml("a: 'true'\nb: \"1\"\nc: |\n  no\nd: >-\n  123\n")
    assert data == {"a": "true", "b": "1", "c": "no\n", "d": "123"}


def test_keys_are_source_text() -> None:
    data, _ = load_yaml("on: 1\nno: 2\n1: 3\ntrue: 4\nnull: 5\n~: 6\n0x10: 7\n1.50: 8\n'quoted': 9\n")
    assert list(data) == ["on", "no", "1", "true", "null", "~", "0x10", "1.50", "quoted"]


def test_keys_that_collide_as_strings_are_duplicates() -> None:
    problem = _only("1: a\n'1': b\n")
    assert problem == YamlProblem(Mark(2, 1), "duplicate key '1' (first at line 1)")


# --------------------------------------------------------------------------
# Keys: duplicates, complex keys, merge keys
# --------------------------------------------------------------------------


def test_duplicate_key_reported_at_second_key() -> None:
    text = (
        "flow: x\n"
        "fields:\n"
        "  customer: {type: text}\n"
        "  amount: {type: decimal}\n"
        "  customer: {type: phone}\n"
    )
    problem = _only(text)
    assert problem.mark == Mark(5, 3)
    assert problem.message == "duplicate key 'customer' (first at line 3)"


def test_several_problems_collected_in_file_order() -> None:
    text = (
        "a: 1\n"                                   # 1
        "b: !!python/name:os.system\n"             # 2
        "c:\n"                                     # 3
        "  x: 1\n"                                 # 4
        "  x: 2\n"                                 # 5
        "a: 3\n"                                   # 6
        "d: [1, !!binary aGVsbG8=, {y: 1, y: 2}]\n"  # 7
        "? [k]\n"                                  # 8
        ": v\n"                                    # 9
        "<<: {z: 1}\n"                             # 10
    )
    problems = _problems(text)
    assert [p.mark for p in problems] == [
        Mark(2, 4), Mark(5, 3), Mark(6, 1), Mark(7, 8), Mark(7, 34), Mark(8, 3), Mark(10, 1),
    ]
    messages = [p.message for p in problems]
    assert messages[0].startswith("YAML tags are not allowed: !!python/name:os.system")
    assert messages[1] == "duplicate key 'x' (first at line 4)"
    assert messages[2] == "duplicate key 'a' (first at line 1)"
    assert messages[3].startswith("YAML tags are not allowed: !!binary")
    assert messages[4] == "duplicate key 'y' (first at line 7)"
    assert messages[5] == "a mapping key must be a string, not a list"
    assert "merge keys" in messages[6] and "not supported" in messages[6]


def test_mapping_key_is_error_at_key() -> None:
    problem = _only("top:\n  ? {a: 1}\n  : v\n")
    assert problem == YamlProblem(Mark(2, 5), "a mapping key must be a string, not a mapping")


def test_merge_key_refused_even_with_alias() -> None:
    text = "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n"
    problem = _only(text)
    assert problem.mark == Mark(3, 3)
    assert "'<<'" in problem.message


def test_quoted_merge_key_is_a_plain_string_key() -> None:
    data, _ = load_yaml("'<<': 1\n")
    assert data == {"<<": 1}


# --------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------


def test_python_tags_refused_and_nothing_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def spy(*args: object, **kwargs: object) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(os, "system", spy)
    monkeypatch.setattr(subprocess, "Popen", spy)
    text = (
        'cmd: !!python/object/apply:os.system ["echo hi"]\n'
        "obj: !!python/object/new:subprocess.Popen [[echo, hi]]\n"
        "mod: !!python/module:os\n"
    )
    problems = _problems(text)
    assert calls == []
    assert [p.mark for p in problems] == [Mark(1, 6), Mark(2, 6), Mark(3, 6)]
    assert problems[0].message.startswith(
        "YAML tags are not allowed: !!python/object/apply:os.system"
    )
    assert all(p.message.startswith("YAML tags are not allowed: !!python/") for p in problems)


def test_local_and_verbatim_tags_refused() -> None:
    problems = _problems("a: !thing 1\nb: !<tag:example.com,2026:x> 2\n")
    assert [p.message.split(" (")[0] for p in problems] == [
        "YAML tags are not allowed: !thing",
        "YAML tags are not allowed: !<tag:example.com,2026:x>",
    ]


def test_standard_tags() -> None:
    data, _ = load_yaml(
        "s: !!str 123\nb: !!str yes\ni: !!int '0x10'\nf: !!float 1\ng: !!float '2.5'\n"
        "t: !!bool true\nz: !!null ~\nm: !!map {a: 1}\nq: !!seq [1]\nns: ! 12\n!!str k: v\n"
    )
    assert data == {
        "s": "123", "b": "yes", "i": 16, "f": 1.0, "g": 2.5, "t": True, "z": None,
        "m": {"a": 1}, "q": [1], "ns": "12", "k": "v",
    }
    assert type(data["f"]) is float


def test_standard_tags_misapplied() -> None:
    problems = _problems(
        "a: !!int 1.5\nb: !!bool yes\nc: !!null x\nd: !!map 1\ne: !!seq {a: 1}\n!!int 1: v\n"
    )
    assert [p.mark.line for p in problems if p.mark] == [1, 2, 3, 4, 5, 6]
    assert problems[0].message == "!!int: '1.5' is not an integer"
    assert problems[1].message == "!!bool accepts only true or false, not 'yes'"
    assert problems[4].message == "!!seq cannot be applied to a mapping"
    assert problems[5].message == "mapping keys are always strings: remove the !!int tag"


# --------------------------------------------------------------------------
# Aliases and limits
# --------------------------------------------------------------------------


def test_aliases_are_expanded_as_copies() -> None:
    text = "defaults: &d {type: text, required: true}\na: *d\nb: *d\n"
    data, positions = load_yaml(text)
    assert data["a"] == data["b"] == {"type": "text", "required": True}
    assert data["a"] is not data["b"]
    assert positions.value(("b",)) == Mark(3, 4)  # where the alias is
    assert positions.value(("b", "type")) == Mark(1, 21)  # where the anchored value is


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for prev, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_refused_quickly() -> None:
    text = _billion_laughs(9)
    started = time.perf_counter()
    problem = _only(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 30.0, elapsed  # a guard against runaway expansion, not a speed target
    assert problem.message == (
        "document too large after expanding aliases (more than 200000 values)"
    )
    assert problem.mark is not None and problem.mark.line >= 2


def test_alias_bomb_refused_before_any_value_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the first sign: the aliases are measured (a step per anchor), nothing is expanded."""
    from engine.language import yaml_safe

    built: list[int] = []
    construct = yaml_safe._Builder._construct

    def counting(self: yaml_safe._Builder, node: object, path: object, depth: int) -> object:
        built.append(1)
        return construct(self, node, path, depth)  # type: ignore[arg-type]

    monkeypatch.setattr(yaml_safe._Builder, "_construct", counting)
    problem = _only(_billion_laughs(9))
    assert problem.message.startswith("document too large after expanding aliases")
    assert problem.mark is not None and problem.mark.line == 6  # in the first list whose aliases pass the limit
    assert built == []
    # A wide file of many aliases to one big list is refused the same way.
    wide = "l: &l [" + ", ".join(["{a: 1}"] * 300) + "]\nm: [" + ", ".join(["*l"] * 600) + "]\n"
    assert _only(wide).message.startswith("document too large after expanding aliases")
    assert built == []


def test_node_limit_is_configurable() -> None:
    problem = _only("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", max_nodes=10)
    assert problem.message == "document too large after expanding aliases (more than 10 values)"
    data, _ = load_yaml("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", max_nodes=20)
    assert data["b"] == [[1, 2, 3]] * 3


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("&a [*a]\n", Mark(1, 5)),
        ("a: &x\n  b: *x\n", Mark(2, 6)),
        ("a: &x\n  - {b: [1, *x]}\n", Mark(2, 13)),
    ],
)
def test_recursive_alias_is_an_error(text: str, mark: Mark) -> None:
    problem = _only(text)
    assert problem.mark == mark
    assert "recursive alias" in problem.message


def test_nesting_too_deep_in_source() -> None:
    problem = _only("[" * 70 + "]" * 70)
    assert problem.mark == Mark(1, 65)
    assert "nested too deeply (more than 64 levels)" in problem.message
    data, _ = load_yaml("[" * 64 + "]" * 64)
    assert isinstance(data, list)


def test_very_deep_nesting_does_not_crash() -> None:
    problem = _only("[" * 100_000)
    assert "nested too deeply" in problem.message


def test_nesting_too_deep_through_aliases() -> None:
    inner = "[" * 40 + "1" + "]" * 40
    text = f"a: &a {inner}\nb: {'[' * 30}*a{']' * 30}\n"
    problem = _only(text)
    assert "nested too deeply" in problem.message


def test_undefined_alias() -> None:
    problem = _only("a: *nope\n")
    assert problem.mark == Mark(1, 4)
    assert "undefined alias" in problem.message


def test_oversized_input_refused_before_parsing() -> None:
    text = "a: [" + "1, " * 400_000 + "]\n"  # would also be a syntax error if parsed
    problem = _only(text.encode())
    assert problem.mark is None
    assert str(len(text.encode())) in problem.message
    assert "too large" in problem.message
    problem = _only("key: value\n", max_bytes=5)
    assert "11 bytes" in problem.message and "5 bytes" in problem.message


def test_non_utf8_bytes() -> None:
    problem = _only("name: café\nother: x\n".encode("latin-1"))
    assert problem.mark == Mark(1, 10)
    assert "UTF-8" in problem.message


def test_utf8_bytes_with_bom() -> None:
    data, positions = load_yaml("\ufefftitle: 标题\n".encode("utf-8"))
    assert data == {"title": "标题"}
    assert positions.key(("title",)) == Mark(1, 1)


def test_control_character_is_refused() -> None:
    problem = _only("a: 1\nb: x\x07y\n")
    assert problem.mark == Mark(2, 5)


@pytest.mark.parametrize("text", ["", b"", "\n\n", "# nothing here\n", "---\n", "--- # c\n...\n"])
def test_empty_file(text: str | bytes) -> None:
    assert _only(text) == YamlProblem(None, "the file is empty")


def test_two_documents() -> None:
    problem = _only("flow: a\n---\nflow: b\n")
    assert problem.mark == Mark(2, 1)
    assert "a flow file holds one YAML document" in problem.message


def test_two_documents_and_other_problems() -> None:
    problems = _problems("a: 1\na: 2\n---\nb: 1\n")
    assert [p.mark for p in problems] == [Mark(2, 1), Mark(3, 1)]


# --------------------------------------------------------------------------
# Syntax errors
# --------------------------------------------------------------------------


def test_syntax_error_has_line_and_column() -> None:
    text = "flow: x\nfields:\n  a: {type: text\n  b: 1\n"
    problem = _only(text)
    assert problem.mark == Mark(4, 4)
    assert problem.message.startswith("expected ',' or '}', but got ':'")
    assert "line 3, column 6" in problem.message  # where the unclosed mapping starts
    assert "\n" not in problem.message


def test_syntax_error_mapping_values_not_allowed() -> None:
    problem = _only("flow: x\ntitle: a: b\n")
    assert problem == YamlProblem(Mark(2, 9), "a ':' inside a value: put the text in quotes, "
                                              "or check the indentation of this line")


@pytest.mark.parametrize(("text", "mark", "message"), [
    ("flow: x\nroles:\n\tstaff: Staff\n", Mark(3, 1), "a tab character: YAML is indented with spaces only, never tabs"),
    ("flow: x\ntitle: 'open\n", Mark(3, 1), "a quote is opened but never closed"),
])
def test_common_syntax_errors_are_said_plainly(text: str, mark: Mark, message: str) -> None:
    assert _only(text) == YamlProblem(mark, message)


def test_syntax_error_bad_indentation() -> None:
    problem = _only("states:\n  draft:\n    title: a\n   owner: b\n")
    assert problem.mark == Mark(4, 4)
    assert "\n" not in problem.message


def test_tab_indentation() -> None:
    problem = _only("a:\n\tb: 1\n")
    assert problem.mark == Mark(2, 1)
    assert "\\t" in problem.message or "tab" in problem.message


def test_duplicate_anchor() -> None:
    problem = _only("a: &x 1\nb: &x 2\n")
    assert problem == YamlProblem(Mark(2, 4), "duplicate anchor 'x' (first at line 1)")


def test_error_str_has_line_and_column() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("a: 1\na: 2\n")
    assert str(info.value) == "2:1: duplicate key 'a' (first at line 1)"


# --------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------

POSITIONS_TEXT = (
    "flow: demo\n"                        # 1
    "fields:\n"                           # 2
    "  customer:\n"                       # 3
    "    type: text\n"                    # 4
    "    title: 客户\n"                   # 5
    "  quantity: {type: integer, min: 1}\n"  # 6
    "states:\n"                           # 7
    "  draft:\n"                          # 8
    "    edit: [customer,\n"              # 9
    "           quantity]\n"              # 10
    "reminders:\n"                        # 11
    "  - on: warn\n"                      # 12
    "    notify:\n"                       # 13
    "      - assignee\n"                  # 14
    "      - role:manager\n"              # 15
)


def test_positions_of_nested_keys_and_values() -> None:
    data, positions = load_yaml(POSITIONS_TEXT)
    assert data["fields"]["customer"]["title"] == "客户"
    assert positions.value(()) == Mark(1, 1)
    assert positions.key(()) is None
    assert positions.key(("flow",)) == Mark(1, 1)
    assert positions.value(("flow",)) == Mark(1, 7)
    assert positions.key(("fields", "customer")) == Mark(3, 3)
    assert positions.value(("fields", "customer")) == Mark(4, 5)
    assert positions.key(("fields", "customer", "title")) == Mark(5, 5)
    assert positions.value(("fields", "customer", "title")) == Mark(5, 12)
    assert positions.key(("fields", "quantity", "min")) == Mark(6, 29)
    assert positions.value(("fields", "quantity", "min")) == Mark(6, 34)
    assert positions.value(("fields", "quantity")) == Mark(6, 13)


def test_positions_of_list_items() -> None:
    _, positions = load_yaml(POSITIONS_TEXT)
    assert positions.value(("states", "draft", "edit")) == Mark(9, 11)
    assert positions.value(("states", "draft", "edit", 0)) == Mark(9, 12)
    assert positions.value(("states", "draft", "edit", 1)) == Mark(10, 12)
    assert positions.key(("states", "draft", "edit", 1)) is None
    assert positions.value(("reminders", 0)) == Mark(12, 5)
    assert positions.key(("reminders", 0, "on")) == Mark(12, 5)
    assert positions.value(("reminders", 0, "notify", 1)) == Mark(15, 9)
    assert positions.value(("reminders", 1)) is None


def test_locate() -> None:
    _, positions = load_yaml(POSITIONS_TEXT)
    # A key that exists: the key itself.
    assert positions.locate(("fields", "customer", "type")) == Mark(4, 5)
    # A missing key: the nearest parent that exists (its key).
    assert positions.locate(("fields", "customer", "required")) == Mark(3, 3)
    assert positions.locate(("fields", "nope", "type")) == Mark(2, 1)
    # A list item: its value; a missing index walks up.
    assert positions.locate(("states", "draft", "edit", 1)) == Mark(10, 12)
    assert positions.locate(("states", "draft", "edit", 7)) == Mark(9, 5)
    assert positions.locate(("reminders", 0, "via")) == Mark(12, 5)
    # The root, or nothing known at all.
    assert positions.locate(()) == Mark(1, 1)
    assert positions.locate(("title",)) == Mark(1, 1)
    assert Positions().locate(("a", 0)) == Mark(1, 1)
