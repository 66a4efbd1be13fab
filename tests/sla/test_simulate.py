"""`relayflow simulate`: the reference flow from 2026-09-30 17:30 across the National Day holidays."""
from __future__ import annotations

from datetime import datetime

import pytest
from click.testing import CliRunner

from engine.language.loader import load_flow_text
from engine.sla.simulate import SimulationError, parse_path, simulate
from tests.conftest import REFERENCE_FLOW

START = "2026-09-30T17:30+08:00"
PATH = "submit,approve,finish_production,pass_inspection,ship,close"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def test_timeline_across_national_day(reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    flow = load_flow_text(reference_flow_text)
    stages = {s.state: s for s in simulate(flow, datetime.fromisoformat(START), parse_path(PATH))}
    review = stages["review"]
    # 17:30-18:00 on 30 Sep (0.5h); 1-7 Oct: holidays and a weekend; 8 Oct 09:00-12:00 (3h), 13:00-13:30.
    assert (review.entered, review.warn_at, review.due_at) == (local("2026-09-30T17:30"), local("2026-10-08T11:30"),
                                                               local("2026-10-08T13:30"))
    assert review.first_repeat_at == local("2026-10-08T17:30")
    production = stages["production"]  # 5 working days: 9 Oct, 10 Oct (make-up Saturday), 12, 13, 14 Oct
    assert (production.entered, production.warn_at, production.due_at) == (
        local("2026-10-08T13:30"), local("2026-10-13T13:30"), local("2026-10-14T13:30"))
    assert stages["inspection"].due_at == local("2026-10-15T13:30")
    assert stages["shipping"].due_at == local("2026-10-16T13:30")
    assert stages["collection"].due_at == local("2026-11-15T13:30")  # 30 days of wall time
    assert stages["done"].due_at is None and stages["draft"].due_at is None


def test_pause_in_the_path_moves_the_due(reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    flow = load_flow_text(reference_flow_text)
    steps = parse_path("submit,hold@2026-09-30T17:45+08:00,resume@2026-10-09T09:00+08:00")
    stages = simulate(flow, datetime.fromisoformat(START), steps)
    assert [s.state for s in stages] == ["draft", "review", "on_hold", "review"]
    assert stages[2].status == "paused"
    # 15 minutes used before the pause, 3h45m left from 9 Oct 09:00 → 13:45.
    assert stages[3].due_at == local("2026-10-09T13:45")


def test_bad_paths_are_refused(reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    flow = load_flow_text(reference_flow_text)
    with pytest.raises(SimulationError, match="cannot fire from state 'draft'"):
        simulate(flow, datetime.fromisoformat(START), ["approve"])
    with pytest.raises(SimulationError, match="no transition 'teleport'"):
        simulate(flow, datetime.fromisoformat(START), ["teleport"])


def test_cli_prints_the_timeline() -> None:
    from cli.commands import main

    result = CliRunner().invoke(main, ["simulate", str(REFERENCE_FLOW), "--start", START, "--path", PATH])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert "2026-10-08 Thu 11:30" in lines["review"] and "2026-10-08 Thu 13:30" in lines["review"]
    assert "2026-10-14 Wed 13:30" in lines["production"]
    bad = CliRunner().invoke(main, ["simulate", str(REFERENCE_FLOW), "--start", START, "--path", "close"])
    assert bad.exit_code == 1 and "cannot fire" in bad.output
