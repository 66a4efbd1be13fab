"""The inbox: records waiting on me or on one of my roles, across flows, most urgent first.

While I stand in for someone away (engine/people/delegation.py), their assigned records are in my
inbox too, each marked with whom I act for (`on_behalf_of`).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from forms.local_text import Words
from engine.records.actor import Actor
from engine.records.records import Records, values_from_row
from engine.records.reference_titles import target_titles, with_target_titles
from engine.storage.id_lists import among
from engine.storage.registry import FlowRegistry
from engine.storage.schema import urges
from engine.people.delegation import delegators
from engine.records.inbox_tasks import approval_items, key_field_names, key_values, merge_tasks, urged_records, urgency


@dataclass(frozen=True)
class InboxItem:
    flow: str
    flow_title: Words
    record_id: int
    state: str
    state_title: Words
    title: str
    assignee_id: int | None
    assignee_role: str | None
    sla_status: str | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    on_behalf_of: int | None = None  # a delegator's task: their id
    on_behalf_of_name: str | None = None
    task: str | None = None  # "approval": the reader's own approval task (engine/records/inbox_tasks.py)
    urged: bool = False  # someone urged it in its current state
    key_values: tuple[tuple[str, Any], ...] = ()  # the flow's inbox_fields: (field, value)


def _slices(t, actor: Actor, owned: set[str], standing_in: dict[int, str] | None = None,  # type: ignore[no-untyped-def]
            nulls_last: bool = False):
    """(condition, order) pairs that each map onto one index range read in index order, so every query
    reads only what it returns.

    Records assigned to me (index assignee_id, sla_due_at, id) and, per owned state, the role queue (index
    state, assignee_id, sla_due_at, id) — engine/storage/tables.py. Clocked and clock-less rows are asked for
    separately so that the order by due instant stays an index walk on both databases (SQLite and
    PostgreSQL sort NULLs differently). The order names the index's columns, the constant ones included:
    it is the same order, and it is the one PostgreSQL can only have from that index. Ordered by (due
    instant, id) alone, it prefers walking the single-column due-instant index and filtering, which reads
    most of the table when the slice is small or empty (750 ms at 1,000,000 records, bench/inbox_1m.py).
    `nulls_last` (PostgreSQL, whose ascending order puts NULLs last, in the index too): one range each, the
    clock-less rows after the clocked ones, so that no slice has "due instant IS NULL" for the planner to
    take to the due-instant index.
    """
    def split(cond: Any, order: tuple[Any, ...]) -> Iterator[tuple[Any, tuple[Any, ...]]]:
        if nulls_last:
            yield cond, order
        else:
            yield and_(cond, t.c.sla_due_at.is_not(None)), order
            yield and_(cond, t.c.sla_due_at.is_(None)), order

    for uid in [actor.id, *sorted(standing_in or {})]:
        # PostgreSQL: BETWEEN uid AND uid, not = uid. It drops a column fixed by `=` from the order, and then
        # prefers walking the due-instant index, filtering out everyone else's rows (7 ms for a clerk at
        # 200,000 records, against 0.5 ms for the 200 rows of this range of the assignee index). SQLite
        # needs the `=`: given the range, it reads a clock-less slice off the due-instant index and sorts.
        mine = t.c.assignee_id.between(uid, uid) if nulls_last else t.c.assignee_id == uid
        yield from split(mine, (t.c.assignee_id, t.c.sla_due_at, t.c.id))
    for state in sorted(owned):
        yield from split(and_(t.c.state == state, t.c.assignee_id.is_(None)),
                         (t.c.state, t.c.assignee_id, t.c.sla_due_at, t.c.id))


def inbox(db: Engine, registry: FlowRegistry, actor: Actor, *, limit: int = 200,
          now: datetime | None = None) -> list[InboxItem]:
    items: list[InboxItem] = []
    with db.connect().execution_options(readonly=True) as conn:
        standing_in = delegators(conn, actor.id, now or datetime.now(timezone.utc))
        tasks = approval_items(conn, registry, [actor.id, *sorted(standing_in)], standing_in, limit)
        as_tasks = {(i.flow, i.record_id) for i in tasks}  # shown once, as the task
        checked: set[tuple[str, int]] = set()  # asked about urges already (when a flow's candidates were cut)
        urged: set[tuple[str, int]] = set()
        for live in registry.all():
            flow, t = live.flow, live.table
            owned: set[str] = set()
            for role in actor.roles:
                owned |= flow.states_owned_by.get(role, frozenset())
            title_names = [n for n in (flow.title.names if flow.title else ()) if n in flow.fields]
            title_names = list(dict.fromkeys([*title_names, *key_field_names(flow, t)]))
            cols = (t.c.id, t.c.state, t.c.assignee_id, t.c.assignee_role, t.c.sla_status, t.c.sla_due_at,
                    t.c.sla_warn_at, t.c.created_at, t.c.updated_at, t.c.version, *(t.c[n] for n in title_names))
            open_states = set(flow.open_states)
            rows = []
            conds, cut = [], False
            for cond, order in _slices(t, actor, owned, standing_in, nulls_last=db.dialect.name == "postgresql"):
                got = conn.execute(select(*cols).where(cond).order_by(*order).limit(limit)).mappings().all()
                cut |= len(got) >= limit
                conds.append(cond)
                rows += [row for row in got if row["state"] in open_states and (flow.name, row["id"]) not in as_tasks]
            if cut:  # a slice had more than a page: its urged records may lie past the page, and go first
                rows += _urged_past_the_page(conn, flow.name, t, cols, conds, {row["id"] for row in rows},
                                             open_states, as_tasks)
            kept, urged_among = _most_urgent(conn, flow.name, rows, limit)
            if urged_among is not None:
                checked |= {(flow.name, row["id"]) for row in kept}
                urged |= urged_among
            found = [(row, values_from_row(flow, row, title_names)) for row in kept]
            # A title naming a reference shows the referenced record's title (one query per target flow).
            targets = target_titles(conn, registry, flow, actor, [v for _r, v in found])
            for row, values in found:
                values = with_target_titles(flow, values, targets)
                items.append(InboxItem(
                    flow=flow.name, flow_title=flow.spec.title or flow.name, record_id=row["id"],
                    state=row["state"], state_title=flow.state(row["state"]).title or row["state"],
                    title=Records.title_of(flow, values, row["id"], row["state"]), assignee_id=row["assignee_id"],
                    assignee_role=row["assignee_role"], sla_status=row["sla_status"],
                    sla_due_at=row["sla_due_at"], sla_warn_at=row["sla_warn_at"], created_at=row["created_at"],
                    updated_at=row["updated_at"], version=row["version"],
                    on_behalf_of=row["assignee_id"] if row["assignee_id"] in standing_in else None,
                    on_behalf_of_name=standing_in.get(row["assignee_id"]), key_values=key_values(flow, values, row["state"])))
        items = merge_tasks(conn, tasks, items, checked, urged)  # urged first, then by due time
    return items[:limit]


def _urged_past_the_page(conn: Any, flow: str, t: Any, cols: Any, conds: list[Any], have: set[int],
                         open_states: set[str], as_tasks: set[tuple[str, int]]) -> list[Any]:
    """The reader's records in these slices that were ever urged and are not among `have` (the urge of their
    current stage is checked with the others, by `urged_records`). Urges are few: their record ids are read
    first, then those records by id, so no plan ever walks the slices' rows to find them."""
    ids = [rid for rid in conn.execute(select(urges.c.record_id).where(urges.c.flow == flow).distinct()).scalars()
           if rid not in have]
    if not ids:
        return []
    q = select(*cols).where(among(t.c.id, ids, conn.dialect.name), or_(*conds))
    return [row for row in conn.execute(q).mappings()
            if row["state"] in open_states and (flow, row["id"]) not in as_tasks]


def _most_urgent(conn: Any, flow: str, rows: list[Any], limit: int) -> tuple[list[Any], set[tuple[str, int]] | None]:
    """At most `limit` of a flow's candidate rows, the first ones in the inbox's order: no other can be among
    the inbox's `limit` items, so only these are turned into items (a clerk standing in for a colleague has
    two people's slices, 400 rows for a page of 200). With them, the urged ones among the rows when they had
    to be asked about to cut (None: not asked)."""
    if len(rows) <= limit:
        return rows, None
    urged = urged_records(conn, [(flow, r["id"], r["state"]) for r in rows])
    kept = sorted(rows, key=lambda r: urgency((flow, r["id"]) in urged, r["sla_due_at"], r["updated_at"]))[:limit]
    return kept, urged
