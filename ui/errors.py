"""Every failure of a page ends in a page: sign-in redirect, 403, 404, 409 or a plain 'try again'.

`PageRoute` wraps each route of the pages, so the REST API's JSON error
handlers never answer a browser and no traceback ever reaches one.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.records.errors import Forbidden, NotFound, StaleVersion, WorkflowError
from ui.auth import CsrfFailed, LoginRequired, is_htmx, login_url, translator_for
from ui.i18n import N_, translate_message
from ui.templating import render

log = logging.getLogger("relayflow.ui")


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    _ = translator_for(request)
    return render("error.html", {"_": _, "locale": _.locale, "status": status, "title": _(title),
                                 "message": translate_message(_, message), "actor": None, "csrf": "",
                                 "nav_flows": [], "path": request.url.path, "is_htmx": is_htmx(request)},
                  status_code=status)


def page_for(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        target = login_url(request)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if isinstance(exc, CsrfFailed):
        return error_page(request, 403, N_("The form has expired"),
                          N_("The security token of this form is missing or out of date. Go back, reload the page and try again."))
    if isinstance(exc, NotFound):
        return error_page(request, 404, N_("Not found"), N_("There is nothing here, or you may not see it."))
    if isinstance(exc, Forbidden):
        return error_page(request, 403, N_("Not allowed"), exc.message)
    if isinstance(exc, StaleVersion):
        return error_page(request, 409, N_("Changed by someone else"), exc.message)
    if isinstance(exc, WorkflowError):
        return error_page(request, 409, N_("Not possible"), exc.message)
    if isinstance(exc, RequestValidationError):
        return error_page(request, 404, N_("Not found"), N_("This address is not valid."))
    if isinstance(exc, HTTPException):
        return error_page(request, exc.status_code, N_("Error"), str(exc.detail))
    log.exception("page %s failed", request.url.path, exc_info=exc)
    return error_page(request, 500, N_("Something went wrong"), N_("The page could not be shown. Please try again."))


class PageRoute(APIRoute):
    """An APIRoute whose failures become HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - a page never shows a traceback
                return page_for(request, exc)

        return run
