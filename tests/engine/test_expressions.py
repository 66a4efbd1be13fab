"""Expressions run sandboxed and see the fields, `user`, `now` and `today`."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.errors import ConditionFailed
from engine.expressions import EvaluationError, ExpressionError, compile_expression
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
