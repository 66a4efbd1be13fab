"""`print:` in a flow file: what loads, what is refused (located), and sandboxed templates."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.language.loader import load_flow_file, load_flow_text
from engine.language.print_templates import PrintRenderError, compile_print_template
from engine.language.problems import FlowLoadError
from tests.print.flows import ORDER, SLIP, WITH_TEMPLATE


def _problems(text: str, folder: Path | None = None, **kw: object) -> list[str]:
    with pytest.raises(FlowLoadError) as exc:
        if folder is not None:
            (folder / "print_order.yaml").write_text(text, encoding="utf-8")
            load_flow_file(folder / "print_order.yaml")
        else:
            load_flow_text(text, **kw)  # type: ignore[arg-type]
    return [f"{p.line}:{p.column} {p.message}" for p in exc.value.problems]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_print_layouts_load_with_their_template_text(tmp_path: Path) -> None:
    (tmp_path / "print_order.slip.html").write_text(SLIP, encoding="utf-8")
    (tmp_path / "print_order.yaml").write_text(WITH_TEMPLATE, encoding="utf-8")
    flow = load_flow_file(tmp_path / "print_order.yaml")
    assert [p.name for p in flow.spec.prints] == ["order_confirmation", "finance_sheet", "slip"]
    assert flow.spec.prints[1].for_ == ["finance"] and flow.spec.prints[1].states == ["done"]
    assert flow.print_templates == {"print_order.slip.html": SLIP}
    # the text is kept: the file may go away, the stored revision still compiles (the editor's case too)
    (tmp_path / "print_order.slip.html").unlink()
    again = load_flow_text(WITH_TEMPLATE, templates=flow.print_templates)
    assert again.print_templates == flow.print_templates and again.sha256 == flow.sha256
    # a changed template is a changed flow (a new revision when applied)
    changed = load_flow_text(WITH_TEMPLATE, templates={"print_order.slip.html": SLIP + "<p>v2</p>"})
    assert changed.sha256 != flow.sha256


def test_a_missing_template_file_is_a_located_load_error(tmp_path: Path) -> None:
    problems = _problems(WITH_TEMPLATE, tmp_path)
    line = _line_of(WITH_TEMPLATE, "template: print_order.slip.html")
    assert len(problems) == 1
    assert problems[0].startswith(f"{line}:15 ") and "'print_order.slip.html' is missing next to the flow file" in problems[0]


def test_an_edited_flow_text_without_the_stored_template_says_how_to_bring_it(tmp_path: Path) -> None:
    problems = _problems(WITH_TEMPLATE, templates=lambda flow: {})
    assert "is not stored with this flow" in problems[0]


@pytest.mark.parametrize("template, words", [
    ("<p>{{ ''.__class__.__mro__ }}</p>", "'__mro__': names starting with _"),
    ("<p>\n{{ record.__init__ }}</p>", "'__init__': names starting with _"),
    ("{% include 'secrets.html' %}", "may not use {% include %}"),
    ("{% extends 'base.html' %}", "may not use {% extends %}"),
    ("{% for x in %}", "does not compile"),
])
def test_a_template_using_forbidden_things_is_refused_at_load_with_its_line(tmp_path: Path, template: str, words: str) -> None:
    (tmp_path / "print_order.slip.html").write_text(template, encoding="utf-8")
    problems = _problems(WITH_TEMPLATE, tmp_path)
    assert len(problems) == 1 and words in problems[0], problems
    assert "template 'print_order.slip.html' (line " in problems[0]
    if "\n" in template:
        assert "(line 2)" in problems[0]


def test_sandbox_escapes_that_pass_the_load_check_render_nothing_harmful() -> None:
    # attr() with a computed name gets past the load check; the sandbox answers with nothing
    t = compile_print_template("<p>{{ x|attr('_' ~ '_class__') }}</p><p>{{ x|attr('_' ~ '_init__') }}</p>")
    assert t.render({"x": "abc"}) == "<p></p><p></p>"
    with pytest.raises(PrintRenderError):  # calling what the sandbox withheld fails the render, nothing runs
        compile_print_template("{{ (x|attr('_' ~ '_class__')).mro() }}").render({"x": "abc"})
    # an autoescaped value cannot inject markup
    assert compile_print_template("{{ v }}").render({"v": "<script>"}) == "&lt;script&gt;"
    with pytest.raises(PrintRenderError):
        compile_print_template("{{ ('a' * 99999) * 99999 }}").render({})


def test_nested_loops_are_stopped_by_the_time_limit() -> None:
    t = compile_print_template("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    with pytest.raises(PrintRenderError):
        t.render({})


@pytest.mark.parametrize("body, words", [
    ("  - {name: slip, title: x, colour: red}\n", "unknown key 'colour'"),
    ("  - {name: slip, template: ../../etc/passwd}\n", "must be a file name next to the flow file"),
    ("  - {name: slip, for: [salse]}\n", "unknown role 'salse' — did you mean 'sales'?"),
    ("  - {name: slip, states: [dnoe]}\n", "unknown state 'dnoe' — did you mean 'done'?"),
    ("  - {name: order_confirmation}\n", "print layout 'order_confirmation' is defined twice"),
])
def test_print_entries_are_checked_and_located(body: str, words: str) -> None:
    text = ORDER + body
    problems = _problems(text)
    assert any(words in p for p in problems), problems
    assert all(p.startswith(f"{len(text.splitlines())}:") for p in problems if words in p)


def test_a_reminder_attaches_only_a_known_layout_by_email() -> None:
    text = ORDER + "reminders:\n  - {on: enter, states: [review], notify: [assignee], via: [inbox], attach: order_confirmaton}\n"
    problems = _problems(text)
    assert any("unknown print layout 'order_confirmaton' — did you mean 'order_confirmation'?" in p for p in problems)
    assert any("add email to via" in p for p in problems)
