"""The flow editor: type or upload a flow file, see its located problems as you type, plan, apply.

    GET  /admin/flows/new                       a new flow (a starter file)
    GET  /admin/flows/{name}/edit[?revision=N]  the live file, or revision N's (a rollback: plan → apply)
    POST {editor}/validate                      htmx: the located problems of the posted text
    POST {editor}/upload                        a .yaml file into the editor, planned
    POST {editor}/plan                          the plan of the posted text, with its hash
    POST {editor}/apply                         apply with the hash the admin saw (refused if stale)

Apply goes through engine.evolve.apply_flow with PlanRef(base revision, hash):
a refused plan, a live revision changed meanwhile, or records that changed
the plan are refused by the engine itself; the page then shows why and the
new plan. Nothing is applied unless the file loads without problems.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forms.value_checks import ascii_whole
from engine.records.errors import NotFound, WorkflowError
from engine.evolve import ConfirmationNeeded, LiveRevisionChanged, PlanChanged, PlanRef, PlanRefused, apply_flow, plan_flow
from engine.language.loader import MAX_FLOW_BYTES
from engine.storage.revisions import read_revision
from engine.authoring_tests.gate import override_problem
from api.public import editor_work
from ui.auth import Page, is_htmx
from ui.errors import PageRoute
from ui.flow_editor import Checked, PlanView, check_text, plan_view, read_upload
from ui.flow_tests_view import TestsView, run_flow_tests, tests_view
from ui.i18n.flow_text import flow_text
from ui.i18n import translate_message
from ui.routes.admin import AdminPage, AdminPost
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
STARTER = Path(__file__).resolve().parents[1] / "templates" / "admin" / "new_flow.yaml"
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Editor:
    """Which editor a request is for: a flow's (edit) or a new one."""

    editing: str | None

    @property
    def base_url(self) -> str:
        return f"/admin/flows/{self.editing}/edit" if self.editing else "/admin/flows/new"


def _editor(request: Request, flow_name: str | None) -> Editor:
    if flow_name is not None:
        services(request).registry.get(flow_name)  # NotFound → 404
    return Editor(flow_name)


def _text(page: Page, name: str = "yaml") -> str:
    value = page.form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _default_text(request: Request, ed: Editor) -> str:
    """The live file of the flow being edited, or the starter of a new one."""
    if ed.editing:
        return services(request).registry.get(ed.editing).flow.source_text
    return STARTER.read_text(encoding="utf-8")


def _page(request: Request, page: Page, ed: Editor, text: str, *, checked: Checked | None = None,
          plan: PlanView | None = None, banner: str | None = None, note: str | None = None, upload_error: str | None = None,
          status: int = 200, tests: TestsView | None = None) -> Response:
    registry = services(request).registry
    live = registry.get(ed.editing) if ed.editing else None
    heading = (page._("Edit flow: {flow}", flow=flow_text(live.flow.spec.title, page._.locale, live.flow) or live.flow.name) if live
               else page._("New flow"))
    return render("admin/editor.html", page.context(
        ed=ed, heading=heading, live=live, text=text, checked=checked, plan=plan, banner=banner, note=note,
        upload_error=upload_error, tests=tests, override_reason=_text(page, "tests_override_reason")), status_code=status)


def _planned(request: Request, page: Page, ed: Editor, text: str, *, banner: str | None = None,
             note: str | None = None, status: int = 200) -> Response:
    """The editor with the text's problems, or with its plan when it loads."""
    svc = services(request)
    checked = check_text(text, svc.registry, page._, editing=ed.editing)
    if not checked.ok or checked.flow is None:
        return _page(request, page, ed, text, checked=checked, banner=banner, note=note, status=422)
    plan = plan_flow(svc.db, checked.flow, calendars=svc.registry.calendars)
    tests = tests_view(run_flow_tests(request, checked.flow), page._)  # beside the plan (cached for the apply)
    return _page(request, page, ed, text, checked=checked, plan=plan_view(plan, page._), banner=banner, note=note,
                 status=status, tests=tests)


# --- opening the editor ------------------------------------------------------------------------------

@router.get("/admin/flows/new")
def new_flow(request: Request, page: AdminPage) -> Response:
    return _page(request, page, Editor(None), _default_text(request, Editor(None)))


