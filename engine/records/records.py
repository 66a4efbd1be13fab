"""Records and transitions: the engine API used by the CLI, the REST API and the pages.

Every write is one database transaction that also writes its history row.
Optimistic locking: the caller says which version it saw; an UPDATE guarded
by that version either wins or the caller gets StaleVersion, never a silent
overwrite.
"""
from __future__ import annotations

import copy

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from forms.local_text import pick
from forms.messages import Message
from engine.records.actor import Actor
from engine.records.errors import NotFound, ValidationFailed
from engine.storage.fastsql import FastInsert
from engine.language.flow import CompiledFlow
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import history, users
from engine.records.state_entry import enter_state, plan_entry
from engine.delivery.on_change import after_change, after_create
from engine.records.refusal_words import invalid_values
from engine.records.table_rows import attach_rows, write_rows
from engine.records.transitions import (
    MAX_COMMENT, Change, Refusal, TransitionOption, comment_refusal, compute, create_refusal, decide_create, decide_edit,
    decide_transition, find_transition, to_db, to_json, transition_options, user_errors, values_from_row,
)
from engine.people.users import assignable_problem
from engine.records.unique_words import unnamed_unique_error
from engine.files.attach import FilePlan, file_field_names, plan_files
from engine.records.ownership import owner_check
from engine.records.row_fetches import fetching_tables, remember_rows
from engine.records.row_references import prefill_rows
from engine.records.effects import run_effects
from engine.records.read_memo import ReadMemo
from engine.records.references import check_and_fetch, fetch_into_change, reference_fields, remember
from engine.storage.executor import WriteExecutor, WriteTransaction
from engine.storage.plain import PlainExecutor
from forms.unicode_text import nfc

__all__ = ["MAX_COMMENT", "SYSTEM_FIELDS", "Record", "Records", "TransitionOption", "values_from_row"]

insert_history = FastInsert(history)
_HISTORY_KEYS = ("flow", "record_id", "at", "actor_id", "action", "transition", "from_state", "to_state",
                 "changes", "comment", "revision", "on_behalf_of")


def _history_row(**values: Any) -> dict[str, Any]:
    """Every history column named, so all history inserts share one compiled statement (`on_behalf_of` only
    when someone stood in for another: an act of one's own writes the columns it always did)."""
    row = {k: values.get(k) for k in _HISTORY_KEYS}
    if row["on_behalf_of"] is None:
        del row["on_behalf_of"]
    return row
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
            self._title = Records.title_of(self._compiled, self.values, self.id, self.state) if self._compiled else ""
        return self._title

    @title.setter
    def title(self, text: str) -> None:
        self._title = text

    @property
    def assignee_id(self) -> int | None:
        return self.system.get("assignee_id")


