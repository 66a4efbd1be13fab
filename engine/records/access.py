"""Access control in one place: who may create, see, edit and move which records.

Every door (the REST API, the pages, bulk actions, the CLI when it acts for a
user) asks this module; nothing else decides. The rules come from the flow
file alone (docs/access-control.md):

* create: `create_by` (default: the owner of the initial state).
* see (`visibility:`), admins always see everything; besides, everyone sees
  the records they created or that are assigned to them ("mine"), and:
    - `all`   — holding any role of the flow: every record;
    - `roles` — records now in one of "my states", or that were ever in one
                (history), or that I acted on;
    - `own`   — records waiting unassigned in one of my states (the role
                queue my inbox shows);
    - `department` — as `own`, and the records created by the members of my
                departments (those I belong to or manage) and of every
                department below them (engine/people/departments.py).
  "Mine" includes the records assigned to someone I stand in for through a
  running out-of-office delegation (engine/people/delegation.py).
  "My states" for a user are the states where one of their roles may act:
  the owner role, the `edit_by` roles, and the roles of every transition
  leaving the state. So whoever may fire a transition can always see the
  record (except under `own`, where an assignee narrows it down).
* fields: editable in a state by its editors (`edit`, minus computed ones),
  hidden where `hide` says so, read-only otherwise; nothing is editable in a
  final state.
* transitions: shown to the roles in `by`; allowed when, besides, the `when`
  condition holds and the required fields are filled. The checks themselves
  (role, editors, creators, conditions) are the ones of engine/records/transitions.py,
  so a door refuses with the same answer as the engine.

Visibility is a SQL condition (`visible_clause`), so lists filter in the
database and invisible records never leave it; a single record is read with
the same condition, so "invisible" and "unknown" both answer NotFound.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from engine.records.actor import Actor
from engine.records.errors import NotFound, ReadOnlyField, WorkflowError
from engine.language.flow import CompiledFlow
from engine.records.reference_titles import retitle
from engine.records.records import Record, Records, TransitionOption
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import history
from engine.records.transitions import Refusal, create_refusal, edit_refusal, find_transition, read_only, role_refusal
from engine.storage.executor import WriteExecutor
from engine.storage.db import UtcDateTime
from engine.people.delegation import delegators_clause
from engine.records.approval_rounds import approval_exists_clause
from engine.people.departments import department_creators
from engine.records.errors import Forbidden
from engine.records.ownership import display_name, lend, restrict_options


class FieldMode(StrEnum):
    EDIT = "edit"
    READ = "read"
    HIDDEN = "hidden"


VISIBILITY_RULES = ("all", "roles", "own", "department")
NOW_PARAM = "rf_now"  # the instant a delegation must be running at, in a statement built once and reused


# --- per-flow lookups, computed once per compiled flow --------------------------------------------

_cache_lock = threading.Lock()


def states_by_role(flow: CompiledFlow) -> dict[str, frozenset[str]]:
    """role → the non-final states where that role may act (own, edit or fire a transition)."""
    return flow.states_by_role


def my_states(flow: CompiledFlow, actor: Actor) -> frozenset[str]:
    """States where one of the actor's roles may act."""
    by_role = states_by_role(flow)
    out: set[str] = set()
    for role in actor.roles:
        out |= by_role.get(role, frozenset())
    return frozenset(out)


# --- create ---------------------------------------------------------------------------------------

def may_create(flow: CompiledFlow, actor: Actor) -> bool:
    return bool(actor.roles & flow.creator_roles)


def check_create(flow: CompiledFlow, actor: Actor) -> None:
    refused = create_refusal(flow, actor)  # the same check as Records.create (engine/records/transitions.py)
    if refused is not None:
        raise refused.error


def create_fields(flow: CompiledFlow) -> frozenset[str]:
    """Fields a creator may set: those editable in the initial state (never computed ones)."""
    return flow.create_fields


# --- see ------------------------------------------------------------------------------------------

