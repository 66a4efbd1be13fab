"""Why an apply was refused. Each error carries a message written for an admin."""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.records.errors import WorkflowError

if TYPE_CHECKING:
    from engine.evolve.model import Plan


class PlanRefused(WorkflowError):
    """The plan has problems that must be fixed in the file (or in the records) first."""

    code = "plan_refused"

    def __init__(self, plan: Plan) -> None:
        problems = [c.text for c in plan.problems]
        super().__init__(f"flow '{plan.flow}': the change is refused: " + "; ".join(problems), problems=problems)
        self.plan = plan


class LiveRevisionChanged(WorkflowError):
    """Someone applied another revision after this plan was made."""

    code = "live_revision_changed"

    def __init__(self, flow: str, planned: int | None, live: int | None) -> None:
        planned_text = f"revision {planned}" if planned else "no live revision"
        super().__init__(
            f"flow '{flow}': the live revision changed since the plan (planned against {planned_text}, "
            f"live is now revision {live}); make a new plan and check it again",
            planned=planned, live=live)


class PlanChanged(WorkflowError):
    """The database changed since the plan so that the plan would now do something else."""

    code = "plan_changed"

    def __init__(self, flow: str) -> None:
        super().__init__(f"flow '{flow}': the database changed since the plan, so the plan would now do "
                         "something else; make a new plan and check it again")


class ConfirmationNeeded(WorkflowError):
    """The plan does something its file may not mean (engine/evolve/lookalikes.py): the admin confirms each such change."""

    code = "confirmation_needed"

    def __init__(self, plan: Plan, missing: list[str]) -> None:
        texts = [c.text for c in plan.changes if c.confirm in missing]
        super().__init__(f"flow '{plan.flow}': confirm these changes first (nothing was applied): " + "; ".join(texts),
                         confirm=missing)
        self.plan = plan
        self.missing = missing
