"""A plan as text for the command line and logs: grouped by area, one line per change."""
from __future__ import annotations

from engine.evolve.model import AREA_TITLES, AREAS, Change, Plan

_MARK = {"safe": "  ", "data": "* ", "refused": "! "}


def _line(change: Change) -> list[str]:
    lines = [f"    {_MARK[change.effect]}{change.text}"]
    lines.extend(f"        e.g. {example}" for example in change.examples)
    if change.confirm:
        lines.append(f"        needs a confirmation: --confirm {change.confirm}")
    return lines


def render_plan(plan: Plan) -> str:
    base = f"revision {plan.base_revision}" if plan.base_revision else "nothing (new flow)"
    out = [f"Plan for flow '{plan.flow}' ({plan.source})",
           f"  live: {base} → new: revision {plan.new_revision}   plan {plan.hash[:16]}"]
    if plan.unchanged:
        out.append("  Nothing to do: the file is the live revision.")
        return "\n".join(out)
    for area in AREAS:
        changes = [c for c in plan.changes if c.area == area]
        if changes:
            out.append(f"  {AREA_TITLES[area]}")
            for change in changes:
                out.extend(_line(change))
    if plan.refused:
        out.append(f"  REFUSED: {len(plan.problems)} problem(s) marked ! must be fixed first; nothing was changed.")
    elif plan.safe:
        out.append("  Ready: only additions and rule changes; no stored value is touched.")
    else:
        out.append("  Ready: changes marked * touch stored data (nothing is lost; see above).")
    return "\n".join(out)