def visibility_rule(flow: CompiledFlow) -> str:
    return flow.spec.visibility.read


def visible_clause(live: LiveFlow, actor: Actor, user: Any = None, now: Any = None) -> ColumnElement[bool]:
    """SQL condition on the flow table: the records `actor` may see.

    `user` stands for the actor's id in the SQL (a bind parameter, for statements
    that are built once and reused); by default the id itself. `now` likewise stands for
    the instant delegations are looked at (by default the current one).
    """
    if actor.is_admin:
        return true()
    uid = actor.id if user is None else user
    if now is None:
        now = bindparam(NOW_PARAM, value=datetime.now(timezone.utc), type_=UtcDateTime)
    flow, t = live.flow, live.table
    mine = or_(t.c.created_by == uid, t.c.assignee_id == uid, t.c.assignee_id.in_(delegators_clause(uid, now)))
    if flow.has_approvals:  # an approver (or their delegate) sees the records they have a task on
        mine = or_(mine, approval_exists_clause(flow.name, t.c.id, uid, delegators_clause(uid, now)))
    rule = visibility_rule(flow)
    if rule == "all":  # every signed-in user: master data (customers, products) that other flows refer to
        return true()
    states = sorted(my_states(flow, actor))
    if rule == "department":
        terms = [mine, t.c.created_by.in_(department_creators(uid))]
        if states:
            terms.append(and_(t.c.assignee_id.is_(None), t.c.state.in_(states)))
        return or_(*terms)
    if rule == "own":
        if not states:
            return mine
        return or_(mine, and_(t.c.assignee_id.is_(None), t.c.state.in_(states)))
    # roles: now in one of my states, or ever was (history), or I acted on it
    h = history
    trace = h.c.actor_id == uid
    if states:
        trace = or_(h.c.to_state.in_(states), trace)
    passed = exists().where(h.c.flow == flow.name, h.c.record_id == t.c.id, trace)
    terms = [mine]
    if states:
        terms.append(t.c.state.in_(states))
    terms.append(passed)
    return or_(*terms)


# --- fields ---------------------------------------------------------------------------------------

def editable_fields(flow: CompiledFlow, state: str, actor: Actor) -> frozenset[str]:
    if state in flow.final_states:
        return frozenset()
    return flow.editable_fields(state, actor.roles)


def _modes(flow: CompiledFlow, editable: frozenset[str], hidden: frozenset[str]) -> dict[str, FieldMode]:
    return {name: (FieldMode.EDIT if name in editable else FieldMode.HIDDEN if name in hidden else FieldMode.READ)
            for name in flow.fields}


def field_modes(flow: CompiledFlow, state: str, actor: Actor) -> dict[str, FieldMode]:
    """Mode of every field of a record in `state` for `actor` (in the flow's field order)."""
    return _modes(flow, editable_fields(flow, state, actor), flow.hidden_fields(state))


def create_modes(flow: CompiledFlow, actor: Actor) -> dict[str, FieldMode]:
    """Field modes of the new-record form."""
    editable = create_fields(flow) if may_create(flow, actor) else frozenset()
    return _modes(flow, editable, flow.hidden_fields(flow.initial))


