"""References to other flows' records at run time: checking a picked record, fetching copies, lookups,
the picker's search and the list of what refers to a record.

One rule for "may this record be referred to by this reader": it exists, the reader may see it
(engine/records/access.py `visible_clause`) and it passes the reference's `filter`
(engine/records/reference_sql.py), all in one SQL statement. A record failing any of the three is
refused with one answer ("there is no such customer"), so nobody learns that a hidden record exists.

Fetch (`fetch: customer.credit_limit`): when a reference is set or changed, each field fetching
through it gets a copy of the target's value, unless the same step changes that field itself. The
copy is a snapshot: later changes of the source do not touch it. To tell the reader that the source
changed since, the engine remembers what it copied (`reference_fetches`: the source record and the
value copied); the page compares that value with the source's value now. Comparing with the
remembered value, not with the field, keeps a snapshot that someone edited on purpose from being
marked merely because it differs. A re-fetch is an ordinary edit that sets the field to the source's
value now; an edit that makes a fetched field equal to its source's current value remembers it anew.

`fetch_values` works on any mapping of field specs and values, so the rows of a table field can call
it with their row fields, the row's values before and after, and the row's resolved targets.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, select
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.language.reference_rules import FilterNode, parse_filter
from engine.records.actor import Actor
from engine.records.errors import ValidationFailed
from engine.records.read_memo import ReadMemo
from engine.records.reference_sql import filter_clause
from engine.records.transitions import Change, compute, diff, to_db
from engine.storage.executor import WriteTransaction
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import reference_fetches
from engine.storage.search_index import contains_condition, fts_terms, search_fields
from forms import FieldSpecBase, FieldValueError
from forms.local_text import pick
from forms.messages import Message

SEARCH_LIMIT = 20
MAX_SEARCH = 100
BACKLINK_LIMIT = 50


@dataclass(frozen=True)
class Target:
    """A referenced record as one reader may see it."""

    flow: str
    id: int
    title: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Fetched:
    """What a fetch copied: from which record, and the value (as JSON) it copied."""

    source_flow: str
    source_id: int
    value: Any


@dataclass(frozen=True)
class FetchStatus:
    """A fetched field on the record page: the source changed since the copy was taken, and its value now."""

    field: str
    changed: bool
    current: Any  # the value a re-fetch would write (canonical), None when the source is gone or hidden


# --- the flow's reference fields, found once per compiled flow --------------------------------------

_lock = threading.Lock()
_plans: dict[int, tuple[CompiledFlow, dict[str, FieldSpecBase]]] = {}
_filters: dict[str, FilterNode | None] = {}


def reference_fields(flow: CompiledFlow) -> dict[str, FieldSpecBase]:
    """name → spec of the flow's reference fields (cached per compiled flow: the write path asks)."""
    hit = _plans.get(id(flow))
    if hit is not None and hit[0] is flow:
        return hit[1]
    found = {n: f for n, f in flow.fields.items() if f.type == "reference"}
    with _lock:
        if len(_plans) > 512:
            _plans.clear()
        _plans[id(flow)] = (flow, found)
    return found


def _filter(source: str | None) -> FilterNode | None:
    if source is None:
        return None
    if source not in _filters:
        _filters[source] = parse_filter(source)  # checked when the flow loaded
    return _filters[source]


def target_flow(ref: FieldSpecBase) -> str:
    """The flow a reference field names (`ref` is a ReferenceField)."""
    return str(getattr(ref, "flow", ""))


def no_such(ref: FieldSpecBase, name: str, language: str | None) -> Message:
    """The one answer for a missing, hidden or filtered-out target."""
    return Message("no_such_reference", "there is no such {what}", what=pick(ref.title, None, language) or name)


_clauses: dict[tuple[int, int, int, frozenset[str], bool], tuple[LiveFlow, FieldSpecBase, ColumnElement[bool]]] = {}


