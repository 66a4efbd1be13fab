"""Record counts per state for the tabs of a list, capped so they stay cheap on big tables.

An exact GROUP BY over a million rows (with the visibility rule's EXISTS on
history for each row) takes seconds on SQLite. A tab only needs "how many,
roughly": each state is counted up to `cap` + 1 matching rows through the
(state, id) index, and the caller shows "1000+" beyond the cap. Filters and
visibility are exactly those of the list (engine/records/listing.py).
"""
from __future__ import annotations

from sqlalchemy import func, literal, select
from sqlalchemy.engine import Engine

from engine.records.actor import Actor
from engine.records.listing import ListQuery, conditions
from engine.storage.registry import LiveFlow

DEFAULT_CAP = 1000


def capped_counts(db: Engine, live: LiveFlow, actor: Actor, query: ListQuery | None = None,
                  cap: int = DEFAULT_CAP) -> dict[str, int]:
    """state → visible records matching the query's filters (not its states), at most cap + 1."""
    t = live.table
    conds = conditions(live, actor, query.without_states() if query else ListQuery(), db)
    states = list(live.flow.spec.states)
    cols = []
    for i, state in enumerate(states):
        inner = select(literal(1)).select_from(t).where(t.c.state == state, *conds).limit(cap + 1).subquery()
        cols.append(select(func.count()).select_from(inner).scalar_subquery().label(f"c{i}"))
    with db.connect().execution_options(readonly=True) as conn:
        row = conn.execute(select(*cols)).one()
    return {state: int(row[i]) for i, state in enumerate(states)}