def shown_values(flow: CompiledFlow, state: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a reader gets: everything except the fields hidden in `state`."""
    hidden = flow.hidden_fields(state)
    return {k: v for k, v in values.items() if k not in hidden}


def check_edit(flow: CompiledFlow, state: str, actor: Actor, names: list[str] | set[str] | frozenset[str]) -> None:
    """Refuse an edit of these fields before it reaches the engine (which checks again)."""
    refused = edit_refusal(flow, state, actor)  # the same check as Records.edit (engine/records/transitions.py)
    if refused is not None:
        raise refused.error
    editable = editable_fields(flow, state, actor)
    for name in names:
        if name in flow.fields and name not in editable:
            raise ReadOnlyField(read_only(flow, name, state), field=name)


# --- transitions ----------------------------------------------------------------------------------

def check_transition(flow: CompiledFlow, name: str, actor: Actor) -> None:
    """Unknown transition or a role that may never fire it: refused whatever the state."""
    t = find_transition(flow, name)
    if isinstance(t, Refusal):
        raise t.error
    refused = role_refusal(flow, t, name, actor)  # the same check as firing it (engine/records/transitions.py)
    if refused is not None:
        raise refused.error


@dataclass(frozen=True)
class TransitionView:
    """A transition leaving the record's state, as one user sees it."""

    option: TransitionOption
    visible: bool  # the user holds a role in `by` (a button is shown)

    @property
    def allowed(self) -> bool:
        return self.option.allowed


# --- the facade used by the web layers ------------------------------------------------------------

_probes: dict[tuple[int, frozenset[str], bool], tuple[LiveFlow, Any]] = {}


def _state_probe(live: LiveFlow, actor: Actor) -> Any:
    """`SELECT state WHERE id = :rid AND <visible to :uid>`, built once per flow table and role set."""
    key = (id(live), actor.roles, actor.is_admin)
    hit = _probes.get(key)
    if hit is not None and hit[0] is live:
        return hit[1]
    t = live.table
    stmt = select(t.c.state).where(t.c.id == bindparam("rid"),
                                   visible_clause(live, actor, bindparam("uid"), bindparam(NOW_PARAM, type_=UtcDateTime)))
    with _cache_lock:
        if len(_probes) > 1024:
            _probes.clear()
        _probes[key] = (live, stmt)
    return stmt


class Access:
    """Reads records through the visibility rule and answers permission questions."""

    def __init__(self, db: Engine, registry: FlowRegistry, records: Records) -> None:
        self.db = db
        self.registry = registry
        self.records = records

    def using(self, executor: WriteExecutor) -> Access:
        """This access layer over Records that write through `executor` (and read what it wrote)."""
        other = copy.copy(self)
        other.records = self.records.using(executor)
        return other

    def live(self, flow_name: str) -> LiveFlow:
        return self.registry.get(flow_name)

    def get(self, flow_name: str, record_id: int, actor: Actor) -> Record:
        """A record the actor may see; NotFound when it does not exist or is invisible to them."""
        live = self.registry.get(flow_name)
        t = live.table
        q = select(t).where(t.c.id == record_id, visible_clause(live, actor))
        with self.records.executor.read() as conn:
            row = conn.execute(q).mappings().first()
            if row is None:
                raise NotFound(f"no {flow_name} record {record_id}")
            rec = self.records.with_rows(conn, live, self.records.row_to_record(live, cast(Mapping[str, Any], row)))
            retitle(conn, self.registry, live.flow, actor, [rec])
            return rec

    def visible_state(self, flow_name: str, record_id: int, actor: Actor) -> str:
        """The state of a record the actor may see (a light probe before a write); NotFound otherwise."""
        live = self.registry.get(flow_name)
        stmt = _state_probe(live, actor)
        # Inside a write job, on the job's own connection (a refused write, `own` flows).
        with self.records.executor.read() as conn:
            state = conn.execute(stmt, {"rid": record_id, "uid": actor.id, NOW_PARAM: datetime.now(timezone.utc)}).scalar()
        if state is None:
            raise NotFound(f"no {flow_name} record {record_id}")
        return str(state)

    def may_see(self, flow_name: str, record_id: int, actor: Actor) -> bool:
        try:
            self.visible_state(flow_name, record_id, actor)
        except NotFound:
            return False
        return True

    def acting_as(self, record: Record, actor: Actor) -> Actor:
        """Who `actor` acts as on `record`: themself, or standing in for its assignee through a running
        out-of-office delegation (with the assignee's roles; engine/records/ownership.py)."""
        if actor.is_admin or record.assignee_id in (None, actor.id):
            return actor
        with self.records.executor.read() as conn:
            return lend(conn, actor, record.assignee_id) or actor

    def transitions(self, record: Record, actor: Actor, *, now: datetime | None = None) -> list[TransitionView]:
        actor = self.acting_as(record, actor)
        opts = self.records.available_transitions(record, actor, now=now)
        flow = self.live(record.flow).flow
        if record.state in flow.spec.states:
            with self.records.executor.read() as conn:
                opts = restrict_options(flow, record.state, record.assignee_id, actor, opts,
                                        lambda uid: display_name(conn, uid))
        return [TransitionView(o, o.has_role) for o in opts]

    # Writes. Under `all` and `roles`, whoever may edit in a state or fire a transition from it can see
    # the record (see the module docstring), so a write that succeeds needs no visibility probe: the
    # probe runs only when the write is refused, and turns any refusal into NotFound for someone who
    # may not see the record. Under `own` the probe comes first.

    def _guarded(self, flow_name: str, record_id: int, actor: Actor, write: Callable[[Actor], Record]) -> Record:
        live = self.registry.get(flow_name)
        if visibility_rule(live.flow) in ("own", "department") and not actor.is_admin:
            self.visible_state(flow_name, record_id, actor)
            try:
                return write(actor)
            except Forbidden as exc:
                return self._stand_in(live, record_id, actor, write, exc)
        try:
            return write(actor)
        except Forbidden as exc:
            self.visible_state(flow_name, record_id, actor)
            return self._stand_in(live, record_id, actor, write, exc)
        except WorkflowError:
            self.visible_state(flow_name, record_id, actor)
            raise

    def _stand_in(self, live: LiveFlow, record_id: int, actor: Actor, write: Callable[[Actor], Record],
                  refused: Forbidden) -> Record:
        """After a refusal for want of a role or of the assignment: the write again as the stand-in of the
        record's assignee when `actor` is their delegate now; else the refusal stands. Only refused writes
        pay for this look-up."""
        with self.records.executor.read() as conn:
            lent = self._lent(conn, live, record_id, actor)
        if lent is None:
            raise refused
        return write(lent)

    @staticmethod
    def _lent(conn: Connection, live: LiveFlow, record_id: int, actor: Actor) -> Actor | None:
        if actor.on_behalf_of is not None:
            return None
        assignee = conn.execute(select(live.table.c.assignee_id).where(live.table.c.id == record_id)).scalar()
        return lend(conn, actor, assignee)

    def edit(self, flow_name: str, record_id: int, actor: Actor, values: Mapping[str, Any], *,
             expected_version: int | None, comment: str | None = None) -> Record:
        return self._guarded(flow_name, record_id, actor, lambda who: self.records.edit(
            flow_name, record_id, who, values, expected_version=expected_version, comment=comment))

    def transition(self, flow_name: str, record_id: int, name: str, actor: Actor, *,
                   expected_version: int | None, values: Mapping[str, Any] | None = None,
                   comment: str | None = None) -> Record:
        def write(who: Actor) -> Record:
            check_transition(self.live(flow_name).flow, name, who)
            return self.records.transition(flow_name, record_id, name, who, expected_version=expected_version,
                                           values=values, comment=comment)

        return self._guarded(flow_name, record_id, actor, write)

    def create(self, flow_name: str, actor: Actor, values: Mapping[str, Any] | None = None) -> Record:
        check_create(self.live(flow_name).flow, actor)
        return self.records.create(flow_name, actor, values)

    def history(self, flow_name: str, record_id: int, actor: Actor) -> list[dict[str, Any]]:
        if not self.may_see(flow_name, record_id, actor):
            raise NotFound(f"no {flow_name} record {record_id}")
        # A field hidden in the record's current state is hidden in its past diffs too.
        hidden = self.live(flow_name).flow.hidden_fields(self.records.get(flow_name, record_id).state)
        entries = self.records.history(flow_name, record_id)
        if hidden:
            for entry in entries:
                if entry.get("changes"):
                    entry["changes"] = {k: v for k, v in entry["changes"].items() if k not in hidden}
        return entries
