"""Deadlines from a date field (`due: {field: ship_on, before: 3d}`) on SQLite and PostgreSQL: the end of the
working day N working days before the date, recomputed when the date changes, no deadline on an empty date,
due at once when the date is already too close; located load errors; the simulation and the reload plan."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from engine.evolve import apply_flow, plan_flow
from engine.language.loader import FlowLoadError, load_flow_text
from engine.sla.scheduler import run_flow_pass
from engine.sla.simulate import SimulationError, parse_path, parse_values, simulate
from engine.storage.schema import outbox
from tests.conftest import World
from tests.tasks13.flows import JOB
from ui.i18n import Translator
from ui.sla_view import sla_badge

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 10, 12, 10, 0, tzinfo=CST)  # the week before the holiday of Tuesday 20 October


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


@pytest.fixture
def job(database_url: str) -> Iterator[tuple[World, dict[str, Any]]]:
    w = World(database_url, JOB)
    people = {"sam": w.user("sam", "sales"), "pat": w.user("pat", "plant"), "bo": w.user("bo", "boss")}
    yield w, people
    w.db.dispose()


def _started(w: World, p: dict[str, Any], ship_on: str | None, now: datetime = MONDAY) -> int:
    rec = w.records.create(w.flow, p["sam"], {"subject": "Gears", "ship_on": ship_on}, now=now)
    w.records.transition(w.flow, rec.id, "start", p["sam"], expected_version=rec.version, now=now)
    return rec.id


def test_due_is_the_end_of_the_working_day_three_working_days_before_the_date(job) -> None:  # type: ignore[no-untyped-def]
    w, p = job
    rid = _started(w, p, "2026-10-23")  # a Friday; Tuesday 20 October is a holiday
    system = w.records.get(w.flow, rid).system
    # 3 working days before: Thu 22, Wed 21, (Tue 20 holiday), Mon 19 -> Monday 19 October at 18:00
    assert system["sla_due_at"] == local("2026-10-19T18:00")
    # 5 working days before: 22, 21, 19, Fri 16, Thu 15 -> Thursday 15 October at 18:00
    assert system["sla_warn_at"] == local("2026-10-15T18:00")
    assert system["sla_status"] == "on_track" and system["sla_started_at"] == MONDAY


def test_changing_the_date_in_the_stage_moves_the_deadline_and_a_breach_can_be_lifted(job) -> None:  # type: ignore[no-untyped-def]
    w, p = job
    rid = _started(w, p, "2026-10-15")  # due Mon 12 October 18:00 (Wed 14, Tue 13, Mon 12)
    rec = w.records.get(w.flow, rid)
    assert rec.system["sla_due_at"] == local("2026-10-12T18:00")
    late = local("2026-10-13T09:30")
    assert run_flow_pass(w.db, w.live, now=late).breached == 1
    assert w.records.get(w.flow, rid).system["sla_status"] == "breached"
    # The customer agrees to a later date: the clock is read again from the new date, the breach lifted.
    rec = w.records.edit(w.flow, rid, p["pat"], {"ship_on": "2026-10-30"}, expected_version=None, now=late)
    assert rec.system["sla_due_at"] == local("2026-10-27T18:00")  # 29, 28, 27
    assert rec.system["sla_warn_at"] == local("2026-10-23T18:00")  # 29, 28, 27, 26, 23
    assert rec.system["sla_status"] == "on_track"
    assert rec.system["sla_started_at"] == MONDAY  # the stage goes on: same start
    # An edit that leaves the date alone leaves the clock alone.
    rec2 = w.records.edit(w.flow, rid, p["pat"], {"qty": 4}, expected_version=None, now=late + timedelta(hours=1))
    assert (rec2.system["sla_due_at"], rec2.system["sla_status"]) == (rec.system["sla_due_at"], "on_track")


def test_an_empty_date_means_no_deadline_until_it_is_filled(job) -> None:  # type: ignore[no-untyped-def]
    w, p = job
    rid = _started(w, p, None)
    system = w.records.get(w.flow, rid).system
    assert system["sla_state"] == "making" and system["sla_due_at"] is None and system["sla_warn_at"] is None
    assert run_flow_pass(w.db, w.live, now=MONDAY + timedelta(days=30)).events == 0  # no clock to breach
    for lang, words in (("en", "No deadline"), ("zh-CN", "无截止时间")):
        badge = sla_badge(w.live.flow, "making", system["sla_status"], None, None, MONDAY, Translator(lang))
        assert badge is not None and badge.label == words
    rec = w.records.edit(w.flow, rid, p["pat"], {"ship_on": "2026-10-23"}, expected_version=None, now=MONDAY)
    assert rec.system["sla_due_at"] == local("2026-10-19T18:00") and rec.system["sla_status"] == "on_track"
    # Leaving the stage without a deadline records no met/missed result (there was nothing to meet).
    rid2 = _started(w, p, None)
    w.records.transition(w.flow, rid2, "finish", p["pat"], expected_version=None, now=MONDAY + timedelta(hours=1))


def test_a_date_already_past_is_due_at_once_and_breached_by_the_next_pass(job) -> None:  # type: ignore[no-untyped-def]
    w, p = job
    rid = _started(w, p, "2026-10-13")  # 3 working days before: Thursday 8 October, before the stage began
    system = w.records.get(w.flow, rid).system
    assert system["sla_due_at"] == MONDAY and system["sla_warn_at"] is None
    result = run_flow_pass(w.db, w.live, now=MONDAY + timedelta(seconds=1))
    assert result.breached == 1 and result.warned == 0
    assert w.records.get(w.flow, rid).system["sla_status"] == "breached"
    with w.db.connect() as conn:
        sent = conn.execute(select(outbox.c.event, outbox.c.user_id).where(outbox.c.record_id == rid)).all()
    assert ("breach", p["bo"].id) in sent


@pytest.mark.parametrize(("replace", "where", "words"), [
    ("due: {field: ship_on, before: 3d}", "due: {field: ship_date, before: 3d}",
     "unknown field 'ship_date': a deadline counts back from a date field of this flow — did you mean 'ship_on'?"),
    ("due: {field: ship_on, before: 3d}", "due: {field: qty, before: 3d}", "'qty' holds no date (its type is integer)"),
    ("due: {field: ship_on, before: 3d}", "due: {field: ship_on, before: 4h}", "counts whole working days, e.g. 3d"),
    ("warn: {field: ship_on, before: 5d}", "warn: {field: ship_on, before: 2d}",
     "the warning (2d before the date) is not before the due (3d before the date)"),
])
def test_load_errors_are_located(replace: str, where: str, words: str) -> None:
    with pytest.raises(FlowLoadError) as err:
        load_flow_text(JOB.replace(replace, where))
    text = str(err.value)
    assert words in text
    line = next(i for i, ln in enumerate(JOB.replace(replace, where).splitlines(), 1) if where.split(":")[0] + ":" in ln
                and "field" in ln)
    assert f":{line}:" in text


def test_the_simulation_reads_the_date_given() -> None:
    flow = load_flow_text(JOB)
    stages = {s.state: s for s in simulate(flow, MONDAY, parse_path("start"), parse_values(flow, ["ship_on=2026-10-23"]))}
    assert stages["making"].due_at == local("2026-10-19T18:00") and stages["making"].warn_at == local("2026-10-15T18:00")
    none = {s.state: s for s in simulate(flow, MONDAY, parse_path("start"))}
    assert none["making"].due_at is None  # no date given: no deadline
    with pytest.raises(SimulationError, match="give a date field"):
        parse_values(flow, ["qty=3"])
    with pytest.raises(SimulationError, match="not a date"):
        parse_values(flow, ["ship_on=soon"])


def test_a_reload_to_a_date_deadline_says_so_and_recomputes_running_clocks(job) -> None:  # type: ignore[no-untyped-def]
    w, p = job
    before = JOB.replace("""      due: {field: ship_on, before: 3d}
      warn: {field: ship_on, before: 5d}""", "      due: 2d")
    apply_flow(w.db, load_flow_text(before))
    w.registry.refresh(w.db)
    w.live = w.registry.get(w.flow)
    rid = _started(w, p, "2030-10-25")  # a Friday far ahead: a reload runs at the real time
    assert w.records.get(w.flow, rid).system["sla_due_at"] == local("2026-10-14T10:00")
    after = JOB.replace("before: 3d}", "before: 3d}\n      on_change: recompute")
    plan = plan_flow(w.db, load_flow_text(after))
    texts = [c.text for c in plan.changes if c.kind == "sla_recomputed"]
    assert texts and "3d before 'Ship on' (ship_on)" in texts[0] and "1 running clock" in texts[0]
    apply_flow(w.db, load_flow_text(after), expected=plan)
    w.registry.refresh(w.db)
    assert w.records.get(w.flow, rid).system["sla_due_at"] == local("2030-10-22T18:00")
