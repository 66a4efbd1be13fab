"""What a run of many writes reads again and again, read once: the records its references point at (as one
reader may pick them), their titles, people's names.

An import of 20,000 orders names the same few customers and products in every row; the engine's create
checks each reference and fetches the product's price, and each create's event payload names the customer
and the product by their titles and the creator by name. Without a memo every row asks the database again.
A `ReadMemo` given to `Records.remembering` answers those questions from what it read before, and
`prefetch` reads the targets of a whole batch in one query per target flow.

The memo is only correct while the records it remembers do not change, so its owner keeps it short-lived
(an import clears it at every batch, and after a row that moved a record, whose effects may write to other
flows) and never remembers records of the flows the run itself writes (`writes`). The rules are unchanged:
the memo remembers the answer of the very same query (`visible_target`: visible to this reader, passing the
reference's filter), including "no such record".
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.records.actor import Actor
from engine.storage.id_lists import among
from engine.storage.registry import LiveFlow
from engine.storage.schema import users
from forms.base import FieldSpecBase

if TYPE_CHECKING:
    from engine.records.references import Target

_Who = tuple[int, frozenset[str], bool]
_TargetKey = tuple[str, int, _Who, int]


def _who(actor: Actor) -> _Who:
    return actor.id, actor.roles, actor.is_admin


class ReadMemo:
    """Referenced records, titles and names read during a run of writes (see the module's docstring)."""

    def __init__(self, writes: Iterable[str] = ()) -> None:
        self.writes = frozenset(writes)
        self._targets: dict[_TargetKey, Target | None] = {}
        self._refs: dict[int, FieldSpecBase | None] = {}  # id(ref) → ref: keeps the keys' objects alive
        self._titles: dict[tuple[str, int], str] = {}
        self._names: dict[int, str] = {}

    def clear(self) -> None:
        self._targets.clear()
        self._refs.clear()
        self._titles.clear()
        self._names.clear()

    def _key(self, live: LiveFlow, record_id: int, actor: Actor, ref: FieldSpecBase | None) -> _TargetKey:
        self._refs.setdefault(id(ref), ref)
        return live.flow.name, record_id, _who(actor), id(ref)

    def target(self, live: LiveFlow, record_id: int, actor: Actor, ref: FieldSpecBase | None,
               read: Callable[[], Target | None]) -> Target | None:
        """`read()` (the query of `visible_target`), or what it answered before for the same question."""
        if live.flow.name in self.writes:
            return read()
        key = self._key(live, record_id, actor, ref)
        if key in self._targets:
            return self._targets[key]
        found = read()
        self._targets[key] = found
        return found

    def prefetch(self, conn: Connection, live: LiveFlow, ids: Iterable[int], actor: Actor,
                 ref: FieldSpecBase | None) -> None:
        """The targets `ids` of `live` as `actor` may pick them for `ref`, in one query (absent: remembered
        as none)."""
        from engine.records.references import pickable_clause, record_target
        from engine.records.access import visible_clause

        if live.flow.name in self.writes:
            return
        wanted = sorted({i for i in ids if self._key(live, i, actor, ref) not in self._targets})
        if not wanted:
            return
        t = live.table
        cond = visible_clause(live, actor) if ref is None else pickable_clause(live, ref, actor)
        q = select(t).where(among(t.c.id, wanted, conn.dialect.name), cond)
        found = {int(r["id"]): r for r in conn.execute(q).mappings()}
        for i in wanted:
            row = found.get(i)
            self._targets[self._key(live, i, actor, ref)] = None if row is None else record_target(live, row)

    def titles(self, target: str, ids: set[int],
               read: Callable[[set[int]], dict[tuple[str, int], str]]) -> dict[tuple[str, int], str]:
        """The titles of records `ids` of flow `target`; `read(missing)` reads the ones not known yet."""
        if target in self.writes:
            return read(ids)
        missing = {i for i in ids if (target, i) not in self._titles}
        if missing:
            found = read(missing)
            self._titles.update({(target, i): found.get((target, i), "") for i in missing})
        return {(target, i): self._titles[(target, i)] for i in ids}

    def display_name(self, conn: Connection, user_id: int) -> str:
        """A user's display name ("" when there is none)."""
        if user_id not in self._names:
            name = conn.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar()
            self._names[user_id] = str(name or "")
        return self._names[user_id]
