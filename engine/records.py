"""Records and transitions: the engine API used by the CLI, the REST API and the pages.

Every write is one database transaction that also writes its history row. It
runs in a transaction from the write executor Records was given
(engine/storage/executor.py): its own, or the one of a group commit's job.
Optimistic locking: the caller says which version it saw; an UPDATE guarded
by that version either wins or the caller gets StaleVersion, never a silent
overwrite.
"""
from __future__ import annotations

import copy

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.actor import Actor
from engine.assignment import assignee_on_entry
from engine.errors import (
    CommentRequired, ConditionFailed, Forbidden, MissingRequired, NotFound, ReadOnlyField, RecordClosed,
    StaleVersion, UnknownTransition, ValidationFailed, WrongState,
)
from engine.expressions import EvaluationError
from engine.fastsql import FastInsert
from engine.flow import CompiledFlow
from engine.registry import FlowRegistry, LiveFlow
from engine.scheduler import on_state_entry
from engine.schema import history, users
from engine.sla import clock_on_entry
from engine.storage.executor import WriteExecutor, WriteTransaction
from engine.storage.plain import PlainExecutor
from engine.users import assignable_problem
from forms import FieldValueError

MAX_COMMENT = 10_000
insert_history = FastInsert(history)
_HISTORY_KEYS = ("flow", "record_id", "at", "actor_id", "action", "transition", "from_state", "to_state",
                 "changes", "comment", "revision")


def _history_row(**values: Any) -> dict[str, Any]:
    """Every history column named, so all history inserts share one compiled statement."""
    return {k: values.get(k) for k in _HISTORY_KEYS}
_ALWAYS_WRITTEN = frozenset({"state", "version", "updated_by", "updated_at"})
SYSTEM_FIELDS = (
    "id", "state", "version", "revision", "assignee_id", "assignee_role", "created_by", "created_at",
    "updated_by", "updated_at", "sla_state", "sla_started_at", "sla_due_at", "sla_warn_at", "sla_status",
    "sla_paused_at", "sla_paused_seconds", "sla_escalated", "sla_next_remind_at",
)


@dataclass
class Record:
    flow: str
    id: int
    state: str
    version: int
    values: dict[str, Any]
    system: dict[str, Any] = field(default_factory=dict)
    _title: str | None = None
    _compiled: CompiledFlow | None = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        """The record_title template rendered on first use (lists and pages need it, writes do not)."""
        if self._title is None:
            self._title = Records.title_of(self._compiled, self.values, self.id) if self._compiled else ""
        return self._title

    @title.setter
    def title(self, text: str) -> None:
        self._title = text

    @property
    def assignee_id(self) -> int | None:
        return self.system.get("assignee_id")


@dataclass(frozen=True)
class TransitionOption:
    name: str
    title: str
    to: str
    allowed: bool
    has_role: bool
    reasons: tuple[str, ...]
    comment: str | None
    confirm: str | None
    require: tuple[str, ...]


def _json(flow: CompiledFlow, name: str, value: Any) -> Any:
    return None if value is None else flow.fields[name].to_json(value)


