"""Task ownership: a record assigned to a person is worked on by that person.

The rule (docs/access-control.md, "Task ownership"): when a record is assigned to someone, the
edits and transitions that its state's owner role may do are done by

* the assignee,
* the assignee's delegate while an out-of-office delegation runs (engine/people/delegation.py):
  they act with the assignee's roles, "on behalf of" them,
* administrators.

Another member of the owner role is refused with a message saying whose task it is (a manager
hands it over with reassign). A record that waits unassigned in its owner role's queue is open to
every member of that role; claiming it (engine/records/claims.py) makes it theirs, and from then
on the rule above holds. What the flow gives to *other* roles than the state's owner (a sales
manager's `cancel`, the customer's `hold` while the order desk reviews) stays theirs whatever the
assignment: they are not the task, they are rights around it. A state without an owner role has
no such difference: there every act on an assigned record is the assignee's.

Reading is not affected: who sees a record is the flow's `visibility` (engine/records/access.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.engine import Connection

from forms.local_text import pick
from forms.messages import Message
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.errors import Forbidden
from engine.records.transitions import OwnerCheck, Refusal, TransitionOption
from engine.people.delegation import stands_in_for
from engine.people.users import roles_of
from engine.storage.schema import users


class NotAssignee(Forbidden):
    """The record is assigned to someone else; the message names them (never an id)."""

    code = "not_assignee"


def _noun(flow: CompiledFlow) -> str:
    """The flow's title as a noun inside a sentence: 'Sales order' → 'sales order' (an acronym keeps its case)."""
    text = pick(flow.spec.title, None, flow.spec.language) or flow.name.replace("_", " ")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def display_name(conn: Connection, uid: int) -> str:
    name = conn.execute(select(users.c.display_name).where(users.c.id == uid)).scalar()
    return str(name) if name else "?"


def acts_freely(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor, acting: frozenset[str]) -> bool:
    """May `actor`, through the roles `acting`, do this to a record of `state` assigned to `assignee_id`,
    without looking anything up? False means: only a delegation of the assignee can still allow it."""
    if assignee_id is None or actor.is_admin or actor.id == assignee_id or actor.on_behalf_of == assignee_id:
        return True
    owner = flow.spec.states[state].owner
    return owner is not None and bool(acting - {owner})


def not_assignee(flow: CompiledFlow, name: str) -> Refusal:
    err = NotAssignee(Message(
        "not_assignee", "This {what} is assigned to {name}; ask them or an administrator to hand it over",
        what=_noun(flow), name=name))
    return Refusal(err.message, err)


def owner_check(conn: Connection, flow: CompiledFlow, actor: Actor) -> OwnerCheck:
    """The ownership check of one write (engine/records/transitions.py `decide_*`), looking up names on `conn`."""
    def check(state: str, assignee_id: int | None, acting: frozenset[str]) -> Refusal | None:
        if acts_freely(flow, state, assignee_id, actor, acting):
            return None
        assert assignee_id is not None
        return not_assignee(flow, display_name(conn, assignee_id))

    return check


def lend(conn: Connection, actor: Actor, assignee_id: int | None, now: datetime | None = None) -> Actor | None:
    """`actor` standing in for `assignee_id` through a running delegation (with the assignee's roles
    added), or None when they do not stand in for them."""
    if assignee_id is None or assignee_id == actor.id or actor.on_behalf_of == assignee_id:
        return None
    if not stands_in_for(conn, actor.id, assignee_id, now or datetime.now(timezone.utc)):
        return None
    return replace(actor, roles=actor.roles | roles_of(conn, assignee_id), on_behalf_of=assignee_id)


def restrict_options(flow: CompiledFlow, state: str, assignee_id: int | None, actor: Actor,
                     options: list[TransitionOption], name_of: Callable[[int], str]) -> list[TransitionOption]:
    """The buttons of a record as `actor` may use them: a transition that is the assignee's task shows
    whose it is instead of firing."""
    out = []
    for o in options:
        by = frozenset(flow.spec.transitions[o.name].by)
        if o.has_role and not acts_freely(flow, state, assignee_id, actor, actor.roles & by):
            assert assignee_id is not None
            reason = not_assignee(flow, name_of(assignee_id)).reason
            o = replace(o, allowed=False, reasons=(reason, *o.reasons))
        out.append(o)
    return out
