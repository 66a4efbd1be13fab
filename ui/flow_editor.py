"""The flow editor's work without HTTP: a flow file's located problems and its plan, in words for people.

`check_text` loads YAML typed or uploaded by an admin with the shared
calendars the server runs with, and lists every problem as `line:column:
message` (the loader's own, plus the editor's: an edit page keeps its flow's
name, a new flow's name must be free). `plan_view` turns an engine Plan into
what the page shows: changes grouped by area, each marked safe / touches data
/ refused, with counts, examples and how long the slow parts take.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.evolve import Plan
from engine.evolve.model import AREAS, Change
from engine.language.flow import CompiledFlow
from engine.language.cross_flow import check_against
from engine.language.loader import MAX_FLOW_BYTES, load_flow_text
from engine.language.problems import FlowLoadError
from engine.storage.registry import FlowRegistry
from ui.i18n.problem_words import translate_problem
from ui.i18n import N_, translate_message
from ui.values import Gettext

SOURCE = "<editor>"

AREA_TITLES = {
    "flow": N_("Flow"), "fields": N_("Fields and columns"), "states": N_("States and the records in them"),
    "rules": N_("Transitions, roles and permissions"), "sla": N_("SLA clocks"), "indexes": N_("Indexes"),
}
EFFECT_LABELS = {"safe": N_("safe"), "data": N_("touches data"), "refused": N_("refused")}


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class Checked:
    """A flow file checked: the compiled flow when it loads, else its problems."""

    text: str
    flow: CompiledFlow | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.flow is not None and not self.problems


def _flow_key_line(text: str) -> int:
    m = re.search(r"^flow\s*:", text, flags=re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def check_text(text: str, registry: FlowRegistry, _: Gettext, *, editing: str | None) -> Checked:
    """Load `text`; `editing`: the flow an edit page is for (None: a new flow)."""
    try:
        flow = load_flow_text(text, source=SOURCE, calendars=registry.calendars, templates=registry.print_templates_of)
        refused = check_against(flow, {live.flow.name: live.flow.spec for live in registry.all()})
        if refused is not None:
            raise refused
    except FlowLoadError as exc:
        return Checked(text, None, tuple(Problem(p.line, p.column, translate_problem(_, p.message)) for p in exc.problems))
    line = _flow_key_line(text)
    if editing is not None and flow.name != editing:
        why = _("this file is for flow '{name}', not '{flow}'; create new flows under New flow",
                name=flow.name, flow=editing)
        return Checked(text, flow, (Problem(line, 1, why),))
    if editing is None and flow.name in registry.names():
        why = _("a flow named '{name}' already exists; edit it from its own page", name=flow.name)
        return Checked(text, flow, (Problem(line, 1, why),))
    return Checked(text, flow, ())


def read_upload(data: bytes, _: Gettext) -> tuple[str, str | None]:
    """The text of an uploaded flow file, or an error to show."""
    if len(data) > MAX_FLOW_BYTES:
        return "", _("The file is too large (at most {n} bytes).", n=MAX_FLOW_BYTES)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", _("The file is not UTF-8 text.")


def duration_text(seconds: float, _: Gettext) -> str:
    if seconds < 1:
        return _("under a second")
    if seconds < 90:
        return _("about {n} s", n=round(seconds))
    return _("about {n} min", n=round(seconds / 60))


@dataclass(frozen=True)
class ChangeView:
    effect: str
    effect_label: str
    text: str
    count: int | None
    examples: tuple[str, ...]
    examples_title: str
    duration: str | None
    confirm: str | None = None  # a check box the admin ticks to apply it (engine/evolve/lookalikes.py)


@dataclass(frozen=True)
class AreaView:
    title: str
    changes: tuple[ChangeView, ...]


@dataclass(frozen=True)
class PlanView:
    flow: str
    base_revision: int | None
    new_revision: int
    hash: str
    sha256: str
    records: int
    areas: tuple[AreaView, ...]
    refused: bool
    safe: bool
    unchanged: bool
    blocked: str | None  # why Apply is disabled

    @property
    def short_hash(self) -> str:
        return self.hash[:16]


def _change_view(c: Change, _: Gettext) -> ChangeView:
    title = _("Values that would not convert") if c.kind == "type_refused" else _("Examples")
    return ChangeView(c.effect, _(EFFECT_LABELS[c.effect]), translate_message(_, c.text), c.count,
                      tuple(translate_message(_, e) for e in c.examples), title,
                      duration_text(c.seconds, _) if c.seconds is not None else None, c.confirm)


def plan_view(plan: Plan, _: Gettext) -> PlanView:
    areas = tuple(AreaView(_(AREA_TITLES[a]), tuple(_change_view(c, _) for c in plan.changes if c.area == a))
                  for a in AREAS if any(c.area == a for c in plan.changes))
    blocked = None
    if plan.refused:
        blocked = _("The plan is refused: fix the problems marked refused (in the file or in the records) "
                    "and plan again.")
    elif plan.unchanged:
        blocked = _("Nothing to apply: the file is the live revision.")
    return PlanView(plan.flow, plan.base_revision, plan.new_revision, plan.hash, plan.sha256, plan.rows, areas,
                    plan.refused, plan.safe, plan.unchanged, blocked)