def values_from_row(flow: CompiledFlow, row: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """Field values (of `names`, by default every field) read from a database row of the flow table."""
    fields = flow.fields
    out: dict[str, Any] = {}
    for name in fields if names is None else names:
        v = row[name]
        out[name] = None if v is None else fields[name].from_db(v)
    return out


class Records:
    """Create, read, edit and move records of the live flows.

    Writes go through `executor` (default: a transaction of their own on `db`); `using(executor)` is the
    same Records writing through another one (a group commit's job, a shared transaction)."""

    def __init__(self, db: Engine, registry: FlowRegistry, executor: WriteExecutor | None = None) -> None:
        self.db = db
        self.registry = registry
        self.executor: WriteExecutor = executor if executor is not None else PlainExecutor(db)

    def using(self, executor: WriteExecutor) -> Records:
        """These Records, writing through `executor`."""
        other = copy.copy(self)
        other.executor = executor
        return other

    # --- reading -------------------------------------------------------------------------------

    def row_to_record(self, live: LiveFlow, row: Mapping[str, Any]) -> Record:
        flow = live.flow
        values = values_from_row(flow, row)
        system = {k: row[k] for k in SYSTEM_FIELDS}
        return Record(flow.name, row["id"], row["state"], row["version"], values, system, None, flow)

    @staticmethod
    def title_of(flow: CompiledFlow, values: Mapping[str, Any], record_id: int) -> str:
        if flow.title is not None:
            text = flow.title.render(values).strip()
            if text:
                return text
        return f"{flow.spec.title or flow.name} #{record_id}"

    def get(self, flow_name: str, record_id: int) -> Record:
        live = self.registry.get(flow_name)
        with self.db.connect().execution_options(readonly=True) as conn:
            row = conn.execute(live.select_by_id, {"_rid": record_id}).mappings().first()
        if row is None:
            raise NotFound(f"no {flow_name} record {record_id}")
        return self.row_to_record(live, row)

    def history(self, flow_name: str, record_id: int) -> list[dict[str, Any]]:
        self.registry.get(flow_name)
        q = (select(history, users.c.display_name.label("actor_name"))
             .outerjoin(users, users.c.id == history.c.actor_id)
             .where(history.c.flow == flow_name, history.c.record_id == record_id)
             .order_by(history.c.id))
        with self.db.connect().execution_options(readonly=True) as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    # --- shared pieces -------------------------------------------------------------------------

    def _clean(self, flow: CompiledFlow, values: Mapping[str, Any], allowed: frozenset[str],
               what: str, errors: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in flow.fields:
                errors[name] = f"unknown field '{name}'"
                continue
            if name not in allowed:
                raise ReadOnlyField(f"field '{name}' cannot be changed {what}", field=name)
            try:
                out[name] = flow.fields[name].coerce(raw, tz=flow.timezone)
            except FieldValueError as exc:
                errors[name] = exc.message
        return out

    def _check_users(self, conn: Connection, flow: CompiledFlow, values: Mapping[str, Any], errors: dict[str, str]) -> None:
        for name, value in values.items():
            f = flow.fields[name]
            if f.type != "user" or value is None:
                continue
            problem = assignable_problem(conn, value, getattr(f, "role", None))
            if problem:
                errors[name] = problem

    @staticmethod
    def _context(values: Mapping[str, Any], actor: Actor, now: datetime, flow: CompiledFlow) -> dict[str, Any]:
        ctx = dict(values)
        ctx["user"] = actor.expression_view()
        ctx["now"] = now
        ctx["today"] = now.astimezone(flow.timezone).date()
        return ctx

    @staticmethod
    def compute(flow: CompiledFlow, values: dict[str, Any], actor: Actor, now: datetime) -> None:
        """Fill in the computed fields of `values` (in place), as a write would store them."""
        if not flow.computed_order:
            return
        ctx = Records._context(values, actor, now, flow)
        for name in flow.computed_order:
            f = flow.fields[name]
            try:
                raw = flow.compute[name].evaluate(ctx)
                if raw is not None and hasattr(f, "quantize"):
                    raw = f.quantize(raw)  # a computed amount is rounded, never refused for its decimals
                value = None if raw is None else f.coerce(raw, tz=flow.timezone)
            except (EvaluationError, FieldValueError):
                value = None
            values[name] = value
            ctx[name] = value


    @staticmethod
    def _required_errors(flow: CompiledFlow, values: Mapping[str, Any], names: frozenset[str] | set[str],
                         errors: dict[str, str]) -> None:
        for name in names:
            f = flow.fields[name]
            if f.required and f.is_empty(values.get(name)) and name not in errors:
                errors[name] = "this field is required"

    @staticmethod
    def _to_db(flow: CompiledFlow, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (None if v is None else flow.fields[k].to_db(v)) for k, v in values.items()}

    def _diff(self, flow: CompiledFlow, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
        out = {}
        for name in flow.fields:
            if name in after and before.get(name) != after[name]:
                out[name] = [_json(flow, name, before.get(name)), _json(flow, name, after[name])]
        return out

    # --- create --------------------------------------------------------------------------------

    def create(self, flow_name: str, actor: Actor, values: Mapping[str, Any] | None = None,
               *, now: datetime | None = None) -> Record:
        live = self.registry.get(flow_name)
        flow = live.flow
        if not (actor.roles & flow.creator_roles):
            raise Forbidden(f"creating a {flow.spec.title or flow.name} needs one of the roles: "
                            + ", ".join(sorted(flow.creator_roles)))
        now = now or datetime.now(timezone.utc)
        initial = flow.initial
        settable = flow.create_fields
        errors: dict[str, str] = {}
        given = self._clean(flow, values or {}, settable, "when creating a record", errors)
        data: dict[str, Any] = {}
        for name, f in flow.fields.items():
            if name in given:
                data[name] = given[name]
            elif f.default is not None and f.compute is None:
                data[name] = f.coerce(f.default, tz=flow.timezone)
            else:
                data[name] = None
        self._required_errors(flow, data, settable, errors)
        self.compute(flow, data, actor, now)
        with self.executor.transaction() as tx:
            conn = tx.conn
            self._check_users(conn, flow, given, errors)
            if errors:
                raise ValidationFailed(errors)
            sys = {"state": initial, "version": 1, "revision": live.revision, "created_by": actor.id,
                   "created_at": now, "updated_by": actor.id, "updated_at": now, "sla_paused_seconds": 0,
                   "sla_escalated": False}
            sys.update(assignee_on_entry(conn, flow, initial, data, creator_id=actor.id))
            sys.update(clock_on_entry(flow, initial, {}, now))
            row = {**self._to_db(flow, data), **sys}
            try:
                record_id = tx.insert_record(live.fast, row)
            except IntegrityError as exc:
                raise self._unique_error(flow, exc) from None
            changes = {k: [None, _json(flow, k, v)] for k, v in data.items() if v is not None}
            tx.insert(insert_history, _history_row(
                flow=flow.name, record_id=record_id, at=now, actor_id=actor.id, action="create",
                to_state=initial, changes=changes, revision=live.revision))
            on_state_entry(conn, live, record_id, {}, {**row, "id": record_id}, now, transition=None, actor_id=actor.id)
        system = {k: row.get(k) for k in SYSTEM_FIELDS}
        system["id"] = record_id
        return Record(flow.name, record_id, initial, 1, data, system, None, flow)

    @staticmethod
    def _unique_error(flow: CompiledFlow, exc: IntegrityError) -> ValidationFailed:
        text = str(exc.orig)
        for name, f in flow.fields.items():
            if f.unique and name in text:
                return ValidationFailed({name: "this value is already used by another record"})
        return ValidationFailed({"record": "a unique value is already used by another record"})

    # --- edit ----------------------------------------------------------------------------------

    def _load_for_write(self, tx: WriteTransaction, live: LiveFlow, record_id: int) -> Mapping[str, Any]:
        row = tx.load(live.fast, record_id)
        if row is None:
            raise NotFound(f"no {live.flow.name} record {record_id}")
        return row

    @staticmethod
    def _check_version(row: Mapping[str, Any], expected: int | None) -> None:
        if expected is not None and row["version"] != expected:
            raise StaleVersion(row["version"], expected)

    def _guarded_update(self, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any],
                        values: dict[str, Any]) -> None:
        """The UPDATE guarded by the version loaded (StaleVersion from the executor if it moved on)."""
        try:
            tx.guarded_update(live.fast, row["id"], row["version"], values)
        except IntegrityError as exc:
            raise self._unique_error(live.flow, exc) from None

    def edit(self, flow_name: str, record_id: int, actor: Actor, values: Mapping[str, Any],
             *, expected_version: int | None, comment: str | None = None, now: datetime | None = None) -> Record:
        live = self.registry.get(flow_name)
        flow = live.flow
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            conn = tx.conn
            row = self._load_for_write(tx, live, record_id)
            state = row["state"]
            self._check_version(row, expected_version)
            if state in flow.final_states:
                raise RecordClosed(f"the record is closed ({flow.state(state).title or state}); it cannot be edited")
            editable = flow.editable_fields(state, actor.roles)
            if not editable:
                raise Forbidden(f"you may not edit records in state '{flow.state(state).title or state}'")
            errors: dict[str, str] = {}
            given = self._clean(flow, values, editable, f"in state '{state}'", errors)
            before = values_from_row(flow, row)
            after = {**before, **given}
            self._required_errors(flow, after, set(given), errors)
            self._check_users(conn, flow, given, errors)
            if errors:
                raise ValidationFailed(errors)
            self.compute(flow, after, actor, now)
            changes = self._diff(flow, before, after)
            if not changes and not comment:
                return self.row_to_record(live, row)
            new_sys = {"version": row["version"] + 1, "updated_by": actor.id, "updated_at": now}
            changed_db = self._to_db(flow, {k: after[k] for k in changes})
            self._guarded_update(tx, live, row, {**changed_db, **new_sys})
            tx.insert(insert_history, _history_row(
                flow=flow.name, record_id=record_id, at=now, actor_id=actor.id, action="edit",
                from_state=state, to_state=state, changes=changes, comment=comment or None, revision=live.revision))
        return self.row_to_record(live, {**dict(row), **changed_db, **new_sys})

    # --- transitions ---------------------------------------------------------------------------

    def _blockers(self, flow: CompiledFlow, name: str, state: str, values: Mapping[str, Any],
                  actor: Actor, now: datetime) -> list[tuple[type[Exception], str, list[str]]]:
        """Why transition `name` cannot fire for these values (empty when it can)."""
        t = flow.spec.transitions[name]
        out: list[tuple[type[Exception], str, list[str]]] = []
        if not (actor.roles & set(t.by)):
            out.append((Forbidden, f"needs one of the roles: {', '.join(t.by)}", []))
        missing = [f for f in t.require if flow.fields[f].is_empty(values.get(f))]
        if missing:
            labels = ", ".join(flow.fields[f].title or f for f in missing)
            out.append((MissingRequired, f"fill in first: {labels}", missing))
        expr = flow.when.get(name)
        if expr is not None:
            try:
                ok = bool(expr.evaluate(self._context(values, actor, now, flow)))
                reason = f"condition not met: {expr.source}"
            except EvaluationError:
                ok, reason = False, f"condition cannot be checked yet: {expr.source}"
            if not ok:
                out.append((ConditionFailed, reason, []))
        return out

    def available_transitions(self, record: Record, actor: Actor, *, now: datetime | None = None) -> list[TransitionOption]:
        flow = self.registry.get(record.flow).flow
        now = now or datetime.now(timezone.utc)
        result = []
        for name, t in flow.transitions_from.get(record.state, ()):
            blockers = self._blockers(flow, name, record.state, record.values, actor, now)
            result.append(TransitionOption(
                name=name, title=t.title or name, to=t.to, allowed=not blockers,
                has_role=bool(actor.roles & set(t.by)), reasons=tuple(b[1] for b in blockers),
                comment=t.comment, confirm=t.confirm, require=tuple(t.require)))
        return result

    def transition(self, flow_name: str, record_id: int, name: str, actor: Actor, *,
                   expected_version: int | None, values: Mapping[str, Any] | None = None,
                   comment: str | None = None, now: datetime | None = None) -> Record:
        live = self.registry.get(flow_name)
        flow = live.flow
        t = flow.spec.transitions.get(name)
        if t is None:
            raise UnknownTransition(f"flow '{flow.name}' has no transition '{name}'")
        now = now or datetime.now(timezone.utc)
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ValidationFailed({"comment": f"at most {MAX_COMMENT} characters"})
        with self.executor.transaction() as tx:
            conn = tx.conn
            row = self._load_for_write(tx, live, record_id)
            state = row["state"]
            self._check_version(row, expected_version)
            if state not in t.from_:
                if state in flow.final_states:
                    raise RecordClosed(f"the record is closed ({flow.state(state).title or state}); "
                                       f"'{t.title or name}' cannot fire")
                raise WrongState(f"'{t.title or name}' cannot fire from state '{flow.state(state).title or state}'")
            if not (actor.roles & set(t.by)):
                raise Forbidden(f"'{t.title or name}' needs one of the roles: {', '.join(t.by)}")
            before = values_from_row(flow, row)
            after = dict(before)
            if values:
                errors: dict[str, str] = {}
                given = self._clean(flow, values, flow.editable_fields(state, actor.roles), f"in state '{state}'", errors)
                after.update(given)
                self._required_errors(flow, after, set(given), errors)
                self._check_users(conn, flow, given, errors)
                if errors:
                    raise ValidationFailed(errors)
                self.compute(flow, after, actor, now)
            for exc_type, reason, fields in self._blockers(flow, name, state, after, actor, now):
                if exc_type is MissingRequired:
                    raise MissingRequired(f"'{t.title or name}': {reason}", fields)
                raise exc_type(f"'{t.title or name}': {reason}")
            if t.comment == "required" and not comment:
                raise CommentRequired(f"'{t.title or name}' needs a comment")
            changes = self._diff(flow, before, after)
            new_sys: dict[str, Any] = {"state": t.to, "version": row["version"] + 1, "revision": live.revision,
                                       "updated_by": actor.id, "updated_at": now}
            new_sys.update(assignee_on_entry(conn, flow, t.to, after, creator_id=row["created_by"]))
            new_sys.update(clock_on_entry(flow, t.to, row, now))
            changed_db = self._to_db(flow, {k: after[k] for k in changes})
            # Write only what changes: fewer index entries to rewrite.
            written = {k: v for k, v in new_sys.items() if k in _ALWAYS_WRITTEN or row[k] != v}
            self._guarded_update(tx, live, row, {**changed_db, **written})
            tx.insert(insert_history, _history_row(
                flow=flow.name, record_id=record_id, at=now, actor_id=actor.id, action="transition",
                transition=name, from_state=state, to_state=t.to, changes=changes or None, comment=comment,
                revision=live.revision))
            merged = {**dict(row), **changed_db, **new_sys}
            on_state_entry(conn, live, record_id, row, merged, now, transition=name, actor_id=actor.id)
        # `after` holds the field values already (parsed from the row, or coerced like any write):
        # no second parse of every column.
        return Record(flow.name, record_id, t.to, merged["version"], after,
                      {k: merged[k] for k in SYSTEM_FIELDS}, None, flow)

