"""Reload plans say what they really do: clocks moved by a calendar's time zone, removed choices, look-alike fields."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.evolve.helpers import Evolving, change, edit

CAL_FLOW = """\
flow: tickets
title: Tickets
roles: {clerk: Clerk, manager: Manager}
calendar:
  timezone: Asia/Shanghai
  hours: {mon-sun: "09:00-18:00"}
fields:
  subject: {type: text}
states:
  open: {owner: clerk, edit: [subject]}
  work: {owner: clerk, sla: {due: 40h, clock: business, on_change: recompute}}
  done: {final: true}
transitions:
  start: {from: open, to: work, by: clerk}
  finish: {from: work, to: done, by: clerk}
"""


@pytest.fixture
def tickets(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, CAL_FLOW)
    yield w
    w.close()


def test_a_time_zone_change_says_which_clocks_move_and_by_how_much(tickets: Evolving) -> None:
    recs = [tickets.create({"subject": f"t{i}"}, "start") for i in range(3)]
    tickets.create({"subject": "not started"})
    moved = edit(CAL_FLOW, ("  timezone: Asia/Shanghai", "  timezone: Europe/Berlin"))
    plan = tickets.plan(moved)
    c = change(plan, "sla_recomputed", "work")
    assert c.count == 3 and c.effect == "data"
    m = re.search(r"3 running clocks move: 3 by ([+-][0-9dhm ]+)", c.text)
    assert m, c.text
    before = tickets.get(recs[0].id).system["sla_due_at"]
    tickets.apply(moved, plan)
    after = tickets.get(recs[0].id).system["sla_due_at"]
    shift = after - before
    from engine.evolve.clock_shifts import signed
    assert m.group(1).strip() == signed(shift)  # the plan said exactly how far the clock moved
    assert f"record #{recs[0].id}: due" in c.text and "Europe/Berlin" in c.text
    from ui.i18n import Translator, translate_message
    zh = translate_message(Translator("zh-CN"), c.text)  # the admin editor in Chinese: no English left
    assert "3 个进行中的计时将移动：3 个移动 " in zh and f"记录 #{recs[0].id}：截止" in zh, zh
    assert not re.search(r"\b(clocks?|move|record|due)\b", zh), zh


def test_keep_says_how_far_the_clocks_would_have_moved(tickets: Evolving) -> None:
    tickets.create({"subject": "t"}, "start")
    kept = edit(CAL_FLOW, ("  timezone: Asia/Shanghai", "  timezone: Europe/Berlin"),
                ("on_change: recompute", "on_change: keep"))
    c = change(tickets.plan(kept), "sla_kept", "work")
    assert "keep their due time" in c.text and "under the new rule they would move: 1 by" in c.text
    from ui.i18n import Translator, translate_message
    assert "按新规则它们将移动：1 个移动" in translate_message(Translator("zh-CN"), c.text)


CHOICES = """\
flow: tickets
title: Tickets
roles: {clerk: Clerk, manager: Manager}
fields:
  subject: {type: text, title: Subject}
  size: {type: choice, choices: {s: Small, m: Medium, l: Large}}
  tags: {type: multichoice, choices: {red: Red, blue: Blue, old: Old}}
states:
  open: {owner: clerk, edit: [subject, size, tags]}
  done: {final: true}
transitions:
  finish: {from: open, to: done, by: clerk}
"""


@pytest.fixture
def choices(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, CHOICES)
    yield w
    w.close()


def test_removing_a_choice_in_use_needs_a_confirmation(choices: Evolving) -> None:
    from engine.evolve import ConfirmationNeeded, apply_flow
    from engine.language.loader import load_flow_text

    big = choices.create({"subject": "a", "size": "l"})
    choices.create({"subject": "b", "size": "s"})
    no_large = edit(CHOICES, (", l: Large}", "}"))
    plan = choices.plan(no_large)
    c = change(plan, "choice_removed", "size")
    assert c.count == 1 and c.confirm == "choice_removed:size:l" and "choices_moved" in c.text
    assert plan.confirmations == ["choice_removed:size:l"]
    with pytest.raises(ConfirmationNeeded):
        apply_flow(choices.db, load_flow_text(no_large), expected=plan)
    assert choices.live_revision() == 1  # nothing applied
    apply_flow(choices.db, load_flow_text(no_large), expected=plan, confirmed=["choice_removed:size:l"])
    choices.registry.refresh(choices.db)
    assert choices.raw("size")[big.id] == "l"  # kept, as confirmed


def test_choices_moved_moves_the_records_that_hold_a_removed_choice(choices: Evolving) -> None:
    big = choices.create({"subject": "a", "size": "l", "tags": ["red", "old"]})
    small = choices.create({"subject": "b", "size": "s", "tags": ["old"]})
    moved = edit(CHOICES, (", l: Large}", "}, choices_moved: {l: m}"),
                 ("blue: Blue, old: Old}", "blue: Blue}, choices_moved: {old: blue}"))
    plan = choices.plan(moved)
    assert not plan.confirmations and not plan.refused
    assert "'l' → 'm' (1)" in change(plan, "choices_moved", "size").text
    assert change(plan, "choices_moved", "tags").count == 2
    choices.apply(moved, plan)
    assert choices.get(big.id).values["size"] == "m" and choices.get(small.id).values["size"] == "s"
    assert choices.get(big.id).values["tags"] == ["red", "blue"] and choices.get(small.id).values["tags"] == ["blue"]
    # A client still sending the old id gets the new one.
    rec = choices.create({"subject": "c", "size": "l"})
    assert rec.values["size"] == "m"


def test_choices_moved_must_name_a_removed_and_a_remaining_choice() -> None:
    from engine.language.loader import load_flow_text
    from engine.language.problems import FlowLoadError

    for bad in ("choices_moved: {s: m}", "choices_moved: {l: x}"):
        with pytest.raises(FlowLoadError):
            load_flow_text(edit(CHOICES, (", l: Large}", "}, " + bad)))


def test_a_removed_field_next_to_a_look_alike_needs_a_confirmation(choices: Evolving) -> None:
    from engine.evolve import ConfirmationNeeded

    rec = choices.create({"subject": "kept"})
    lookalike = edit(CHOICES, ("  subject: {type: text, title: Subject}", "  subjects: {type: text, title: Subject line}"),
                     ("edit: [subject,", "edit: [subjects,"))
    plan = choices.plan(lookalike)
    c = change(plan, "field_lookalike", "subjects")
    assert c.count == 1 and "renamed_from: subject" in c.text and c.confirm == "not_renamed:subject:subjects"
    with pytest.raises(ConfirmationNeeded):
        choices.apply(lookalike, plan)
    # The way forward the plan names: a rename keeps the values.
    renamed = lookalike.replace("title: Subject line}", "title: Subject line, renamed_from: subject}")
    plan = choices.plan(renamed)
    assert not plan.confirmations
    choices.apply(renamed, plan)
    assert choices.get(rec.id).values["subjects"] == "kept"


def test_an_unrelated_field_swap_asks_nothing(choices: Evolving) -> None:
    choices.create({"subject": "x"})
    other = edit(CHOICES, ("  subject: {type: text, title: Subject}", "  priority: {type: text, title: Priority}"),
                 ("edit: [subject,", "edit: [priority,"))
    assert not choices.plan(other).confirmations
