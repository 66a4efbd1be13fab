"""Moves the engine makes itself, with no role check: an approval that passed or was rejected, a return
(回退) to a state the record has already passed through.

They are written exactly like a transition (engine/records/records.py `_apply`): the record's guarded
UPDATE, its history row, then entering the new state (engine/records/state_entry.py). A return keeps the
data. A named transition the engine fires (`on: approval_passed`, an `on_reject` transition) carries its
effects like one a person fires: its `set` fields, then its `create` / `update` effects in the same
transaction (engine/records/effects.py); an effect that fails refuses the whole step.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.records.actor import Actor
from engine.records.state_entry import plan_entry
from engine.records.transitions import Change, _computed, diff, to_db, values_from_row

if TYPE_CHECKING:
    from engine.records.records import Records
    from engine.storage.executor import WriteTransaction
    from engine.storage.registry import LiveFlow


def move(records: Records, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any], actor: Actor, now: datetime, *,
         transition: str | None = None, to: str | None = None, action: str = "transition",
         comment: str | None = None) -> dict[str, Any]:
    """Move the record whose (locked) row is `row` by `transition`, or to state `to`; returns the row written."""
    flow = live.flow
    effects = flow.effects.get(transition) if transition is not None else None
    if transition is not None:
        to = flow.spec.transitions[transition].to
    assert to is not None
    changes: dict[str, list[Any]]
    written: dict[str, Any]
    if effects is None:
        values, changes, written = values_from_row(flow, row), {}, {}
    else:
        values, changes, written = _set_by(records, tx, live, row, transition or "", actor, now)
    system = {"state": to, "version": int(row["version"]) + 1, "revision": live.revision, "updated_by": actor.id,
              "updated_at": now}
    entry = plan_entry(flow, to, values, row, now, creator_id=row["created_by"])
    change = Change(action, transition, row["state"], to, values, changes, written, system, entry, comment)
    merged = records._apply(tx, live, row, change, actor, now)
    if effects is not None and effects.after_move:
        from engine.records.effects import run_effects

        run_effects(records, tx, live, int(row["id"]), to, values, actor, now, transition or "")
    return merged


def _set_by(records: Records, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any], name: str, actor: Actor,
            now: datetime) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """The values after transition `name`'s `set` effects and what is computed from them, the changes for the
    history and the columns to write (raises the transition's refusal when a field cannot be set)."""
    from engine.records.effects import set_fields

    flow = live.flow
    before = records._values_for_write(tx, live, row)
    if not flow.effects[name].set:
        return before, {}, {}
    after = dict(before)
    refused = set_fields(flow, flow.spec.transitions[name], name, after, actor, now, int(row["id"])) \
        or _computed(flow, after, actor, now)
    if refused is not None:
        raise refused.error
    changes = diff(flow, before, after)
    return after, changes, to_db(flow, {k: after[k] for k in changes})
