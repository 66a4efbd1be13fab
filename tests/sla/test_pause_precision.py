"""A paused clock resumes with exactly the working time it had left: several pauses never drift."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.language.loader import load_flow_text
from engine.sla.clock import clock_on_entry

FLOW = """
flow: pausing
roles: {staff: Staff}
fields:
  note: {type: text}
states:
  work: {owner: staff, sla: {due: 4h, warn: 50%, clock: elapsed}}
  held: {owner: staff, pause_sla: true}
  done: {final: true}
transitions:
  hold: {from: work, to: held, by: staff}
  resume: {from: held, to: work, by: staff}
  finish: {from: work, to: done, by: staff}
"""


def test_many_sub_second_pauses_move_the_due_by_exactly_their_length() -> None:
    flow = load_flow_text(FLOW)
    t = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    row = clock_on_entry(flow, "work", {}, t)
    first_due, first_warn = row["sla_due_at"], row["sla_warn_at"]
    paused_total = timedelta(0)
    for i in range(7):
        t += timedelta(seconds=10, microseconds=300_000)  # work on for 10.3 s
        row = {**row, **clock_on_entry(flow, "held", row, t)}
        length = timedelta(seconds=1, microseconds=400_000 + i)  # pause for 1.4 s (and a few µs)
        t += length
        paused_total += length
        row = {**row, **clock_on_entry(flow, "work", row, t)}
    assert row["sla_due_at"] == first_due + paused_total
    assert row["sla_warn_at"] == first_warn + paused_total