@router.get("/admin/flows/{flow_name}/edit")
def edit_flow(request: Request, flow_name: str, page: AdminPage,
              revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    ed = _editor(request, flow_name)
    svc = services(request)
    live = svc.registry.get(flow_name)
    if revision is None or revision == live.revision:
        return _page(request, page, ed, _default_text(request, ed))
    with svc.db.connect() as conn:
        stored = read_revision(conn, flow_name, revision)
    if stored is None:
        raise NotFound(f"flow '{flow_name}' has no revision {revision}")
    note = page._("This is the file of revision {n}. Applying it rolls the flow back to that revision; "
                  "check its plan first.", n=revision)
    return _planned(request, page, ed, stored.yaml_text, note=note)


# --- validate, upload, plan, apply (for an existing flow and for a new one) ---------------------------

def _validate(request: Request, page: Page, ed: Editor) -> Response:
    text = _text(page)
    checked = check_text(text, services(request).registry, page._, editing=ed.editing)
    if is_htmx(request):
        return render("admin/_problems.html", page.context(checked=checked))
    return _page(request, page, ed, text, checked=checked, status=200 if checked.ok else 422)


def _upload(request: Request, page: Page, ed: Editor) -> Response:
    upload = page.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, page, ed, _default_text(request, ed), status=422,
                     upload_error=page._("Choose a .yaml file first."))
    text, error = read_upload(upload.file.read(MAX_FLOW_BYTES + 1), page._)
    if error:
        return _page(request, page, ed, _default_text(request, ed), status=422, upload_error=error)
    return _planned(request, page, ed, text.replace("\r\n", "\n"),
                    note=page._("Opened {file}.", file=upload.filename[:200]))


def _plan(request: Request, page: Page, ed: Editor) -> Response:
    return _planned(request, page, ed, _text(page))


def _expected(page: Page) -> PlanRef | None:
    """The plan the admin saw, from the hidden fields of the plan; None when they are missing or bad."""
    digest = page.form.get("plan_hash")
    base = page.form.get("base_revision")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest) or not isinstance(base, str):
        return None
    revision = ascii_whole(base, 9) if base else None
    if base and revision is None:
        return None
    return PlanRef(revision, digest)


def _apply(request: Request, page: Page, ed: Editor) -> Response:
    svc = services(request)
    text = _text(page)
    checked = check_text(text, svc.registry, page._, editing=ed.editing)
    if not checked.ok or checked.flow is None:
        banner = page._("The file has problems; nothing was applied.")
        return _page(request, page, ed, text, checked=checked, banner=banner, status=422)
    flow = checked.flow
    expected = _expected(page)
    if expected is None:
        return _planned(request, page, ed, text, status=409,
                        banner=page._("Make a plan and check it before applying; nothing was applied."))
    if page.form.get("plan_sha") != flow.sha256:
        return _planned(request, page, ed, text, status=409,
                        banner=page._("The text changed after the plan; nothing was applied. Check the new plan "
                                      "below and apply again."))
    gate = run_flow_tests(request, flow)
    reason = _text(page, "tests_override_reason").strip()
    if override_problem(gate, reason) is not None:
        return _planned(request, page, ed, text, status=409,
                        banner=page._("The flow's own tests fail; nothing was applied. Fix the flow or its tests, or "
                                      "give a reason to apply anyway."))
    try:
        done = apply_flow(svc.db, flow, expected=expected, applied_by=page.actor.id,
                          calendars=svc.registry.calendars,
                          confirmed=[v for v in page.form.getlist("confirm") if isinstance(v, str)],
                          notes=gate.notes(None if gate.passed else reason))
    except PlanRefused as exc:
        return _page(request, page, ed, text, checked=checked, plan=plan_view(exc.plan, page._), status=422,
                     banner=page._("The plan is refused; nothing was applied."))
    except ConfirmationNeeded as exc:
        return _page(request, page, ed, text, checked=checked, plan=plan_view(exc.plan, page._), status=409,
                     banner=page._("Some changes need your confirmation: tick the box of each one you mean; nothing "
                                   "was applied."))
    except LiveRevisionChanged as exc:
        live = exc.details.get("live")
        banner = page._("Someone applied another revision of this flow after your plan (made against revision "
                        "{planned}; live is now revision {live}). Nothing was applied. Check the new plan below "
                        "and apply again.", planned=expected.base_revision or "—", live=live or "—")
        return _planned(request, page, ed, text, banner=banner, status=409)
    except PlanChanged:
        banner = page._("The records changed since your plan, so it would now do something else. Nothing was "
                        "applied. Check the new plan below and apply again.")
        return _planned(request, page, ed, text, banner=banner, status=409)
    except WorkflowError as exc:
        return _page(request, page, ed, text, checked=checked, status=409,
                     banner=translate_message(page._, exc.message))
    svc.registry.refresh(svc.db)
    msg = "applied" if done.applied else "unchanged"
    return RedirectResponse(f"/admin/flows/{flow.name}?msg={msg}", status_code=303)


_ACTIONS = {"validate": _validate, "upload": _upload, "plan": _plan, "apply": _apply}


def _act(request: Request, page: Page, ed: Editor, action: str) -> Response:
    handler = _ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"no editor action '{action}'")
    return handler(request, page, ed)


# Async routes that hand the work to the editor's own threads (api/editor_work.py): loading and
# planning a big file takes seconds, and neither the event loop nor the shared thread pool that
# serves every other page (and /health) may wait for it.

@router.post("/admin/flows/new/{action}")
async def new_flow_action(request: Request, action: str, page: AdminPost) -> Response:
    return await editor_work(_act, request, page, Editor(None), action)


@router.post("/admin/flows/{flow_name}/edit/{action}")
async def edit_flow_action(request: Request, flow_name: str, action: str, page: AdminPost) -> Response:
    ed = await editor_work(_editor, request, flow_name)
    return await editor_work(_act, request, page, ed, action)
