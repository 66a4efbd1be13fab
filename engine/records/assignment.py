"""Who a record is assigned to when it enters a state.

`creator` and `{field: x}` name one user; `round_robin` and `least_loaded`
pick among the owner role's active members. Without `assign` the record
waits in the owner role's queue (assignee_id NULL) for a member to claim it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.storage.schema import assign_cursors
from engine.people.users import role_members
from engine.people.departments import manager_of


def assignment_on_entry(flow: CompiledFlow, state: str, values: Mapping[str, Any],
                        *, creator_id: int | None) -> tuple[dict[str, Any], str | None]:
    """The assignee columns of entering `state`, decided without the database.

    The second item names the pooled strategy (`round_robin`, `least_loaded`) whose member
    is picked when the entry is written (`pick_assignee`), or is None.
    """
    st = flow.state(state)
    if st.final:
        return {"assignee_id": None, "assignee_role": None}, None
    out: dict[str, Any] = {"assignee_id": None, "assignee_role": st.owner}
    if st.assign is None:
        return out, None
    strategy = st.assign.strategy
    if strategy == "creator":
        out["assignee_id"] = creator_id
    elif strategy == "field":
        out["assignee_id"] = values.get(st.assign.field or "")
    elif strategy in ("round_robin", "least_loaded") and st.owner:
        return out, strategy
    elif strategy == "manager_of":  # the person whose manager is picked when written (`pick_assignee`)
        whose = st.assign.manager_of or "creator"
        out["assignee_id"] = creator_id if whose == "creator" else values.get(whose)
        return out, strategy
    return out, None


def pick_assignee(conn: Connection, flow: CompiledFlow, state: str, strategy: str, person: int | None = None) -> int | None:
    """A member of the owner role of `state`, chosen by a pooled strategy (reads and may write its cursor);
    for `manager_of`, the manager of `person` (None: nobody found, the record waits in the owner's queue)."""
    if strategy == "manager_of":
        return manager_of(conn, person)
    owner = flow.state(state).owner or ""
    if strategy == "round_robin":
        return _round_robin(conn, flow.name, state, role_members(conn, owner))
    return _least_loaded(conn, flow, role_members(conn, owner))


def assignee_on_entry(conn: Connection, flow: CompiledFlow, state: str, values: Mapping[str, Any],
                      *, creator_id: int | None) -> dict[str, Any]:
    """The assignee columns of entering `state`, a pooled member picked at once."""
    out, pooled = assignment_on_entry(flow, state, values, creator_id=creator_id)
    if pooled is not None:
        out["assignee_id"] = pick_assignee(conn, flow, state, pooled, out["assignee_id"])
    return out


def _round_robin(conn: Connection, flow: str, state: str, members: list[int]) -> int | None:
    if not members:
        return None
    key = (assign_cursors.c.flow == flow) & (assign_cursors.c.state == state)
    q = select(assign_cursors.c.last_user_id).where(key)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    last = conn.execute(q).scalar()
    following = [m for m in members if last is None or m > last]
    chosen = following[0] if following else members[0]
    if last is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(assign_cursors).values(flow=flow, state=state, last_user_id=chosen)
                         .on_conflict_do_update(index_elements=["flow", "state"], set_={"last_user_id": chosen}))
        else:
            conn.execute(insert(assign_cursors).values(flow=flow, state=state, last_user_id=chosen))
    else:
        conn.execute(update(assign_cursors).where(key).values(last_user_id=chosen))
    return chosen


def _least_loaded(conn: Connection, flow: CompiledFlow, members: list[int]) -> int | None:
    if not members:
        return None
    from sqlalchemy import table, column

    t = table(flow.table_name, column("assignee_id"), column("state"))
    counts: dict[int, int] = dict(conn.execute(
        select(t.c.assignee_id, func.count()).where(t.c.assignee_id.in_(members), t.c.state.in_(flow.open_states))
        .group_by(t.c.assignee_id)).all())
    return min(members, key=lambda m: (counts.get(m, 0), m))
