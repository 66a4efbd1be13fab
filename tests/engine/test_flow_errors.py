"""Every kind of broken flow file is refused with a located, readable error."""
from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError

BASE = """\
flow: demo
roles:
  sales: {title: Sales}
  clerk: {title: Clerk}
fields:
  customer: {type: text, required: true}
  quantity: {type: integer, min: 1}
  price: {type: decimal, scale: 2}
  amount: {type: decimal, scale: 2, compute: "quantity * price"}
  owner: {type: user, role: sales}
states:
  draft:
    owner: sales
    edit: [customer, quantity, price]
  review:
    owner: clerk
    sla: 4h
  done:
    final: true
transitions:
  submit: {from: draft, to: review, by: sales}
  approve: {from: review, to: done, by: clerk, when: "amount < 1000"}
calendar:
  timezone: Asia/Shanghai
  hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(textwrap.dedent(text), source="flows/demo.yaml")
    return [str(p) for p in info.value.problems]


def one(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_base_flow_is_valid() -> None:
    flow = load_flow_text(BASE)
    assert flow.name == "demo"
    assert flow.computed_order == ("amount",)


def test_reference_flow_loads_unchanged(reference_flow_text: str) -> None:
    flow = load_flow_text(reference_flow_text)
    assert flow.spec.reminders[0].on == "warn"
    assert set(flow.spec.fields["qc_result"].choices) == {"pass", "fail"}


def test_unknown_key_with_hint_located_at_the_key() -> None:
    msg = one(BASE.replace("  customer: {type: text, required: true}", "  customer: {type: text, requird: true}"))
    assert msg.startswith("flows/demo.yaml:6:26: unknown key 'requird'")
    assert "did you mean 'required'" in msg


def test_wrong_type_located_at_value() -> None:
    msg = one(BASE.replace("min: 1}", "min: lots}"))
    assert msg.startswith("flows/demo.yaml:7:")
    assert "fields.quantity" in msg


def test_unknown_field_type_hint() -> None:
    msg = one(BASE.replace("{type: integer, min: 1}", "{type: integr}"))
    assert ":7:" in msg and "unknown field type 'integr'" in msg and "did you mean 'integer'" in msg


def test_missing_required_key_located_at_parent() -> None:
    msg = one(BASE.replace("  submit: {from: draft, to: review, by: sales}", "  submit: {from: draft, by: sales}"))
    assert msg.startswith("flows/demo.yaml:21:")
    assert "missing required key 'to'" in msg


def test_undefined_state_with_did_you_mean() -> None:
    msg = one(BASE.replace("to: done, by: clerk", "to: dnoe, by: clerk"))
    assert msg.startswith("flows/demo.yaml:22:31: unknown state 'dnoe' — did you mean 'done'?")


def test_undefined_role_in_by_and_owner() -> None:
    found = problems(BASE.replace("by: sales}", "by: sals}").replace("    owner: clerk", "    owner: clerc"))
    assert any(p.startswith("flows/demo.yaml:16:12: unknown role 'clerc'") and "did you mean 'clerk'" in p for p in found)
    assert any(p.startswith("flows/demo.yaml:21:") and "unknown role 'sals'" in p for p in found)


def test_undefined_field_in_edit_require_hide() -> None:
    text = BASE.replace("edit: [customer, quantity, price]", "edit: [customer, quantty, price]\n    hide: [nope]")
    text = text.replace("by: clerk, when", "by: clerk, require: [custmer], when")
    found = problems(text)
    assert any(p.startswith("flows/demo.yaml:14:22: unknown field 'quantty'") for p in found), found
    assert any(p.startswith("flows/demo.yaml:15:12: unknown field 'nope'") for p in found), found
    assert any(":23:" in p and "unknown field 'custmer'" in p and "did you mean 'customer'" in p for p in found), found


def test_unreachable_state() -> None:
    text = BASE.replace("  done:\n", "  limbo:\n    owner: clerk\n  done:\n").replace(
        "  approve:", "  leave: {from: limbo, to: done, by: clerk}\n  approve:")
    msg = one(text)
    assert msg.startswith("flows/demo.yaml:18:3: state 'limbo' cannot be reached")


def test_dead_end_state() -> None:
    text = BASE.replace("  approve: {from: review, to: done, by: clerk, when: \"amount < 1000\"}\n", "")
    found = problems(text)
    assert any(p.startswith("flows/demo.yaml:15:3: state 'review' is not final but no transition leaves it") for p in found)


def test_transition_leaving_final_state() -> None:
    text = BASE.replace("transitions:\n", "transitions:\n  reopen: {from: done, to: review, by: clerk}\n")
    msg = one(text)
    assert msg.startswith("flows/demo.yaml:21:")
    assert "leaves final state 'done'" in msg


def test_computed_field_unknown_reference_and_cycle() -> None:
    text = BASE.replace('compute: "quantity * price"', 'compute: "quantity * prise"')
    msg = one(text)
    assert msg.startswith("flows/demo.yaml:9:") and "unknown field 'prise'" in msg and "did you mean 'price'" in msg
    cyc = BASE.replace("  owner: {type: user, role: sales}",
                       '  a: {type: integer, compute: "b + 1"}\n  b: {type: integer, compute: "a + 1"}')
    msg = one(cyc)
    assert "cycle" in msg and ("a → b → a" in msg or "b → a → b" in msg)
    assert msg.startswith("flows/demo.yaml:10:") or msg.startswith("flows/demo.yaml:11:")


def test_expression_that_does_not_compile_located_at_expression() -> None:
    msg = one(BASE.replace('when: "amount < 1000"', 'when: "amount <"'))
    assert msg.startswith("flows/demo.yaml:22:54: expression does not compile")


def test_condition_with_unknown_name() -> None:
    msg = one(BASE.replace('when: "amount < 1000"', 'when: "amout < 1000"'))
    assert "unknown field 'amout'" in msg and "did you mean 'amount'" in msg


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Customer", "must be snake_case ASCII"),
        ("kunde_ä", "must be snake_case ASCII"),
        ("none", "is a word of the expression language"),
        ("and", "is a word of the expression language"),
        ("state", "reserved for a system column"),
        ("version", "reserved for a system column"),
    ],
)
def test_bad_field_identifiers(name: str, expected: str) -> None:
    msg = one(BASE.replace("  customer: {type: text, required: true}", f"  {name}: {{type: text}}").replace(
        "edit: [customer, quantity, price]", "edit: [quantity, price]"))
    assert msg.startswith("flows/demo.yaml:6:3:"), msg
    assert expected in msg


def test_bad_state_identifier() -> None:
    found = problems(BASE.replace("  done:\n", "  Done:\n").replace("to: done", "to: Done"))
    assert any(p.startswith("flows/demo.yaml:18:3:") and "snake_case" in p for p in found)


def test_yaml_traps_are_defused() -> None:
    text = BASE.replace("  clerk: {title: Clerk}", "  clerk: {title: no}").replace(
        "fields:\n", "fields:\n  slot: {type: text, default: 1:30}\n  answer:\n    type: choice\n    choices: {yes: Yes, no: No}\n")
    flow = load_flow_text(text)
    assert flow.spec.roles["clerk"].title == "no"
    assert flow.fields["slot"].default == "1:30"
    assert list(flow.fields["answer"].choices) == ["yes", "no"]


def test_duplicate_key_refused() -> None:
    msg = one(BASE.replace("  quantity: {type: integer, min: 1}", "  quantity: {type: integer, min: 1}\n  quantity: {type: text}"))
    assert msg.startswith("flows/demo.yaml:8:3: duplicate key 'quantity'")


def test_python_tag_refused_without_executing() -> None:
    msg = one(BASE.replace("flow: demo", "flow: !!python/object/apply:os.system ['touch /tmp/relayflow-pwned']"))
    assert msg.startswith("flows/demo.yaml:1:7:") and "tags are not allowed" in msg


def test_alias_bomb_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(8))
    assert "too large" in one(bomb)


def test_oversized_file_refused() -> None:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text("flow: demo\n" + "# padding\n" * 200_000)
    assert "too large" in str(info.value)


def test_all_errors_reported_at_once() -> None:
    text = BASE.replace("owner: clerk", "owner: clerc").replace("to: done", "to: dnoe").replace(
        'when: "amount < 1000"', 'when: "amount <"')
    found = problems(text)
    assert len(found) >= 3
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_calendar_problems_located() -> None:
    msg = one(BASE.replace("timezone: Asia/Shanghai", "timezone: Asia/Shanghia"))
    assert msg.startswith("flows/demo.yaml:24:13:") and "timezone" in msg.lower()
    msg = one(BASE.replace("    sla: 4h", "    sla: 4w"))
    assert msg.startswith("flows/demo.yaml:17:") and "5d" in msg


def test_business_clock_needs_a_calendar() -> None:
    text = BASE.split("calendar:")[0]
    msg = one(text)
    assert msg.startswith("flows/demo.yaml:17:") and "no calendar" in msg


def test_not_a_mapping() -> None:
    assert "is a mapping" in one("- just\n- a list\n")


def test_shared_calendar_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.language.loader import load_calendars_file

    cal = tmp_path / "calendars.yaml"
    cal.write_text("calendars:\n  office:\n    timezone: Europe/Berlin\n    hours: {mon-fri: ['09:00-17:00']}\n")
    calendars = load_calendars_file(cal)
    text = BASE.split("calendar:")[0] + "calendar: office\n"
    flow = load_flow_text(text, calendars=calendars)
    assert str(flow.timezone) == "Europe/Berlin" and "review" in flow.clocks
    msg = one(BASE.split("calendar:")[0] + "calendar: ofice\n")
    assert msg.startswith("flows/demo.yaml:23:11: unknown calendar 'ofice'")
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(text.replace("office", "offce"), source="flows/demo.yaml", calendars=calendars)
    assert "did you mean 'office'" in str(info.value)
    cal.write_text("calendars:\n  office:\n    timezone: Mars/Olympus\n    hours: {mon-fri: ['09:00-17:00']}\n")
    with pytest.raises(FlowLoadError) as info:
        load_calendars_file(cal)
    assert ":3:15:" in str(info.value) and "timezone" in str(info.value)


def test_computed_amount_is_rounded_not_dropped() -> None:
    from decimal import Decimal

    from engine.records.actor import Actor
    from engine.records.records import Records

    flow = load_flow_text(BASE.replace('compute: "quantity * price"', 'compute: "price / 3"'))
    values = {"quantity": 1, "price": Decimal("10.00"), "customer": "x", "owner": None, "amount": None}
    Records.compute(flow, values, Actor(id=1, username="u"), datetime.now(timezone.utc))
    assert values["amount"] == Decimal("3.33")