def pickable_clause(live: LiveFlow, ref: FieldSpecBase, actor: Actor) -> ColumnElement[bool]:
    """Records of `live` this reader may pick for `ref`: visible to them and passing its filter.

    Built once per target table, reference and reader (building it costs more than the indexed
    search itself, which the picker runs at every key stroke)."""
    # Imported here: access.py reads records.py, which calls this module on the write path.
    from engine.records.access import visible_clause

    key = (id(live), id(ref), actor.id, actor.roles, actor.is_admin)
    hit = _clauses.get(key)
    if hit is not None and hit[0] is live and hit[1] is ref:
        return hit[2]
    node = _filter(getattr(ref, "filter", None))
    seen = visible_clause(live, actor)
    clause = seen if node is None else and_(seen, filter_clause(live, node))
    with _lock:
        if len(_clauses) > 4096:
            _clauses.clear()
        _clauses[key] = (live, ref, clause)
    return clause


def visible_target(conn: Connection, live: LiveFlow, record_id: int, actor: Actor,
                   ref: FieldSpecBase | None = None, memo: ReadMemo | None = None) -> Target | None:
    """The record `record_id` of `live` if the reader may see it (and, given `ref`, pick it), else None
    (`memo`: answered from what a run of writes read before, engine/records/read_memo.py)."""
    from engine.records.access import visible_clause

    def read() -> Target | None:
        t = live.table
        cond = visible_clause(live, actor) if ref is None else pickable_clause(live, ref, actor)
        row = conn.execute(select(t).where(t.c.id == record_id, cond)).mappings().first()
        return None if row is None else record_target(live, row)

    return read() if memo is None else memo.target(live, record_id, actor, ref, read)


def record_target(live: LiveFlow, row: Mapping[Any, Any]) -> Target:
    from engine.records.records import Records
    from engine.records.transitions import values_from_row

    flow = live.flow
    values = values_from_row(flow, row)
    return Target(flow.name, int(row["id"]), Records.title_of(flow, values, int(row["id"])),
                  {**values, "state": row["state"], "id": row["id"]})


# --- fetching: over any mapping of fields (a flow's, or a table row's) ------------------------------

def copied_value(field: FieldSpecBase, target_field: FieldSpecBase, value: Any, tz: Any = None) -> Any:
    """A value of the target's field as `field` holds it (FieldValueError when it does not fit)."""
    if value is None:
        return None
    return field.coerce(target_field.to_json(value), tz=tz)


def fetch_values(fields: Mapping[str, FieldSpecBase], before: Mapping[str, Any], after: dict[str, Any],
                 targets: Mapping[str, Target | None], target_fields: Mapping[str, Mapping[str, FieldSpecBase]],
                 errors: dict[str, str], *, tz: Any = None) -> dict[str, Fetched | None]:
    """Copy into `after` (in place) the fetched fields whose reference is set or changed in this step.

    `fields`: the field specs of one mapping of values (a record's, or one table row's); `before` and
    `after`: its values before and after the step; `targets`: reference field → its resolved target
    (only the references that changed; None: cleared); `target_fields`: reference field → the
    target flow's field specs. A field the same step changes itself keeps the value given. Returns
    field → what was copied (None: the reference was cleared; forget the copy); problems go to `errors`."""
    out: dict[str, Fetched | None] = {}
    for name, f in fields.items():
        if f.fetch is None:
            continue
        ref, _, source = f.fetch.partition(".")
        if ref not in targets or after.get(name) != before.get(name):
            continue
        target = targets[ref]
        if target is None:
            after[name] = None
            out[name] = None
            continue
        try:
            value = copied_value(f, target_fields[ref][source], target.values.get(source), tz)
        except FieldValueError as exc:
            errors[name] = exc.message
            continue
        after[name] = value
        out[name] = Fetched(target.flow, target.id, None if value is None else f.to_json(value))
    return out


