"""Reload changes that may not be what the file's author meant: the plan says so and asks for a confirmation.

* A **choice removed while records still hold it**: those records would keep an id that is no
  longer a choice (shown as the bare id, refused when next saved). The file can say where they
  go — `choices_moved: {old_id: new_id}` on the field — and the reload moves them (a `data`
  change with its count). Left unmapped, the plan asks the admin to confirm keeping them as they
  are (token `choice_removed:<field>:<id>`).
* A **field removed next to a look-alike added** (same type, a similar name or the same title)
  without `renamed_from:`: the values would stay hidden in the old column and the new field
  would start empty — usually a rename that forgot `renamed_from:`. The plan says so and asks to
  confirm (token `not_renamed:<old>:<new>`), or the file adds `renamed_from: <old>`.

Confirmations go with the apply (`apply_flow(confirmed=...)`; the editor's check boxes, the API's
`confirm` list, the CLI's `--confirm`). They are not part of the plan hash: the plan is the same,
the admin only says they mean it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import bindparam, column, func, select, table, update

from engine.evolve.column_types import type_key
from engine.evolve.context import PlanContext, plural
from engine.evolve.model import ApplyContext, Step
from forms import FieldSpecBase

SIMILAR = 0.75  # difflib ratio of two field ids above which they look alike
MULTI_SCAN = 100_000  # multichoice values are counted in Python, up to this many records


def _similar(a: str, b: str, spec_a: FieldSpecBase, spec_b: FieldSpecBase) -> bool:
    if spec_a.title is not None and str(spec_a.title) == str(spec_b.title):
        return True
    a_, b_ = a.replace("_", "").lower(), b.replace("_", "").lower()
    return a_ in b_ or b_ in a_ or SequenceMatcher(None, a_, b_).ratio() >= SIMILAR


def plan_lookalikes(ctx: PlanContext) -> None:
    if ctx.old is None or not ctx.facts.exists:
        return
    added = [c.subject for c in ctx.changes if c.kind == "field_added"]
    retired = [c.subject for c in ctx.changes if c.kind == "field_retired"]
    for new in added:
        new_spec = ctx.flow.fields[new]
        for old in retired:
            old_spec = ctx.old.fields.get(old)
            if old_spec is None or type_key(old_spec) != type_key(new_spec) or not _similar(old, new, old_spec, new_spec):
                continue
            n = ctx.values_in(old)
            if not n:
                continue
            ctx.change("fields", "field_lookalike", new,
                       f"Field '{old}' is removed and {ctx.field_label(new)} is added, of the same type and a similar "
                       f"name, without `renamed_from: {old}`: the {plural(n, 'value')} of '{old}' stay hidden in its "
                       f"column and {ctx.field_label(new)} starts empty. If it is a rename, add `renamed_from: {old}` "
                       "to the new field; otherwise confirm", "data", count=n, confirm=f"not_renamed:{old}:{new}")


def _counts(ctx: PlanContext, source: str, ids: set[str], multi: bool) -> dict[str, int]:
    """How many records hold each of `ids` in column `source`."""
    t = table(ctx.table_name, column(source))
    col = t.c[source]
    if not multi:
        rows = ctx.conn.execute(select(col, func.count()).where(col.in_(sorted(ids))).group_by(col)).all()
        return {str(v): int(n) for v, n in rows}
    counts: dict[str, int] = {}
    for (value,) in ctx.conn.execute(select(col).where(col.is_not(None)).limit(MULTI_SCAN)):
        items = json.loads(value) if isinstance(value, str) else value
        for item in items or ():
            if item in ids:
                counts[item] = counts.get(item, 0) + 1
    return counts


def plan_choices(ctx: PlanContext) -> None:
    if ctx.old is None or not ctx.facts.exists:
        return
    for name, new in ctx.flow.fields.items():
        if not hasattr(new, "choices"):
            continue
        source = ctx.renamed_columns.get(name, name)
        old = ctx.old.fields.get(source)
        if old is None or not hasattr(old, "choices") or old.type != new.type or source not in ctx.facts.columns:
            continue
        removed = set(old.choices) - set(new.choices)
        if not removed:
            continue
        multi = new.type == "multichoice"
        held = _counts(ctx, source, removed, multi)
        moves = {k: v for k, v in getattr(new, "choices_moved", {}).items() if held.get(k)}
        label = ctx.field_label(name)
        if moves:
            n = sum(held[k] for k in moves)
            said = ", ".join(f"'{k}' → '{v}' ({held[k]:,})" for k, v in sorted(moves.items()))
            ctx.change("fields", "choices_moved", name,
                       f"Field {label}: {plural(n, 'record')} holding a removed choice get its replacement: {said}",
                       "data", count=n)
            ctx.step(MoveChoices(ctx.table_name, name, tuple(sorted(moves.items())), multi))
        for gone in sorted(removed - set(moves)):
            n = held.get(gone, 0)
            if not n:
                continue
            ctx.change("fields", "choice_removed", name,
                       f"Field {label}: choice '{gone}' is removed but {plural(n, 'record')} hold it; they keep "
                       f"it (shown as '{gone}', to be changed when next saved) unless the file says where they go: "
                       f"`choices_moved: {{{gone}: <a remaining choice>}}`. Keeping them needs a confirmation",
                       "data", count=n, confirm=f"choice_removed:{name}:{gone}")


@dataclass(frozen=True)
class MoveChoices(Step):
    """Records holding removed choice ids get the ids that replace them (`choices_moved`)."""

    table_name: str
    field: str
    moves: tuple[tuple[str, str], ...]
    multi: bool

    def key(self) -> tuple[str, ...]:
        return ("move_choices", self.table_name, self.field, json.dumps(self.moves))

    def run(self, ctx: ApplyContext) -> None:
        t = table(self.table_name, column("id"), column(self.field))
        col = t.c[self.field]
        mapping = dict(self.moves)
        if not self.multi:
            for old, new in self.moves:
                ctx.conn.execute(update(t).where(col == old).values({self.field: new}))
            return
        order = list(ctx.flow.fields[self.field].choices)  # type: ignore[attr-defined]
        write = update(t).where(t.c.id == bindparam("_id")).values({self.field: bindparam("_v")})
        for rid, value in ctx.conn.execute(select(t.c.id, col).where(col.is_not(None))).all():
            items = json.loads(value) if isinstance(value, str) else list(value or ())
            moved = [mapping.get(i, i) for i in items]
            if moved != items:
                kept = [k for k in order if k in set(moved)] + [i for i in dict.fromkeys(moved) if i not in order]
                ctx.conn.execute(write, {"_id": rid, "_v": json.dumps(kept)})
