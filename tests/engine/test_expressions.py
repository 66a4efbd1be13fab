"""Expressions run sandboxed and see the fields, `user`, `now` and `today`."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.language.expressions import EvaluationError, ExpressionError, compile_expression
from engine.records.errors import ConditionFailed
from tests.conftest import World

FLOW = """\
flow: leave
roles: {staff: Staff, boss: Boss}
fields:
  days: {type: integer, min: 1}
  asked_on: {type: date, compute: "today"}
  asked_by: {type: text, compute: "user.name"}
states:
  asked: {owner: staff, edit: [days]}
  granted: {final: true}
transitions:
  grant:
    from: asked
    to: granted
    by: [staff, boss]
    when: "days <= 2 or 'boss' in user.roles"
"""


def test_user_and_today_in_expressions(sqlite_url: str) -> None:
    w = World(sqlite_url, FLOW)
    staff, boss = w.user("sam", "staff"), w.user("bo", "staff", "boss")
    late_evening = datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc)  # no calendar: UTC
    rec = w.records.create("leave", staff, {"days": 5}, now=late_evening)
    assert rec.values["asked_on"] == date(2026, 11, 23) and rec.values["asked_by"] == "Sam"
    with pytest.raises(ConditionFailed):
        w.records.transition("leave", rec.id, "grant", staff, expected_version=1)
    assert w.records.transition("leave", rec.id, "grant", boss, expected_version=1).state == "granted"


@pytest.mark.parametrize("source", [
    "().__class__.__base__.__subclasses__()",
    "user.__init__.__globals__",
    "range(10**9) | list",
    "lipsum.__globals__['os']",
])
def test_sandbox_refuses_escapes(source: str) -> None:
    try:
        expr = compile_expression(source)
    except ExpressionError:
        return
    with pytest.raises(EvaluationError):
        expr.evaluate({"user": {"name": "x"}})


def test_expression_with_braces_is_refused_with_a_hint() -> None:
    with pytest.raises(ExpressionError, match="without"):
        compile_expression("{{ amount > 1 }}")


@pytest.mark.parametrize("source", [
    "{{ customer }} · {{ product_model }} × {{ quantity }}", "{{ subject }}", "Order {{ missing }}!", "plain text",
    "{{ a }}\n", "{{a}}{{ b }} {# note #}", "{{ customer|upper }}", "{% if a %}{{ a }}{% endif %}", "{{ d }}"])
def test_title_templates_render_as_jinja_does(source: str) -> None:
    """Plain titles take a direct path; whatever the path, the text is what Jinja2 renders."""
    from datetime import date
    from decimal import Decimal

    from engine.language.expressions import compile_template

    tpl = compile_template(source)
    for ctx in ({"customer": "ACME 有限公司", "product_model": None, "quantity": Decimal("10.50"), "subject": "",
                 "a": True, "b": 0, "d": date(2026, 12, 31)},
                {"customer": None, "quantity": 3, "a": None}):
        expected = tpl._render(**{k: ("" if v is None else v) for k, v in ctx.items()})
        assert tpl.render(ctx) == expected
