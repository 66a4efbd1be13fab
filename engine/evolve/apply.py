"""Apply a flow file: one transaction that does all of the plan or none of it.

Inside the transaction the flow is locked (SQLite: the write lock of BEGIN
IMMEDIATE; PostgreSQL: an advisory lock per flow, then the flow table locked
against writers), the plan is computed again and compared with the one the
admin saw: another revision applied meanwhile → LiveRevisionChanged; the
database changed so that the plan would differ → PlanChanged; problems →
PlanRefused. Then the steps run through Alembic's operations, the table is
compared again with what the revision needs (there must be no difference),
and the revision row and `flows.live_revision` are written. SQLite and
PostgreSQL both roll DDL back with the transaction, so a crash at any moment
leaves the old revision or the new one.
"""
from __future__ import annotations

import zlib
from typing import Any
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from time import perf_counter

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, insert, inspect, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from engine.sla.calendar import CalendarSpec
from engine.records.errors import WorkflowError
from engine.evolve.errors import ConfirmationNeeded, LiveRevisionChanged, PlanChanged, PlanRefused
from engine.evolve.model import ApplyContext, Plan
from engine.evolve.planner import compute_plan
from engine.evolve.schema_diff import compare_table, target_table
from engine.evolve.table_facts import quoted
from engine.language.flow import CompiledFlow
from engine.storage.schema import flow_revisions, flows

# Called with a checkpoint's name at each stage of an apply (tests use it to crash there).
CHECKPOINT_HOOKS: list[Callable[[str], None]] = []
CHECKPOINTS = ("locked", "planned", "schema_changed", "records_changed", "revision_written", "committed")
_ADVISORY_CLASS = 0x52464C57  # "RFLW": the apply lock space, apart from other advisory locks
LOCK_TIMEOUT = "15s"


def _checkpoint(name: str) -> None:
    for hook in list(CHECKPOINT_HOOKS):
        hook(name)


class ApplyVerificationFailed(WorkflowError):
    code = "apply_verification_failed"


class NotAllowedHere(WorkflowError):
    """The plan is valid but the caller's policy (e.g. only safe plans at server start) does not allow it."""

    code = "plan_not_allowed"

    def __init__(self, plan: Plan, why: str) -> None:
        super().__init__(why)
        self.plan = plan


@dataclass(frozen=True)
class PlanRef:
    """What an admin saw: the live revision the plan was made against and its hash."""

    base_revision: int | None
    hash: str


@dataclass(frozen=True)
class AppliedRevision:
    flow: str
    revision: int | None
    plan: Plan
    applied: bool
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class FlowBusy(WorkflowError):
    code = "flow_busy"


def _lock(conn: Connection, flow: CompiledFlow) -> None:
    """Hold the flow against other applies and against record writes until the transaction ends."""
    if conn.dialect.name != "postgresql":
        return  # BEGIN IMMEDIATE already holds SQLite's single write lock
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    key = zlib.crc32(flow.name.encode()) - 2**31
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _ADVISORY_CLASS, "b": key})
        if inspect(conn).has_table(flow.table_name):
            conn.execute(text(f"LOCK TABLE {quoted(conn, flow.table_name)} IN EXCLUSIVE MODE"))
    except OperationalError as exc:
        raise FlowBusy(f"flow '{flow.name}' stayed busy for {LOCK_TIMEOUT} (another apply or a long "
                       "transaction on its records); try again") from exc


def _write_revision(conn: Connection, plan: Plan, flow: CompiledFlow, applied_by: int | None, now: datetime,
                    notes: Mapping[str, Any] | None = None) -> None:
    conn.execute(insert(flow_revisions).values(
        flow=flow.name, revision=plan.new_revision, yaml_text=flow.source_text, sha256=flow.sha256,
        applied_by=applied_by, applied_at=now, plan={"plan": plan.to_dict(), "calendars": plan.calendars,
                                                       "print_templates": dict(flow.print_templates), **(notes or {})}))
    if plan.base_revision is None:
        conn.execute(insert(flows).values(name=flow.name, live_revision=plan.new_revision, updated_at=now))
    else:
        conn.execute(update(flows).where(flows.c.name == flow.name)
                     .values(live_revision=plan.new_revision, updated_at=now))


def apply_flow(db: Engine, flow: CompiledFlow, *, expected: Plan | PlanRef | None = None,
               applied_by: int | None = None, calendars: Mapping[str, CalendarSpec] | None = None,
               allow: Callable[[Plan], str | None] | None = None,
               confirmed: Collection[str] = (), notes: Mapping[str, Any] | None = None) -> AppliedRevision:
    """Apply `flow` as the next revision, atomically.

    `expected`: the plan the admin approved; refused if the live revision or the
    plan changed since. `allow`: a policy returning why a plan may not be applied
    here (or None). `confirmed`: the tokens of the plan's changes that ask for a
    confirmation (`Plan.confirmations`). `notes`: more to keep with the revision (the
    flow's tests run before the apply, an override's reason; read by
    engine/storage/revisions.py `StoredRevision.tests`). Raises PlanRefused, LiveRevisionChanged,
    PlanChanged, NotAllowedHere, ConfirmationNeeded.
    """
    started = perf_counter()
    timings: dict[str, float] = {}
    with db.begin() as conn:
        _lock(conn, flow)
        _checkpoint("locked")
        plan, ctx = compute_plan(conn, flow, calendars)
        timings["plan"] = perf_counter() - started
        _checkpoint("planned")
        if expected is not None:
            if plan.base_revision != expected.base_revision:
                raise LiveRevisionChanged(flow.name, expected.base_revision, plan.base_revision)
            if plan.hash != expected.hash:
                raise PlanChanged(flow.name)
        if plan.refused:
            raise PlanRefused(plan)
        missing = [token for token in plan.confirmations if token not in confirmed]
        if missing:
            raise ConfirmationNeeded(plan, missing)
        if plan.unchanged:
            return AppliedRevision(flow.name, plan.base_revision, plan, False, perf_counter() - started, timings)
        why_not = allow(plan) if allow is not None else None
        if why_not:
            raise NotAllowedHere(plan, why_not)
        now = datetime.now(timezone.utc)
        actx = ApplyContext(conn, Operations(MigrationContext.configure(conn)), flow, ctx.old,
                            plan.new_revision, applied_by, now, timings)
        schema_done = False
        for step in plan.steps:
            if not step.changes_schema and not schema_done:
                schema_done = True
                _checkpoint("schema_changed")
            t0 = perf_counter()
            step.run(actx)
            timings[":".join(step.key())] = perf_counter() - t0
        if not schema_done:
            _checkpoint("schema_changed")
        _checkpoint("records_changed")
        # A table created from the revision's own metadata matches it by construction.
        if any(s.changes_schema and s.key()[0] != "create_table" for s in plan.steps):
            t0 = perf_counter()
            left = compare_table(conn, target_table(flow, ctx.kept_columns))
            timings["verify"] = perf_counter() - t0
            if left:
                raise ApplyVerificationFailed(
                    f"flow '{flow.name}': after the changes the table still differs from the revision "
                    f"({left[0][0]} ...); nothing was applied")
        _write_revision(conn, plan, flow, applied_by, now, notes)
        _checkpoint("revision_written")
    _checkpoint("committed")
    return AppliedRevision(flow.name, plan.new_revision, plan, True, perf_counter() - started, timings)