def _changed_refs(flow: CompiledFlow, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [n for n in reference_fields(flow) if after.get(n) != before.get(n)]


def check_and_fetch(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor,
                    before: Mapping[str, Any], after: dict[str, Any], now: datetime,
                    errors: dict[str, str], memo: ReadMemo | None = None) -> dict[str, Fetched | None]:
    """The reference step of a write: every reference set or changed must point at a record the actor
    may pick (else `errors` gets the one answer); fetched fields are copied, computed fields computed
    again. Returns what to remember (`remember`)."""
    refs = reference_fields(flow)
    targets: dict[str, Target | None] = {}
    target_fields: dict[str, Mapping[str, FieldSpecBase]] = {}
    for name in _changed_refs(flow, before, after):
        ref = refs[name]
        live = registry.get(target_flow(ref)) if target_flow(ref) in registry else None
        if live is not None:
            target_fields[name] = live.flow.fields
        if after.get(name) is None:
            targets[name] = None
            continue
        target = visible_target(conn, live, after[name], actor, ref, memo) if live is not None else None
        if target is None:
            errors[name] = no_such(ref, name, flow.spec.language)
            continue
        targets[name] = target
    fetched = fetch_values(flow.fields, before, after, targets, target_fields, errors, tz=flow.timezone)
    fetched.update(_refetched(conn, registry, flow, actor, before, after, targets, memo))
    if fetched:
        errors.update(compute(flow, after, actor, now))
    return fetched


def _refetched(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor,
               before: Mapping[str, Any], after: Mapping[str, Any],
               targets: Mapping[str, Target | None], memo: ReadMemo | None = None) -> dict[str, Fetched | None]:
    """Fetched fields changed by hand to exactly their source's value now (a re-fetch): remembered anew."""
    out: dict[str, Fetched | None] = {}
    for name, f in flow.fields.items():
        if f.fetch is None or after.get(name) == before.get(name) or after.get(name) is None:
            continue
        ref, _, source = f.fetch.partition(".")
        if ref in targets or after.get(ref) is None or ref not in flow.fields:
            continue
        tname = target_flow(flow.fields[ref])
        if tname not in registry:
            continue
        live = registry.get(tname)
        target = visible_target(conn, live, after[ref], actor, memo=memo)
        if target is None:
            continue
        try:
            current = copied_value(f, live.flow.fields[source], target.values.get(source), flow.timezone)
        except (FieldValueError, KeyError):
            continue
        if current == after[name]:
            out[name] = Fetched(target.flow, target.id, f.to_json(current))
    return out


def fetch_into_change(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor,
                      before: Mapping[str, Any], change: Change, now: datetime,
                      memo: ReadMemo | None = None) -> dict[str, Fetched | None]:
    """The reference step of an edit or a transition already decided: `change` is completed in place
    (fetched values, computed fields, its diff); ValidationFailed when a reference is refused."""
    errors: dict[str, str] = {}
    fetched = check_and_fetch(conn, registry, flow, actor, before, change.values, now, errors, memo)
    if errors:
        raise ValidationFailed(errors)
    if fetched:
        change.changes = diff(flow, before, change.values)
        change.changed_db = to_db(flow, {k: change.values[k] for k in change.changes})
    return fetched


def remember(tx: WriteTransaction, flow: str, record_id: int, fetched: Mapping[str, Fetched | None],
             now: datetime, prefix: str = "", *, new: bool = False) -> None:
    """Store what was fetched for record `record_id` (`prefix`: "table.row." for the fields of a table row;
    `new`: the record was created in this transaction, so there is nothing remembered to replace)."""
    rf = reference_fetches.c
    keys = [prefix + name for name in fetched]
    if not new:
        tx.execute(delete(reference_fetches).where(rf.flow == flow, rf.record_id == record_id, rf.field.in_(keys)))
    rows = [{"flow": flow, "record_id": record_id, "field": prefix + name, "source_flow": f.source_flow,
             "source_id": f.source_id, "value": f.value, "fetched_at": now}
            for name, f in fetched.items() if f is not None]
    for row in rows:
        tx.execute(reference_fetches.insert(), row)


# --- reading: titles, lookups, fetch marks, search, backlinks ---------------------------------------

def shown_targets(db: Engine, registry: FlowRegistry, flow: CompiledFlow, values: Mapping[str, Any],
                  actor: Actor) -> dict[str, Target | None]:
    """reference field → its target as this reader may see it (None: empty, gone or hidden from them)."""
    out: dict[str, Target | None] = {}
    refs = reference_fields(flow)
    if not refs:
        return out
    with db.connect().execution_options(readonly=True) as conn:
        for name, ref in refs.items():
            rid = values.get(name)
            tname = target_flow(ref)
            out[name] = (visible_target(conn, registry.get(tname), rid, actor)
                         if rid is not None and tname in registry else None)
    return out


def lookup_values(flow: CompiledFlow, targets: Mapping[str, Target | None]) -> dict[str, Any]:
    """lookup field → the live value of the referenced record (None when there is no visible target)."""
    out: dict[str, Any] = {}
    for name, lk in flow.spec.lookups.items():
        target = targets.get(lk.reference)
        out[name] = None if target is None else target.values.get(lk.target_field)
    return out


def lookup_spec(registry: FlowRegistry, flow: CompiledFlow, name: str) -> FieldSpecBase | None:
    """The field spec a lookup shows (the target flow's field), or None."""
    lk = flow.spec.lookups[name]
    ref = flow.fields.get(lk.reference)
    if ref is None or target_flow(ref) not in registry:
        return None
    return registry.get(target_flow(ref)).flow.fields.get(lk.target_field)


def fetch_statuses(db: Engine, registry: FlowRegistry, flow: CompiledFlow, record_id: int,
                   targets: Mapping[str, Target | None]) -> dict[str, FetchStatus]:
    """Fetched fields whose copy was taken from the record referred to now, and whether that record's
    value changed since (`targets`: as `shown_targets` gave them to this reader)."""
    fetching = {n: f for n, f in flow.fields.items() if f.fetch is not None}
    if not fetching:
        return {}
    rf = reference_fetches.c
    with db.connect().execution_options(readonly=True) as conn:
        rows = {r.field: r for r in conn.execute(select(reference_fetches).where(
            rf.flow == flow.name, rf.record_id == record_id, rf.field.in_(list(fetching))))}
    out: dict[str, FetchStatus] = {}
    for name, f in fetching.items():
        ref, _, source = (f.fetch or "").partition(".")
        target, row = targets.get(ref), rows.get(name)
        if target is None or row is None or row.source_id != target.id or target.flow not in registry:
            continue
        try:
            current = copied_value(f, registry.get(target.flow).flow.fields[source], target.values.get(source),
                                   flow.timezone)
        except (FieldValueError, KeyError):
            continue
        now_json = None if current is None else f.to_json(current)
        out[name] = FetchStatus(name, now_json != row.value, current)
    return out


def search_targets(db: Engine, registry: FlowRegistry, flow: CompiledFlow, field: str, actor: Actor,
                   text: str, limit: int = SEARCH_LIMIT) -> list[Target]:
    """Records the reader may pick for reference `field`, whose searchable fields contain `text`
    (all of them, newest first, for an empty text); at most `limit`. Visibility and filter are SQL."""
    ref = reference_fields(flow).get(field)
    if ref is None:
        raise ValidationFailed({"field": Message("not_a_reference", "not a reference field of this flow")})
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise ValidationFailed({"q": Message("too_long", "at most {n} characters", n=MAX_SEARCH)})
    live = registry.get(target_flow(ref))
    t = live.table
    conds = [pickable_clause(live, ref, actor)]
    names = search_fields(live.flow)
    if text:
        if names:
            terms = fts_terms(db, t.name, live.revision, text)
            conds.append(contains_condition(t, names, text, terms, db.dialect.name))
        elif text.isdigit():
            conds.append(t.c.id == int(text))
        else:
            return []
    with db.connect().execution_options(readonly=True) as conn:
        rows = conn.execute(select(t).where(*conds).order_by(t.c.id.desc()).limit(limit)).mappings().all()
    return [record_target(live, r) for r in rows]


@dataclass(frozen=True)
class Backlinks:
    """Records of one flow whose reference `field` names a record: the ones this reader may see."""

    flow: CompiledFlow
    field: str
    records: list[Target]
    more: bool


def backlinks(db: Engine, registry: FlowRegistry, target: str, record_id: int, actor: Actor,
              limit: int = BACKLINK_LIMIT) -> list[Backlinks]:
    """What refers to record `record_id` of flow `target`, per referring flow and field, newest first."""
    from engine.records.access import visible_clause

    out: list[Backlinks] = []
    with db.connect().execution_options(readonly=True) as conn:
        for live in registry.all():
            for name, ref in reference_fields(live.flow).items():
                if target_flow(ref) != target:
                    continue
                t = live.table
                rows = conn.execute(select(t).where(t.c[name] == record_id, visible_clause(live, actor))
                                    .order_by(t.c.id.desc()).limit(limit + 1)).mappings().all()
                if rows:
                    out.append(Backlinks(live.flow, name, [record_target(live, r) for r in rows[:limit]], len(rows) > limit))
    return out
