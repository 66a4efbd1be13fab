"""Which fields a reader may edit on a record, counting its assignment (docs/access-control.md,
"Task ownership").

`field_modes` / `editable_fields` (engine/records/access.py) answer from the roles alone. On a record
assigned to someone else, a member of the owner role is refused on save (NotAssignee); the page and the
API's `editable` list say so beforehand: those fields are read-only for them. `actor` is who acts — pass
the stand-in actor (Access.acting_as) so that a delegate of the assignee keeps the inputs.
"""
from __future__ import annotations

from engine.language.flow import CompiledFlow
from engine.records.access import FieldMode, editable_fields, field_modes
from engine.records.actor import Actor
from engine.records.ownership import acts_freely


def may_edit_now(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor) -> bool:
    """False when the record's edits are the assignee's task and `actor` is not them (nor admin)."""
    if state not in flow.spec.states:
        return False
    return acts_freely(flow, state, assignee_id, actor, actor.roles & flow.editors_of(state))


def owned_field_modes(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor) -> dict[str, FieldMode]:
    modes = field_modes(flow, state, actor)
    if may_edit_now(flow, state, assignee_id, actor):
        return modes
    return {n: (FieldMode.READ if m == FieldMode.EDIT else m) for n, m in modes.items()}


def owned_editable_fields(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor) -> frozenset[str]:
    if not may_edit_now(flow, state, assignee_id, actor):
        return frozenset()
    return editable_fields(flow, state, actor)


def may_stand_in(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor) -> bool:
    """Whether only a delegation of the assignee could give `actor` inputs here (worth looking up): their roles
    may edit, the assignment stops them. Lets callers skip the look-up (and its connection) otherwise."""
    return (assignee_id not in (None, actor.id) and not actor.is_admin and bool(editable_fields(flow, state, actor))
            and not may_edit_now(flow, state, assignee_id, actor))
