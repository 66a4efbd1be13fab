"""Compute the plan of a new flow file against the live revision and the database."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from engine.sla.calendar import CalendarSpec
from forms.message_parts import Count
from forms.messages import Message
from engine.evolve.approvals_plan import plan_approvals
from engine.evolve.context import PlanContext
from engine.evolve.effects_plan import plan_effects
from engine.evolve.fields_plan import plan_fields
from engine.evolve.lookalikes import plan_choices, plan_lookalikes
from engine.evolve.model import AREAS, Plan, Step
from engine.evolve.row_tables_plan import plan_row_tables
from engine.evolve.rules_plan import plan_rules
from engine.evolve.schema_diff import plan_schema
from engine.evolve.search_plan import plan_search
from engine.evolve.sla_plan import plan_sla
from engine.evolve.states_plan import plan_states
from engine.evolve.table_facts import read_facts
from engine.language.flow import CompiledFlow
from engine.language.problems import FlowLoadError
from engine.storage.revisions import StoredRevision, calendars_used, read_live, rename_history
from engine.storage.schema import metadata as engine_metadata

log = logging.getLogger("relayflow.reload")

# Apply runs steps in this order: indexes that go, then columns, then indexes that come, then data, then clocks.
_STEP_ORDER = ("drop_search_index", "drop_index", "create_table", "rename_table", "rename_column", "convert_column", "add_column",
               "create_index", "create_search_index", "restore_column", "retire_column", "move_choices", "move_records",
               "approval_rounds", "clocks")


def _ordered(steps: list[Step]) -> tuple[Step, ...]:
    """Steps in apply order; within a kind by key, so that a plan made twice is the same plan."""
    return tuple(sorted(steps, key=lambda s: (_STEP_ORDER.index(s.key()[0]), s.key())))


def plan_flow(db: Engine, flow: CompiledFlow, *, calendars: Mapping[str, CalendarSpec] | None = None) -> Plan:
    """What applying `flow` would do now (read-only)."""
    with db.connect().execution_options(readonly=True) as conn, conn.begin():
        return compute_plan(conn, flow, calendars)[0]


def _live_flow(base: StoredRevision, calendars: Mapping[str, CalendarSpec] | None, ctx_changes: list[str]) -> CompiledFlow | None:
    try:
        return base.compile(calendars)
    except FlowLoadError as exc:
        log.warning("live revision %s of %s no longer loads: %s", base.revision, base.flow, exc)
        ctx_changes.append(str(exc.problems[0]) if exc.problems else str(exc))
        return None


def compute_plan(conn: Connection, flow: CompiledFlow,
                 calendars: Mapping[str, CalendarSpec] | None = None) -> tuple[Plan, PlanContext]:
    base = read_live(conn, flow.name)
    unreadable: list[str] = []
    old = _live_flow(base, calendars, unreadable) if base is not None else None
    ctx = PlanContext(conn, flow, old, read_facts(conn, flow.name, flow.table_name),
                      rename_history=rename_history(conn, flow.name) if base is not None else [])
    if flow.table_name in engine_metadata.tables:
        ctx.change("flow", "reserved_name", flow.name,
                   Message("plan.reserved_name", "A flow named '{flow}' would use the table {table} of the engine "
                           "itself; choose another flow name", flow=flow.name, table=flow.table_name), "refused")
    elif base is None:
        ctx.change("flow", "flow_created", flow.name,
                   Message("plan.flow_created", "New flow '{flow}' with {fields}, {states} and {transitions}",
                           flow=flow.name, fields=Count(len(flow.fields), "field"), states=Count(len(flow.spec.states), "state"),
                           transitions=Count(len(flow.spec.transitions), "transition")))
    elif unreadable:
        ctx.change("flow", "live_unreadable", flow.name,
                   Message("plan.live_unreadable", "The live revision {revision} no longer loads ({problem}); the plan "
                           "compares the file with the table only", revision=base.revision, problem=unreadable[0]), "data")
    if not ctx.changes or ctx.changes[-1].effect != "refused":
        plan_fields(ctx)
        plan_row_tables(ctx)  # the child tables of table fields (line items)
        plan_lookalikes(ctx)
        plan_choices(ctx)
        plan_schema(ctx)
        plan_search(ctx)
        plan_states(ctx)
        plan_rules(ctx)
        plan_effects(ctx)  # what transitions set, create and update (engine/evolve/effects_plan.py)
        plan_sla(ctx)
        plan_approvals(ctx)  # open approval rounds of states whose approval changes (after plan_states: renames)
    if base is not None and base.sha256 != flow.sha256 and not ctx.changes:
        ctx.change("flow", "text_only", flow.name,
                   Message("plan.text_only", "Only comments, titles or layout of the file change"))
    changes = sorted(ctx.changes, key=lambda c: AREAS.index(c.area))
    plan = Plan(flow=flow.name, source=flow.source, sha256=flow.sha256,
                base_revision=base.revision if base else None, base_sha256=base.sha256 if base else None,
                dialect=conn.dialect.name, changes=tuple(changes), steps=_ordered(ctx.steps),
                calendars=calendars_used(flow.spec, calendars), rows=ctx._rows or 0)
    return plan, ctx
