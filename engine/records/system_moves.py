"""Moves the engine makes itself, with no role check: an approval that passed or was rejected, a return
(回退) to a state the record has already passed through.

They are written exactly like a transition (engine/records/records.py `_apply`): the record's guarded
UPDATE, its history row, then entering the new state (engine/records/state_entry.py). The field values
do not change: a return keeps the data.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.records.actor import Actor
from engine.records.state_entry import plan_entry
from engine.records.transitions import Change, values_from_row

if TYPE_CHECKING:
    from engine.records.records import Records
    from engine.storage.executor import WriteTransaction
    from engine.storage.registry import LiveFlow


def move(records: Records, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any], actor: Actor, now: datetime, *,
         transition: str | None = None, to: str | None = None, action: str = "transition",
         comment: str | None = None) -> dict[str, Any]:
    """Move the record whose (locked) row is `row` by `transition`, or to state `to`; returns the row written."""
    flow = live.flow
    if transition is not None:
        to = flow.spec.transitions[transition].to
    assert to is not None
    values = values_from_row(flow, row)
    system = {"state": to, "version": int(row["version"]) + 1, "revision": live.revision, "updated_by": actor.id,
              "updated_at": now}
    entry = plan_entry(flow, to, values, row, now, creator_id=row["created_by"])
    change = Change(action, transition, row["state"], to, values, {}, {}, system, entry, comment)
    return records._apply(tx, live, row, change, actor, now)
