"""History through the API leaves out fields hidden in the record's current state."""
from __future__ import annotations

from engine.records.access import Access
from tests.conftest import World

FLOW = """\
flow: secretive
roles: {staff: Staff, boss: Boss}
fields:
  note: {type: text}
  salary: {type: integer}
states:
  open: {owner: staff, edit: [note, salary]}
  shown: {owner: boss, hide: [salary]}
  done: {final: true}
transitions:
  show: {from: open, to: shown, by: staff}
  finish: {from: shown, to: done, by: boss}
"""


def test_hidden_field_diffs_are_not_served(sqlite_url: str) -> None:
    w = World(sqlite_url, FLOW)
    staff = w.user("sam", "staff")
    rec = w.records.create("secretive", staff, {"note": "hi", "salary": 5000})
    rec = w.records.transition("secretive", rec.id, "show", staff, expected_version=1)
    access = Access(w.db, w.registry, w.records)
    entries = access.history("secretive", rec.id, staff)
    assert entries[0]["changes"] == {"note": [None, "hi"]}
    assert all("salary" not in (e.get("changes") or {}) for e in entries)
