"""Admin pages: users and role grants; flows with their revision, diagram and YAML."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.records.errors import Forbidden, ValidationFailed
from engine.people.sessions import end_user_sessions
from engine.people.users import create_user, grant_role, list_users, revoke_role, set_active, user_id
from ui.auth import Page, checked_page, current_page
from ui.diagram import flow_svg
from ui.errors import PageRoute
from ui.flow_admin import flow_admin_extras
from ui.highlight import highlight_yaml
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _admin(page: Page) -> Page:
    if not page.actor.is_admin:
        raise Forbidden("only administrators may open this page")
    return page


def admin_page(page: Annotated[Page, Depends(current_page)]) -> Page:
    return _admin(page)


def admin_post(page: Annotated[Page, Depends(checked_page)]) -> Page:
    return _admin(page)


AdminPage = Annotated[Page, Depends(admin_page)]
AdminPost = Annotated[Page, Depends(admin_post)]


def _known_roles(request: Request, locale: str | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for lf in services(request).registry.all():
        for role, spec in lf.flow.spec.roles.items():
            out.setdefault(role, flow_text(spec.title, locale, lf.flow) or role)
    return dict(sorted(out.items()))


def _users_page(request: Request, page: Page, *, errors: dict[str, str] | None = None,
                form: dict[str, str] | None = None, status: int = 200, msg: str = "") -> Response:
    users = list_users(services(request).db)
    errs = {k: translate_message(page._, v) for k, v in (errors or {}).items()}
    return render("admin/users.html", page.context(users=users, roles=_known_roles(request, page._.locale), errors=errs,
                                                   form=form or {}, msg=msg), status_code=status)


@router.get("/admin/users")
def users_page(request: Request, page: AdminPage, msg: str = "") -> Response:
    return _users_page(request, page, msg=msg)


@router.post("/admin/users")
def add_user(request: Request, page: AdminPost, username: Annotated[str, Form()] = "",
             display_name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
             email: Annotated[str, Form()] = "", locale: Annotated[str, Form()] = "",
             is_admin: Annotated[str, Form()] = "") -> Response:
    form = {"username": username, "display_name": display_name, "email": email, "locale": locale}
    errors: dict[str, str] = {}
    if len(display_name) > 200:
        errors["display_name"] = "must be at most 200 characters long (has {})".format(len(display_name))
    if len(email) > 254:
        errors["email"] = "must be at most 254 characters long (has {})".format(len(email))
    if len(password) < 8 or len(password) > 1024:
        errors["password"] = "a password has 8 to 1024 characters"
    roles = [r for r in page.form.getlist("roles") if isinstance(r, str) and r in _known_roles(request)]
    if not errors:
        try:
            create_user(services(request).executor, username.strip(), display_name=display_name.strip() or None,
                        password=password, email=email.strip() or None, is_admin=is_admin == "true", roles=roles,
                        locale=locale if locale in ("en", "zh-CN") else None)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if errors:
        return _users_page(request, page, errors=errors, form=form, status=422)
    return RedirectResponse("/admin/users?msg=user_saved", status_code=303)


def _after_change(request: Request, username: str, *, end_sessions: bool) -> None:
    svc = services(request)
    uid = user_id(svc.db, username)
    if end_sessions:
        end_user_sessions(svc.executor, uid)
    svc.auth_cache.drop_user(uid)


@router.post("/admin/users/{username}/roles")
def change_role(request: Request, username: str, page: AdminPost, role: Annotated[str, Form()] = "",
                op: Annotated[str, Form()] = "grant") -> Response:
    db = services(request).executor
    if role not in _known_roles(request) and op == "grant":
        return _users_page(request, page, errors={"role": f"unknown role '{role}'"}, status=422)
    if op == "revoke":
        revoke_role(db, username, role)
    else:
        grant_role(db, username, role)
    _after_change(request, username, end_sessions=False)
    return RedirectResponse("/admin/users?msg=user_saved", status_code=303)


@router.post("/admin/users/{username}/active")
def change_active(request: Request, username: str, page: AdminPost,
                  active: Annotated[str, Form()] = "false") -> Response:
    if username == page.actor.username:
        return _users_page(request, page, errors={"active": "you cannot deactivate yourself"}, status=422)
    set_active(services(request).executor, username, active == "true")
    _after_change(request, username, end_sessions=active != "true")
    return RedirectResponse("/admin/users?msg=user_saved", status_code=303)


@router.get("/admin/flows")
def flows_page(request: Request, page: AdminPage) -> Response:
    lives = sorted(services(request).registry.all(), key=lambda lf: lf.flow.name)
    broken = getattr(request.app.state, "broken_flows", [])
    return render("admin/flows.html", page.context(lives=lives, broken=broken))


@router.get("/admin/flows/{flow_name}")
def flow_page(request: Request, flow_name: str, page: AdminPage, msg: str = "", sim_start: str | None = None,
              sim_path: str = "") -> Response:
    live = services(request).registry.get(flow_name)
    flow = live.flow
    return render("admin/flow.html", page.context(
        live=live, flow=flow, svg=flow_svg(flow, locale=page._.locale), yaml_html=highlight_yaml(flow.source_text),
        transitions=list(flow.spec.transitions.items()), msg=msg,
        **flow_admin_extras(request, page, live, sim_start, sim_path)))


@router.get("/admin/flows/{flow_name}/diagram.svg")
def flow_diagram(request: Request, flow_name: str, page: AdminPage) -> Response:
    flow = services(request).registry.get(flow_name).flow
    return Response(str(flow_svg(flow, standalone=True, locale=page._.locale)), media_type="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
