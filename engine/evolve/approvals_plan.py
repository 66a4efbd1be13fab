"""Approval rounds in a reload: what happens to the open rounds (会签 / 或签) of a state whose approval changes.

A round is open while some task of it is `pending` or `waiting` (engine/records/approval_rounds.py). The
plan says, per state with open rounds, and apply does:

* **The state is removed** (`old: {moved_to: new}`): its open rounds are cancelled — the undecided tasks
  end as `cancelled`, the decisions already made stay on the record's history — and the records move to
  the new state (entering it opens a round there when it has an approval).
* **The state is renamed**: the rounds go with it, tasks and decisions kept.
* **The state loses its `approval:`**: the open rounds are cancelled; the records stay in the state for
  its owner and transitions.
* **The state gains an `approval:`**: the records already in it get a round starting now (each approver a
  task with the state's clock), as if they had just entered it — otherwise they could never leave a state
  whose way out is `on: approval_passed`.
* **The approvers change**: the open rounds keep their approvers and the decisions made (a person asked
  is not silently un-asked); records entering the state from now on get the new approvers.
* **The rule changes** (`mode`, `on_reject`): open rounds are counted under the new rule from their next
  decision. The plan says how many the new rule would already decide (they move on at that next
  decision: every open round has at least one approver still to decide).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, func, select, update

from engine.evolve.context import PlanContext
from engine.evolve.model import ApplyContext, Step
from engine.evolve.states_plan import resolved_moves
from engine.language.approval_spec import ApprovalSpec
from engine.storage.schema import approval_tasks
from engine.storage.tables import build_flow_table
from forms.message_parts import Count, Joined
from forms.messages import Message

RoundsMode = Literal["cancel", "open", "rename"]
OPEN = ("pending", "waiting")


@dataclass(frozen=True)
class ApprovalRounds(Step):
    """Open approval rounds of a state: cancelled, opened for the records already there, or renamed."""

    state: str  # the state as the tasks name it now (the old name for cancel and rename)
    mode: RoundsMode
    target: str = ""  # rename: the new name

    def key(self) -> tuple[str, ...]:
        return ("approval_rounds", self.state, self.mode, self.target)

    def run(self, ctx: ApplyContext) -> None:
        a = approval_tasks
        mine = and_(a.c.flow == ctx.flow.name, a.c.state == self.state)
        if self.mode == "cancel":
            ctx.conn.execute(update(a).where(mine, a.c.status.in_(OPEN)).values(status="cancelled", decided_at=ctx.now))
        elif self.mode == "rename":
            ctx.conn.execute(update(a).where(mine).values(state=self.target))
        else:
            from engine.records.approval_rounds import open_round

            t = build_flow_table(ctx.flow)
            has_open = select(a.c.record_id).where(mine, a.c.status.in_(OPEN))
            for row in ctx.conn.execute(select(t).where(t.c.state == self.state, t.c.id.not_in(has_open))).mappings():
                open_round(ctx.conn, ctx.flow, dict(row), ctx.now)


def _open_rounds(ctx: PlanContext, state: str) -> dict[int, list[dict[str, Any]]]:
    """record id → the tasks of its open round in `state` (the latest round, decided tasks included)."""
    a = approval_tasks
    mine = and_(a.c.flow == ctx.flow.name, a.c.state == state)
    latest = (select(a.c.record_id, func.max(a.c.stage_start).label("start")).where(mine, a.c.status.in_(OPEN))
              .group_by(a.c.record_id).subquery())
    q = (select(a.c.record_id, a.c.status).join(latest, and_(latest.c.record_id == a.c.record_id,
                                                            latest.c.start == a.c.stage_start)).where(mine))
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rid, status in ctx.conn.execute(q):
        out[int(rid)].append({"status": status})
    return out


def _undecided(rounds: dict[int, list[dict[str, Any]]]) -> int:
    return sum(t["status"] in OPEN for tasks in rounds.values() for t in tasks)


def _rule(ap: ApprovalSpec) -> Any:
    return (ap.mode if isinstance(ap.mode, str) else ap.mode.model_dump(), ap.on_reject)


def plan_approvals(ctx: PlanContext) -> None:
    if ctx.old is None or not ctx.facts.exists:
        return
    moves = resolved_moves(ctx.flow.spec.moved_states)
    new_of = {old: new for new, old in ctx.renamed_states.items()}
    for old_name, old_st in ctx.old.spec.states.items():
        new_name = new_of.get(old_name, old_name)
        new_st = ctx.flow.spec.states.get(new_name)
        old_ap = old_st.approval
        new_ap = new_st.approval if new_st is not None else None
        if new_st is not None and old_ap is None and new_ap is not None:
            _gained(ctx, new_name, old_name)
            continue
        if old_ap is None:
            continue
        rounds = _open_rounds(ctx, old_name)
        label = ctx.state_label(old_name, ctx.old)
        what = {"state": label, "rounds": Count(len(rounds), "open approval round"),
                "tasks": Count(_undecided(rounds), "undecided task")}
        if new_st is None:
            if rounds:
                ctx.step(ApprovalRounds(old_name, "cancel"))
                ctx.change("states", "approval_rounds_cancelled", old_name, Message(
                    "plan.approval_state_removed", "State {state} is removed: its {rounds} are cancelled ({tasks} end "
                    "undecided; the decisions already made stay on the records' history) and the records move to {target}",
                    **what, target=ctx.state_label(moves.get(old_name, "?"))), "data", count=len(rounds))
            continue
        if new_name != old_name and rounds:
            ctx.step(ApprovalRounds(old_name, "rename", new_name))
        if new_ap is None:
            if rounds:
                ctx.step(ApprovalRounds(old_name, "cancel"))  # runs before a rename of the same state (by mode)
            ctx.change("states", "approval_removed", new_name, Message(
                "plan.approval_removed", "State {state} no longer has an approval: its {rounds} are cancelled ({tasks} "
                "end undecided); the records stay in it for its owner", **what), "data" if rounds else "safe",
                count=len(rounds))
            continue
        if old_ap == new_ap:
            continue
        parts: list[Message] = []
        if list(old_ap.approvers) != list(new_ap.approvers) or old_ap.distinct_from != new_ap.distinct_from:
            parts.append(Message("plan.approvers_changed", "the {rounds} keep their approvers and the decisions made; "
                                 "records entering it from now on get the new approvers", rounds=what["rounds"]))
        if _rule(old_ap) != _rule(new_ap):
            from engine.records.approvals import tally

            settled = sum(tally(new_ap, tasks).outcome is not None for tasks in rounds.values())
            parts.append(Message("plan.approval_rule_changed", "the {rounds} are counted under the new rule from their "
                                 "next decision ({settled} the new rule would already decide: they move on at that "
                                 "decision)", rounds=what["rounds"], settled=Count(settled, "round")))
        if not parts:
            continue
        ctx.change("states", "approval_changed", new_name, Message(
            "plan.approval_changed", "The approval of state {state} changes: {what}", state=ctx.state_label(new_name),
            what=Joined(tuple(parts), "; ")), "data" if rounds and _rule(old_ap) != _rule(new_ap) else "safe", count=len(rounds))


def _gained(ctx: PlanContext, new_name: str, old_name: str) -> None:
    t = build_flow_table(ctx.flow)
    waiting = ctx.conn.execute(select(func.count()).where(t.c.state == old_name)).scalar() or 0
    if waiting:
        ctx.step(ApprovalRounds(new_name, "open"))
    ctx.change("states", "approval_added", new_name, Message(
        "plan.approval_added", "State {state} gets an approval: the {records} already in it get a round starting now, "
        "each approver a task", state=ctx.state_label(new_name), records=Count(waiting, "record")),
        "data" if waiting else "safe", count=waiting)
