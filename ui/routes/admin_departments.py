"""Admin: the org chart (departments, managers, members) and its CSV import."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.people.departments import (
    add_department, add_member, department_title, import_org_chart, list_departments, set_manager,
)
from engine.records.errors import NotFound, ValidationFailed
from ui.errors import PageRoute
from ui.routes.admin import AdminPage, AdminPost
from ui.services import services
from ui.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _show(request: Request, page: AdminPage, *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
          csv_text: str = "", msg: str = "", status: int = 200) -> Response:
    tree = [(d, department_title(d.title, page._.locale)) for d in list_departments(services(request).db)]
    return render("admin/departments.html", page.context(tree=tree, errors=errors or {}, form=form or {},
                                                         csv_text=csv_text, msg=msg), status_code=status)


@router.get("/admin/departments")
def departments_page(request: Request, page: AdminPage, msg: str = "") -> Response:
    return _show(request, page, msg=msg)


@router.post("/admin/departments")
def add_department_form(request: Request, page: AdminPost) -> Response:
    form = {k: str(page.form.get(k) or "").strip() for k in ("id", "title", "title_en", "parent", "manager", "members")}
    title: str | dict[str, str] = form["title"]
    if form["title_en"]:
        title = {"zh-CN": form["title"], "en": form["title_en"]} if form["title"] else {"en": form["title_en"]}
    svc = services(request)
    try:
        add_department(svc.executor, form["id"], title, parent=form["parent"] or None, manager=form["manager"] or None)
        for name in form["members"].replace(",", " ").split():
            add_member(svc.executor, form["id"], name)
    except (ValidationFailed, NotFound) as exc:
        errors = exc.field_errors if isinstance(exc, ValidationFailed) else {"id": exc.message}
        return _show(request, page, errors=errors, form=form, status=422)
    return RedirectResponse("/admin/departments?msg=department_saved", status_code=303)


@router.post("/admin/departments/{dept_id}/manager")
def change_manager(request: Request, dept_id: str, page: AdminPost) -> Response:
    manager = str(page.form.get("manager") or "").strip()
    try:
        set_manager(services(request).executor, dept_id, manager or None)
    except ValidationFailed as exc:
        return _show(request, page, errors=exc.field_errors, status=422)
    return RedirectResponse("/admin/departments?msg=department_saved", status_code=303)


@router.post("/admin/departments/import")
def import_csv(request: Request, page: AdminPost) -> Response:
    text = str(page.form.get("csv") or "")
    upload = page.form.get("file")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        try:
            text = upload.file.read(2_000_001).decode("utf-8-sig")
        except UnicodeDecodeError:
            return _show(request, page, errors={"file": "the file is not UTF-8 text; save the spreadsheet as 'CSV UTF-8'"},
                         status=422)
    try:
        import_org_chart(services(request).executor, text)
    except ValidationFailed as exc:
        return _show(request, page, errors=exc.field_errors, csv_text=text, status=422)
    return RedirectResponse("/admin/departments?msg=imported", status_code=303)
