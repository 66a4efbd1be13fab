"""New-record form, record page (edit, transitions, history), live computed fields, reassign."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forms.value_checks import ascii_whole
from api.public import FormInt, RecordId
from engine.records.access import FieldMode, check_create, create_modes
from engine.records.owned_fields import owned_field_modes
from engine.records.claims import may_claim, may_reassign, reassign
from engine.records.errors import (
    CommentRequired, MissingRequired, NotFound, ReadOnlyField, StaleVersion, TransitionNotAllowed, ValidationFailed,
)
from engine.language.flow import CompiledFlow
from forms.messages import Message
from engine.records.records import Record, Records
from engine.records.transitions import Refusal, decide_create, default_values, field_errors, read_only
from ui.approval_view import approval_panel
from ui.auth import Page, checked_page, current_page
from ui.conditions_view import apply_conditions, forget_hidden_errors, states_for, typed_values
from ui.errors import PageRoute
from ui.file_views import add_file_views
from ui.formview import FieldView, build_fields, parse_post
from ui.history_view import history_entries
from ui.print_links import print_links
from ui.reference_view import backlink_views, with_references
from ui.row_fetch_preview import with_row_fetches
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text
from ui.services import People, services
from ui.sla_view import sla_badge
from ui.table_view import row_outputs, table_error_place
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _flow(request: Request, name: str) -> CompiledFlow:
    return services(request).registry.get(name).flow


def _with_computed(flow: CompiledFlow, values: dict[str, Any], page: Page) -> dict[str, Any]:
    merged = dict(values)
    Records.compute(flow, merged, page.actor, page.now)  # the engine's own computation, nothing saved
    return merged


def _editable(modes: dict[str, FieldMode]) -> frozenset[str]:
    return frozenset(n for n, m in modes.items() if m == FieldMode.EDIT)


# --- new record ------------------------------------------------------------------------------------

def _new_page(request: Request, page: Page, flow: CompiledFlow, values: dict[str, Any], *,
              typed: dict[str, list[str]] | None = None, errors: dict[str, str] | None = None,
              banner: str | None = None, status: int = 200) -> Response:
    modes = create_modes(flow, page.actor)
    people = People(request)
    shown = _with_computed(flow, values, page)
    fields = build_fields(flow, modes, shown, page._, typed=typed, errors=errors,
                          user_options=people.user_options(flow.fields), user_names=people.names)
    fields = with_references(services(request), flow, fields, values, page.actor, page._, typed=typed)
    add_file_views(fields, services(request).db, flow.name, None, page.actor)
    fields = [f for f in fields if f.editable or f.computed or f.display]  # later stages' empty fields: noise here
    conditions = apply_conditions(flow, fields, states_for(flow, shown, page.actor, page.now))
    return render("records/new.html", page.context(flow=flow, fields=fields, banner=banner, conditions=conditions,
                                                   errors=_error_list(fields, errors or {}, page)),
                  status_code=status)


@router.get("/records/{flow_name}/new")
def new_form(request: Request, flow_name: str, page: Annotated[Page, Depends(current_page)]) -> Response:
    flow = _flow(request, flow_name)
    check_create(flow, page.actor)
    return _new_page(request, page, flow, default_values(flow))


@router.post("/records/{flow_name}/new")
def create_record(request: Request, flow_name: str, page: Annotated[Page, Depends(checked_page)]) -> Response:
    flow = _flow(request, flow_name)
    check_create(flow, page.actor)
    posted = parse_post(flow, page.form, _editable(create_modes(flow, page.actor)))
    forget_hidden_errors(flow, posted, default_values(flow), page.actor, page.now)
    if posted.forbidden:
        raise ReadOnlyField(read_only(flow, posted.forbidden[0], None), field=posted.forbidden[0])
    if posted.errors:  # with what the engine would refuse besides (required fields left empty)
        decided = decide_create(flow, posted.values, page.actor, page.now)
        errors = {**decided[2], **posted.errors} if not isinstance(decided, Refusal) else posted.errors
        return _new_page(request, page, flow, {**default_values(flow), **posted.values}, typed=posted.typed,
                         errors=errors, status=422)
    try:
        rec = services(request).access.create(flow_name, page.actor, posted.values)
    except ValidationFailed as exc:
        return _new_page(request, page, flow, {**default_values(flow), **posted.values}, typed=posted.typed,
                         errors=exc.field_errors, status=422)
    return RedirectResponse(f"/records/{flow_name}/{rec.id}?msg=created", status_code=303)


@router.post("/records/{flow_name}/preview")
def preview_new(request: Request, flow_name: str, page: Annotated[Page, Depends(checked_page)]) -> Response:
    """Computed fields of the new-record form for what is typed so far (nothing is saved)."""
    flow = _flow(request, flow_name)
    posted = parse_post(flow, page.form, _editable(create_modes(flow, page.actor)))
    svc = services(request)
    given, hints = with_row_fetches(svc.db, svc.registry, flow, page.actor, {**default_values(flow), **posted.values},
                                    None, page._)
    values = _with_computed(flow, given, page)
    fields = build_fields(flow, create_modes(flow, page.actor), values, page._)
    conditions = apply_conditions(flow, fields, states_for(flow, values, page.actor, page.now))
    return render("records/_preview.html", page.context(fields=[f for f in fields if f.computed], transitions=None,
                                                        conditions=conditions, row_outputs=row_outputs(flow, values, page._),
                                                        fetch_hints=hints))


# --- the record page -------------------------------------------------------------------------------

def _transition_views(request: Request, rec: Record, page: Page) -> list[Any]:
    views = services(request).access.transitions(rec, page.actor, now=page.now)
    return [v.option for v in views if v.visible]


def _record_page(request: Request, page: Page, rec: Record, *, typed: dict[str, list[str]] | None = None,
                 errors: dict[str, str] | None = None, banner: str | None = None, comment: str = "",
                 status: int = 200, msg: str = "", task_form: tuple[str, str, str] | None = None) -> Response:
    svc = services(request)
    live = svc.registry.get(rec.flow)
    flow = live.flow
    modes = owned_field_modes(flow, rec.state, rec.assignee_id, services(request).access.acting_as(rec, page.actor))
    people = People(request)
    fields = build_fields(flow, modes, rec.values, page._, typed=typed, errors=errors,
                          user_options=people.user_options(flow.fields), user_names=people.names)
    fields = with_references(svc, flow, fields, rec.values, page.actor, page._, record_id=rec.id, typed=typed)
    add_file_views(fields, svc.db, rec.flow, rec.id, page.actor)
    conditions = apply_conditions(flow, fields, states_for(flow, {**rec.values, **typed_values(flow, typed)},
                                                           page.actor, page.now))
    transitions = _transition_views(request, rec, page)
    sys = rec.system
    sla_state = sys.get("sla_state") or rec.state
    sla = sla_badge(flow, sla_state if sla_state in flow.spec.states else rec.state, sys.get("sla_status"),
                    sys.get("sla_due_at"), sys.get("sla_warn_at"), page.now, page._)
    owner = flow.state(rec.state).owner
    role = flow.spec.roles.get(owner or "")
    history = history_entries(flow, rec.state, svc.records.history(rec.flow, rec.id), people.names, page._,
                              {lf.flow.name: lf.flow.spec.title for lf in svc.registry.all()})
    wants_comment = [t for t in transitions if t.comment]
    ctx = page.context(
        flow=flow, rec=rec, fields=fields, editable=any(f.editable for f in fields), transitions=transitions,
        sla=sla, state_title=flow_text(flow.state(rec.state).title, page._.locale, flow) or rec.state, final=rec.state in flow.final_states,
        assignee=people.names.get(rec.assignee_id) if rec.assignee_id else None,
        queue=((flow_text(role.title, page._.locale, flow) or owner) if role else owner) if rec.assignee_id is None else None,
        can_claim=may_claim(flow, rec.state, rec.assignee_id, page.actor),
        can_reassign=may_reassign(flow, page.actor) and rec.state not in flow.final_states,
        candidates=people.members(owner), history=history, banner=banner, comment=comment,
        comment_required=[flow_text(t.title, page._.locale, flow) for t in wants_comment if t.comment == "required"],
        comment_optional=[flow_text(t.title, page._.locale, flow) for t in wants_comment if t.comment == "optional"],
        errors=_error_list(fields, errors or {}, page), msg=msg, conditions=conditions,
        comment_error=translate_message(page._, errors["comment"]) if errors and "comment" in errors else None,
        created_by=people.names.get(sys.get("created_by") or 0, ""),
        backlinks=backlink_views(svc, rec.flow, rec.id, page.actor, page._),
        approval=approval_panel(svc.db, flow, rec, page.actor, page.now, page._, people.rows, people.names),
        task_form=task_form or ("", "", ""),
        print_layouts=print_links(flow, page.actor, rec.state, page._),
    )
    return render("records/show.html", ctx, status_code=status)


def _error_list(fields: list[FieldView], errors: dict[str, str], page: Page) -> list[tuple[str, str, str]]:
    """(anchor id, label, message) of every error, for the summary at the top of a form."""
    by_name = {f.name: f for f in fields}
    out = []
    for name, message in errors.items():
        f = by_name.get(name)
        if f is not None:
            out.append((f.id, f.label, f.error or message))
        elif name == "comment":
            out.append(("comment", page._("Comment"), translate_message(page._, message)))
        elif (place := table_error_place(by_name, name, page._)) is not None:  # lines[2].quantity
            out.append((*place, translate_message(page._, message)))
        else:
            out.append(("", name, translate_message(page._, message)))
    return out


@router.get("/records/{flow_name}/{record_id}")
def record_page(request: Request, flow_name: str, record_id: RecordId, page: Annotated[Page, Depends(current_page)],
                msg: str = "") -> Response:
    rec = services(request).access.get(flow_name, record_id, page.actor)
    return _record_page(request, page, rec, msg=msg)


def _posted_version(form: FormData) -> int | None:
    raw = form.get("version")
    return ascii_whole(raw.strip(), 12) if isinstance(raw, str) else None


@router.post("/records/{flow_name}/{record_id}")
def act_on_record(request: Request, flow_name: str, record_id: RecordId,
                  page: Annotated[Page, Depends(checked_page)]) -> Response:
    """Save the edited fields, or fire a transition (with the edits and a comment in the same step)."""
    svc = services(request)
    rec = svc.access.get(flow_name, record_id, page.actor)
    flow = svc.registry.get(flow_name).flow
    form = page.form
    action = form.get("action")
    action = action if isinstance(action, str) else "save"
    comment_raw = form.get("comment")
    comment = comment_raw.strip() if isinstance(comment_raw, str) else ""
    version = _posted_version(form)
    if version is None:
        return _record_page(request, page, rec, status=409,
                            banner=page._("This form has no record version. Reload the page and try again."))
    if version != rec.version:
        return _stale(request, page, rec, version, comment)
    editable = _editable(owned_field_modes(flow, rec.state, rec.assignee_id, services(request).access.acting_as(rec, page.actor)))
    posted = parse_post(flow, form, editable, only_present=True)
    forget_hidden_errors(flow, posted, rec.values, page.actor, page.now)
    if posted.forbidden:
        raise ReadOnlyField(read_only(flow, posted.forbidden[0], rec.state), field=posted.forbidden[0])
    if action != "save" and not action.startswith("t:"):
        raise NotFound(f"unknown action '{action}'")
    name = action[2:] if action.startswith("t:") else None
    t = flow.spec.transitions.get(name) if name else None
    if name is not None and t is None:
        raise NotFound(f"flow '{flow_name}' has no transition '{name}'")
    # Only what changed goes along with a transition, so that an incomplete record can still be
    # cancelled or sent back (the engine checks required fields for what is sent).
    changed = {k: v for k, v in posted.values.items() if v != rec.values.get(k)}
    given = posted.values if name is None else changed
    asks_confirmation = t is not None and t.confirm and form.get("confirmed") != "yes"
    if posted.errors or asks_confirmation:
        # The engine's own field checks (required fields, the comment), without writing: shown beside
        # the parsing errors, and before a confirmation is asked for a step that would be refused.
        errors = {**field_errors(flow, transition=name, row=rec.system, before=rec.values, actor=page.actor,
                                 given=given, comment=comment or None, now=page.now), **posted.errors}
        if errors:
            return _record_page(request, page, rec, typed=posted.typed, errors=errors, comment=comment,
                                status=422)
    if t is not None and asks_confirmation:
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf_token", "confirmed")]
        return render("records/confirm.html", page.context(rec=rec, flow=flow, transition=t, items=items))
    try:
        if name is None:
            svc.access.edit(flow_name, record_id, page.actor, given, expected_version=version,
                            comment=comment or None)
            done = "saved"
        else:
            svc.access.transition(flow_name, record_id, name, page.actor, expected_version=version,
                                  values=given or None, comment=comment or None)
            done = "moved"
    except StaleVersion:
        return _stale(request, page, svc.access.get(flow_name, record_id, page.actor), version, comment)
    except ValidationFailed as exc:
        return _record_page(request, page, rec, typed=posted.typed, errors=exc.field_errors, comment=comment,
                            status=422)
    except MissingRequired as exc:
        errs: dict[str, str] = {f: Message("missing_required", "fill this in first") for f in exc.fields}
        return _record_page(request, page, rec, typed=posted.typed, errors=errs, comment=comment, status=422,
                            banner=translate_message(page._, exc.message))
    except CommentRequired as exc:
        return _record_page(request, page, rec, typed=posted.typed, comment=comment, status=422,
                            errors={"comment": exc.message}, banner=translate_message(page._, exc.message))
    except TransitionNotAllowed as exc:
        return _record_page(request, page, rec, typed=posted.typed, comment=comment, status=409,
                            banner=translate_message(page._, exc.message))
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg={done}", status_code=303)


def _stale(request: Request, page: Page, current: Record, had: int | None, comment: str) -> Response:
    banner = page._("Someone else changed this record meanwhile (now version {now}, you had {had}). "
                    "Nothing was saved; here it is as it is now.", now=current.version, had=had or "?")
    return _record_page(request, page, current, banner=banner, comment=comment, status=409)


@router.post("/records/{flow_name}/{record_id}/preview")
def preview_record(request: Request, flow_name: str, record_id: RecordId,
                   page: Annotated[Page, Depends(checked_page)]) -> Response:
    """Computed fields and transition buttons for what is typed so far (nothing is saved)."""
    svc = services(request)
    rec = svc.access.get(flow_name, record_id, page.actor)
    flow = svc.registry.get(flow_name).flow
    modes = owned_field_modes(flow, rec.state, rec.assignee_id, services(request).access.acting_as(rec, page.actor))
    posted = parse_post(flow, page.form, _editable(modes), only_present=True)
    given, hints = with_row_fetches(svc.db, svc.registry, flow, page.actor, {**rec.values, **posted.values},
                                    rec.values, page._)
    values = _with_computed(flow, given, page)
    draft = Record(rec.flow, rec.id, rec.state, rec.version, values, rec.system, rec.title)
    fields = build_fields(flow, modes, values, page._)
    conditions = apply_conditions(flow, fields, states_for(flow, values, page.actor, page.now))
    return render("records/_preview.html", page.context(
        fields=[f for f in fields if f.computed], transitions=_transition_views(request, draft, page), rec=rec,
        conditions=conditions, row_outputs=row_outputs(flow, values, page._), fetch_hints=hints))


@router.post("/records/{flow_name}/{record_id}/reassign")
def reassign_record(request: Request, flow_name: str, record_id: RecordId, page: Annotated[Page, Depends(checked_page)],
                    assignee: Annotated[str, Form()] = "", version: Annotated[FormInt, Form()] = None) -> Response:
    svc = services(request)
    target = ascii_whole(assignee.strip(), 9)
    if assignee.strip() and target is None:
        raise NotFound("no such user")
    try:
        reassign(svc.executor, svc.registry, flow_name, record_id, page.actor, target, expected_version=version)
    except ValidationFailed as exc:
        rec = svc.access.get(flow_name, record_id, page.actor)
        return _record_page(request, page, rec, status=422,
                            banner=translate_message(page._, next(iter(exc.field_errors.values()))))
    return RedirectResponse(f"/records/{flow_name}/{record_id}?msg=reassigned", status_code=303)