class Records:
    """Create, read, edit and move records of the live flows.

    Writes go through `executor` (default: a transaction of their own on `db`); `using(executor)` is the
    same Records writing through another one (a group commit's job, a shared transaction)."""

    def __init__(self, db: Engine, registry: FlowRegistry, executor: WriteExecutor | None = None) -> None:
        self.db = db
        self.registry = registry
        self.executor: WriteExecutor = executor if executor is not None else PlainExecutor(db)
        self.memo: ReadMemo | None = None

    def using(self, executor: WriteExecutor) -> Records:
        """These Records, writing through `executor`."""
        other = copy.copy(self)
        other.executor = executor
        return other

    def remembering(self, memo: ReadMemo | None) -> Records:
        """These Records, answering the reads of referenced records, titles and names from `memo` (a run of
        many writes, such as an import: engine/records/read_memo.py)."""
        other = copy.copy(self)
        other.memo = memo
        return other

    # --- reading -------------------------------------------------------------------------------

    def row_to_record(self, live: LiveFlow, row: Mapping[Any, Any]) -> Record:
        flow = live.flow
        values = values_from_row(flow, row)
        system = {k: row[k] for k in SYSTEM_FIELDS}
        return Record(flow.name, row["id"], row["state"], row["version"], values, system, None, flow)

    @staticmethod
    def with_rows(conn: Connection, live: LiveFlow, rec: Record) -> Record:
        """`rec` with the rows of its table fields (line items) read on `conn` (one query per table)."""
        if live.row_tables:
            attach_rows(conn, live, {rec.id: rec.values})
        return rec

    def _prefilled(self, conn: Connection, flow: CompiledFlow, actor: Actor, values: Mapping[str, Any],
                   before: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """`values` with the references of table rows checked and their fetched fields filled."""
        filled, errors = prefill_rows(conn, self.registry, flow, actor, values, before, self.memo)
        if errors:
            raise ValidationFailed(errors, invalid_values(flow, errors))
        return filled

    def _values_for_write(self, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any]) -> dict[str, Any]:
        """The field values of a row loaded for a write, with the rows of its table fields."""
        values = values_from_row(live.flow, row)
        if live.row_tables:
            attach_rows(tx.conn, live, {row["id"]: values})
        return values

    @staticmethod
    def title_of(flow: CompiledFlow, values: Mapping[str, Any], record_id: int, state: str | None = None) -> str:
        """The record's title; with `state`, fields hidden there stay out of it (as empty)."""
        if flow.title is not None:
            hidden = flow.hidden_fields(state) if state in flow.spec.states else frozenset()
            if hidden:
                values = {k: (None if k in hidden else v) for k, v in values.items()}
            text = flow.title.render(values).strip()
            if text:
                return text
        return f"{pick(flow.spec.title, None, flow.spec.language) or flow.name} #{record_id}"

    def get(self, flow_name: str, record_id: int) -> Record:
        live = self.registry.get(flow_name)
        with self.db.connect().execution_options(readonly=True) as conn:
            row = conn.execute(live.select_by_id, {"_rid": record_id}).mappings().first()
            if row is None:
                raise NotFound(f"no {flow_name} record {record_id}")
            return self.with_rows(conn, live, self.row_to_record(live, row))

    def history(self, flow_name: str, record_id: int) -> list[dict[str, Any]]:
        self.registry.get(flow_name)
        behalf = users.alias("behalf")
        q = (select(history, users.c.display_name.label("actor_name"), behalf.c.display_name.label("on_behalf_of_name"))
             .outerjoin(users, users.c.id == history.c.actor_id)
             .outerjoin(behalf, behalf.c.id == history.c.on_behalf_of)
             .where(history.c.flow == flow_name, history.c.record_id == record_id)
             .order_by(history.c.id))
        with self.db.connect().execution_options(readonly=True) as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    compute = staticmethod(compute)  # the pages preview computed fields with the engine's own code

    # --- create --------------------------------------------------------------------------------

    def create(self, flow_name: str, actor: Actor, values: Mapping[str, Any] | None = None,
               *, now: datetime | None = None, by_engine: bool = False) -> Record:
        """A new record; `by_engine`: the engine creates it (a transition's `create:` effect, engine/records/effects.py),
        not asking whether `actor` may create in this flow."""
        live = self.registry.get(flow_name)
        flow = live.flow
        refused = None if by_engine else create_refusal(flow, actor)
        if refused is not None:
            raise refused.error
        now = now or datetime.now(timezone.utc)
        initial = flow.initial
        # The engine's own create refers to records whoever fired the transition may not see (the order a
        # collection task belongs to): references are checked against the flow's filters, not a person's eyes.
        seer = replace(actor, is_admin=True) if by_engine else actor
        if flow.has_row_references and values:  # row references checked, their fetched fields filled (row_references.py)
            with self.executor.read() as conn:
                values = self._prefilled(conn, flow, seer, values, None)
        decided = decide_create(flow, values or {}, actor, now, by_engine=by_engine)
        if isinstance(decided, Refusal):
            raise decided.error
        data, given, errors = decided
        entry = plan_entry(flow, initial, data, {}, now, creator_id=actor.id)
        with self.executor.transaction() as tx:
            conn = tx.conn
            user_errors(flow, given, partial(assignable_problem, conn, roles=flow.spec.roles, language=flow.spec.language), errors)
            fetched = (check_and_fetch(conn, self.registry, flow, seer, {}, data, now, errors, self.memo)
                       if reference_fields(flow) else None)
            if errors:
                raise ValidationFailed(errors, invalid_values(flow, errors))
            attached = plan_files(conn, flow, None, actor.id, {}, data, file_field_names(flow))
            sys = {"state": initial, "version": 1, "revision": live.revision, "created_by": actor.id,
                   "created_at": now, "updated_by": actor.id, "updated_at": now, "sla_paused_seconds": 0,
                   "sla_escalated": False}

            def write(entry_columns: dict[str, Any]) -> dict[str, Any]:
                row = {**to_db(flow, data), **sys, **entry_columns}
                # --- the writes of a create ---
                try:
                    record_id = tx.insert_record(live.fast, row)
                except IntegrityError as exc:
                    raise self._unique_error(flow, exc) from None
                if live.row_tables:  # the line items, in the same transaction (one executemany per table)
                    write_rows(tx.conn, live, record_id, data, live.row_tables, new=True)
                changes = {k: [None, to_json(flow, k, v)] for k, v in data.items() if v is not None and v != []}
                if attached is not None:  # the files, attached in this transaction, by name in the history
                    attached.write(tx, record_id, now)
                    changes.update(attached.history)
                tx.insert(insert_history, _history_row(
                    flow=flow.name, record_id=record_id, at=now, actor_id=actor.id, action="create",
                    to_state=initial, changes=changes, revision=live.revision))
                after_create(tx.conn, self.registry, live, record_id=record_id, values=data, state=initial,
                             actor_id=actor.id, now=now, memo=self.memo)  # events: (engine/delivery/on_change.py)
                return {**row, "id": record_id}

            row = enter_state(conn, flow, entry, {}, now, write=write, transition=None, actor_id=actor.id)
            if fetched:
                remember(tx, flow.name, row["id"], fetched, now, new=True)
            self._remember_rows(tx, flow, row["id"], {}, data, data, new=True, now=now)
        system = {k: row.get(k) for k in SYSTEM_FIELDS}
        return Record(flow.name, row["id"], initial, 1, data, system, None, flow)

    @staticmethod
    def _unique_error(flow: CompiledFlow, exc: IntegrityError) -> ValidationFailed:
        text = str(exc.orig)
        for name, f in flow.fields.items():
            if f.unique and name in text:
                errors: dict[str, str] = {name: Message("unique", "this value is already used by another record")}
                return ValidationFailed(errors, invalid_values(flow, errors))
        return unnamed_unique_error(flow)

    def _remember_rows(self, tx: WriteTransaction, flow: CompiledFlow, record_id: int, before: Mapping[str, Any],
                       after: Mapping[str, Any], changed: Iterable[str], *, now: datetime, new: bool = False) -> None:
        """What the rows of the changed tables hold from their references' records (engine/records/row_fetches.py)."""
        if not flow.has_row_references:
            return
        tables = [n for n in fetching_tables(flow) if n in changed]
        if tables:
            remember_rows(tx, self.registry, flow, record_id, before, after, tables, now, new=new)

    # --- writing a decided change (the apply step) -------------------------------------------------

    def _load_for_write(self, tx: WriteTransaction, live: LiveFlow, record_id: int) -> Mapping[str, Any]:
        row = tx.load(live.fast, record_id)
        if row is None:
            raise NotFound(f"no {live.flow.name} record {record_id}")
        return row

    def _guarded_update(self, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any],
                        values: dict[str, Any]) -> None:
        """The UPDATE guarded by the version loaded (StaleVersion from the executor if it moved on)."""
        try:
            tx.guarded_update(live.fast, row["id"], row["version"], values)
        except IntegrityError as exc:
            raise self._unique_error(live.flow, exc) from None

    def _write_change(self, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any], change: Change,
                      system: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
        """The writes of an edit or a transition: the guarded update of the row, then its history row.
        Returns the row as written."""
        if change.entry is None:
            written = system
        else:  # write only what changes: fewer index entries to rewrite
            written = {k: v for k, v in system.items() if k in _ALWAYS_WRITTEN or row[k] != v}
        attached = self._plan_files(tx, live.flow, row, change, actor)
        # --- the writes of an edit or a transition ---
        self._guarded_update(tx, live, row, {**change.changed_db, **written})
        if live.row_tables and change.changes:
            write_rows(tx.conn, live, row["id"], change.values, [n for n in change.changes if n in live.row_tables])
        changes = change.changes
        if attached is not None:  # the files, attached in this transaction, by name in the history
            attached.write(tx, row["id"], now)
            changes = {**changes, **attached.history}
        tx.insert(insert_history, _history_row(
            flow=live.flow.name, record_id=row["id"], at=now, actor_id=actor.id, action=change.action,
            transition=change.transition, from_state=change.from_state, to_state=change.to_state,
            changes=changes if change.entry is None else (changes or None), comment=change.comment,
            revision=live.revision, on_behalf_of=actor.on_behalf_of))
        after = {**dict(row), **change.changed_db, **system}
        # events: and notify_on_change: (engine/delivery/on_change.py)
        after_change(tx.conn, self.registry, live, action=change.action, record_id=row["id"], values=change.values,
                     changes=change.changes, from_state=change.from_state, to_state=change.to_state,
                     transition=change.transition, row=after, actor_id=actor.id, now=now)
        return after

    @staticmethod
    def _plan_files(tx: WriteTransaction, flow: CompiledFlow, row: Mapping[str, Any], change: Change,
                    actor: Actor) -> FilePlan | None:
        """The files a change attaches or removes (engine/files/attach.py); None when it changes no file field."""
        if not change.changed_db:
            return None
        names = [n for n in file_field_names(flow) if n in change.changed_db]
        if not names:
            return None
        return plan_files(tx.conn, flow, row["id"], actor.id, values_from_row(flow, row), change.values, names)

    def _apply(self, tx: WriteTransaction, live: LiveFlow, row: Mapping[str, Any], change: Change, actor: Actor,
               now: datetime) -> dict[str, Any]:
        """Write a decided change; a transition enters its new state (engine/records/state_entry.py)."""
        if change.entry is None:
            if "sla_due_at" in change.system and live.flow.has_approvals:  # a date deadline moved by this edit
                from engine.sla.date_deadlines import move_open_approval_tasks

                move_open_approval_tasks(tx.conn, live.flow, row, change.system)
            return self._write_change(tx, live, row, change, change.system, actor, now)

        def write(entry_columns: dict[str, Any]) -> dict[str, Any]:
            return self._write_change(tx, live, row, change, {**change.system, **entry_columns}, actor, now)

        return enter_state(tx.conn, live.flow, change.entry, row, now, write=write, transition=change.transition,
                           actor_id=actor.id)

    # --- edit ----------------------------------------------------------------------------------

    def edit(self, flow_name: str, record_id: int, actor: Actor, values: Mapping[str, Any],
             *, expected_version: int | None, comment: str | None = None, now: datetime | None = None) -> Record:
        live = self.registry.get(flow_name)
        flow = live.flow
        comment = nfc(comment)
        refused = comment_refusal(comment)
        if refused is not None:
            raise refused.error
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            conn = tx.conn
            row = self._load_for_write(tx, live, record_id)
            before = self._values_for_write(tx, live, row)
            if flow.has_row_references and values:
                values = self._prefilled(conn, flow, actor, values, before)
            change = decide_edit(flow, row=row, before=before, actor=actor, given=values,
                                 comment=comment, expected_version=expected_version, now=now,
                                 check_user=partial(assignable_problem, conn, roles=flow.spec.roles, language=flow.spec.language),
                                 owner_check=owner_check(conn, flow, actor))
            if change is None:
                return self.with_rows(conn, live, self.row_to_record(live, row))
            if isinstance(change, Refusal):
                raise change.error
            fetched = (fetch_into_change(conn, self.registry, flow, actor, before, change, now, self.memo)
                       if reference_fields(flow) else None)
            written = self._apply(tx, live, row, change, actor, now)
            if fetched:
                remember(tx, flow.name, record_id, fetched, now)
            self._remember_rows(tx, flow, record_id, before, change.values, change.changes, now=now)
        rec = self.row_to_record(live, written)
        rec.values.update({n: change.values[n] for n in live.row_tables})
        return rec

    def system_edit(self, flow_name: str, record_id: int, actor: Actor, values: Mapping[str, Any],
                    *, now: datetime | None = None) -> Record:
        """Change fields of a record as the engine does for a transition's `update:` effect: the flow's field
        rules hold (types, required, unique, patterns), nobody's edit rights are asked."""
        live = self.registry.get(flow_name)
        flow = live.flow
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            row = self._load_for_write(tx, live, record_id)
            before = self._values_for_write(tx, live, row)
            change = decide_edit(flow, row=row, before=before, actor=actor, given=values, comment=None,
                                 expected_version=None, now=now, by_engine=True,
                                 check_user=partial(assignable_problem, tx.conn, roles=flow.spec.roles,
                                                    language=flow.spec.language))
            if change is None:
                return self.with_rows(tx.conn, live, self.row_to_record(live, row))
            if isinstance(change, Refusal):
                raise change.error
            written = self._apply(tx, live, row, change, actor, now)
            self._remember_rows(tx, flow, record_id, before, change.values, change.changes, now=now)
        rec = self.row_to_record(live, written)
        rec.values.update({n: change.values[n] for n in live.row_tables})
        return rec

    # --- transitions ---------------------------------------------------------------------------

    def available_transitions(self, record: Record, actor: Actor, *, now: datetime | None = None) -> list[TransitionOption]:
        """The transitions leaving the record's state and why each cannot fire now (the same checks as firing)."""
        flow = self.registry.get(record.flow).flow
        return transition_options(flow, record.state, record.values, actor, now or datetime.now(timezone.utc))

    def transition(self, flow_name: str, record_id: int, name: str, actor: Actor, *,
                   expected_version: int | None, values: Mapping[str, Any] | None = None,
                   comment: str | None = None, now: datetime | None = None) -> Record:
        live = self.registry.get(flow_name)
        flow = live.flow
        t = find_transition(flow, name)
        if isinstance(t, Refusal):
            raise t.error
        comment = nfc((comment or "").strip()) or None
        refused = comment_refusal(comment)
        if refused is not None:
            raise refused.error
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            conn = tx.conn
            row = self._load_for_write(tx, live, record_id)
            before = self._values_for_write(tx, live, row)
            if flow.has_row_references and values:
                values = self._prefilled(conn, flow, actor, values, before)
            change = decide_transition(
                flow, t, name, row=row, before=before, actor=actor, given=values,
                comment=comment, expected_version=expected_version, now=now, revision=live.revision,
                check_user=partial(assignable_problem, conn, roles=flow.spec.roles, language=flow.spec.language) if values else None,
                owner_check=owner_check(conn, flow, actor))
            if isinstance(change, Refusal):
                raise change.error
            fetched = (fetch_into_change(conn, self.registry, flow, actor, before, change, now, self.memo)
                       if values and reference_fields(flow) else None)
            merged = self._apply(tx, live, row, change, actor, now)
            if fetched:
                remember(tx, flow.name, record_id, fetched, now)
            if values:
                self._remember_rows(tx, flow, record_id, before, change.values, change.changes, now=now)
            effects = flow.effects.get(name)
            if effects is not None and effects.after_move:  # create / update, in this transaction
                run_effects(self, tx, live, record_id, t.to, change.values, actor, now, name)
        # `change.values` holds the field values already (parsed from the row, or coerced like any
        # write): no second parse of every column.
        return Record(flow.name, record_id, t.to, merged["version"], change.values,
                      {k: merged[k] for k in SYSTEM_FIELDS}, None, flow)
