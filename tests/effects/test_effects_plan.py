"""Effects in the reload plan (in words, in the reader's language) and in the SLA simulation."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from engine.language.flow_set import load_flow_folder
from engine.sla.simulate import format_timeline, parse_path, simulate
from tests.effects.conftest import FLOWS
from tests.evolve.helpers import Evolving, change, edit
from ui.i18n import Translator, translate_message

FLOW = """
flow: parcel
title: {zh-CN: 包裹, en: Parcel}
language: zh-CN
roles: {clerk: {title: {zh-CN: 文员, en: Clerk}}}
fields:
  label: {type: text, title: {zh-CN: 标签, en: Label}}
  sent_at: {type: datetime, title: {zh-CN: 寄出时间, en: Sent at}}
states:
  open: {owner: clerk, edit: [label]}
  sent: {final: true}
transitions:
  send: {title: {zh-CN: 寄出, en: Send}, from: open, to: sent, by: clerk}
"""


@pytest.fixture
def parcels(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, FLOW)
    yield w
    w.close()


def test_a_new_set_is_in_the_plan_as_a_rule_change(parcels: Evolving) -> None:
    plan = parcels.plan(edit(FLOW, ("by: clerk}", 'by: clerk, set: {sent_at: "now"}}')))
    c = change(plan, "transition_effects", "send")
    assert "now sets" in c.text
    assert c.effect == "safe"
    zh = translate_message(Translator("zh-CN"), c.text)
    assert "寄出时间" in zh and "now sets" not in zh, zh
    assert not [x for x in plan.changes if x.kind == "transition_changed"]  # not also reported as a changed transition


def test_the_simulation_says_where_effects_would_run() -> None:
    found = load_flow_folder(FLOWS)
    flow = next(f for f in found.good if f.name == "sales_order")
    start = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
    stages = simulate(flow, start, parse_path("submit, ship"))
    shipped = stages[-1]
    assert shipped.via == "ship" and any("creates a collection_task record" in e for e in shipped.effects)
    assert "↳ ship: sets shipped_at" in format_timeline(flow, stages)
