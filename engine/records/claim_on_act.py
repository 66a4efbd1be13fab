"""Claim before acting: an edit of an unassigned record claims it (docs/access-control.md, "Task ownership").

A record waiting in its owner role's queue may be edited by any member of that role. Before, the edit left it
in the queue, so two clerks could work on the same record at once and the second one's save was refused only
by the version check. Now the edit that a member of the owner role makes *is* the claim: in the same
transaction the record becomes theirs (`assignee_id`, written on the history as an assignee change), and from
then on the ownership rule holds for everyone else. Nobody is refused with "claim it first": the Claim button
stays for taking a record without changing it.

Only edits claim: a transition leaves the state, and the state it enters assigns anew. Administrators and a
delegate standing in for someone do not claim by editing (they act for others, not to take the task).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.claims import may_claim

if TYPE_CHECKING:
    from engine.records.transitions import Change


def claim_with_edit(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor, change: Change) -> None:
    """Make the edit `change` also assign the record to `actor` when the edit is their claim."""
    if actor.is_admin or actor.on_behalf_of is not None or not may_claim(flow, state, assignee_id, actor):
        return
    change.system["assignee_id"] = actor.id
    change.changes["assignee_id"] = [None, actor.id]
