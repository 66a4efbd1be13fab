"""Reloading a live flow: plan what a new flow file does to the database, then apply it atomically.

    plan = plan_flow(db, flow)            # read-only; words for people in plan.changes
    apply_flow(db, flow, expected_hash=plan.hash, applied_by=user_id)

The plan compares the new file with the live revision and with the table as it
really is (Alembic's autogenerate comparison), adds renames from `renamed_from:`,
keeps removed fields' columns (retired, restored when the field returns),
checks type changes value by value, maps removed states (`old: {moved_to: new}`)
and counts the records and clocks every change touches. Apply recomputes the
plan inside one transaction, refuses when the live revision or the plan changed,
runs the steps with Alembic's operations and writes the new revision.
"""
from engine.evolve.apply import AppliedRevision, NotAllowedHere, PlanRef, apply_flow
from engine.evolve.errors import ConfirmationNeeded, LiveRevisionChanged, PlanChanged, PlanRefused
from engine.evolve.model import Change, Plan
from engine.evolve.planner import plan_flow

__all__ = [
    "AppliedRevision",
    "Change",
    "ConfirmationNeeded",
    "LiveRevisionChanged",
    "NotAllowedHere",
    "Plan",
    "PlanChanged",
    "PlanRef",
    "PlanRefused",
    "apply_flow",
    "plan_flow",
]
