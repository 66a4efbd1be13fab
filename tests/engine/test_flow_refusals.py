"""Flow files that load today but cannot work are refused, located where the mistake is."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.entry import main
from engine.language.flow_set import load_flow_folder
from tests.engine.test_flow_errors import BASE, one


def test_states_that_can_never_reach_a_final_state() -> None:
    text = BASE.replace("  done:\n    final: true\n", "  done:\n    final: true\n  loop_a: {owner: clerk}\n"
                        "  loop_b: {owner: clerk}\n")
    text = text.replace("  approve:", "  park: {from: review, to: loop_a, by: clerk}\n"
                                      "  spin: {from: loop_a, to: loop_b, by: clerk}\n"
                                      "  spun: {from: loop_b, to: loop_a, by: clerk}\n  approve:")
    msg = one(text)
    assert msg.startswith("flows/demo.yaml:20:3: no path leads from 'loop_a', 'loop_b' to a final state")


def test_a_warning_later_than_its_due_is_refused_at_the_warning() -> None:
    msg = one(BASE.replace("    sla: 4h\n", "    sla: {due: 4h, warn: 5h}\n"))
    assert msg.startswith("flows/demo.yaml:17:") and "the warning (5h) is not before the due time (4h)" in msg
    assert "not before" in one(BASE.replace("    sla: 4h\n", "    sla: {due: 1d, warn: 1d}\n"))
    # Under wall time a day is 24 hours: a warning after 10h of a 1d clock is fine, after 30h it is not.
    from engine.language.loader import load_flow_text

    load_flow_text(BASE.replace("    sla: 4h\n", "    sla: {due: 1d, warn: 10h, clock: elapsed}\n"))
    assert "not before" in one(BASE.replace("    sla: 4h\n", "    sla: {due: 1d, warn: 30h, clock: elapsed}\n"))


@pytest.mark.parametrize(("when", "expected"), [
    ("quantity > 'lots'", "compares the field 'quantity' (a number) with a text ('lots')"),
    ("customer == 3", "compares the field 'customer' (a text) with a number (3)"),
    ("amount + 'x' > 1", "cannot compute the field 'amount' (a number) + a text ('x')"),
    ("today > 5", "compares 'today' with a number (5)"),
    ("customer.__class__", "'__class__' is not available in expressions"),
    ("customer['__len__']", "'__len__' is not available in expressions"),
])
def test_expressions_that_cannot_work_on_their_field_types(when: str, expected: str) -> None:
    msg = one(BASE.replace('when: "amount < 1000"', f'when: "{when}"'))
    assert msg.startswith("flows/demo.yaml:22:") and expected in msg


@pytest.mark.parametrize("when", ["quantity * 2 > 3", "customer ~ 'x' == 'ax'", "'%s' % customer == 'a'",
                                  "customer * 2 == 'aa'", "quantity in [1, 2]", "today > now.date()"])
def test_expressions_that_mix_types_rightly_still_load(when: str) -> None:
    from engine.language.loader import load_flow_text

    load_flow_text(BASE.replace('when: "amount < 1000"', f'when: "{when}"'))


def test_an_expression_syntax_error_is_located_inside_the_value() -> None:
    msg = one(BASE.replace('when: "amount < 1000"', 'when: "amount < < 1000"'))
    line = BASE.splitlines()[21]
    start = line.index('"amount') + 1  # 0-based index of the opening quote; columns are 1-based
    assert msg.startswith(f"flows/demo.yaml:22:{start + 1 + len('amount < ')}:"), msg


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_two_files_declaring_one_flow_are_both_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", BASE)
    _write(tmp_path, "b.yaml", "# a copy\n" + BASE)
    found = load_flow_folder(tmp_path)
    assert found.good == []
    messages = sorted(str(p) for err in found.bad for p in err.problems)
    assert messages == [
        f"{tmp_path / 'a.yaml'}:1:1: flow 'demo' is declared in b.yaml too: give each flow its own id (one file per flow)",
        f"{tmp_path / 'b.yaml'}:2:1: flow 'demo' is declared in a.yaml too: give each flow its own id (one file per flow)",
    ]
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "declared in b.yaml too" in result.output


def test_validate_reads_the_folder_calendars(tmp_path: Path) -> None:
    _write(tmp_path, "calendars.yaml", "calendars:\n  office:\n    timezone: Asia/Shanghai\n"
                                       "    hours: {mon-fri: '09:00-18:00'}\n")
    text = BASE.split("calendar:\n")[0] + "calendar: office\n"
    _write(tmp_path, "demo.yaml", text)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok — flow 'demo'" in result.output
