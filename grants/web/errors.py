"""The one error page: every refusal and failure becomes a page in the user's language."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from tortoise.exceptions import OperationalError, TransactionManagementError

from grants.i18n import gettext as _
from grants.i18n.labels import N_
from grants.services.errors import ServiceError
from grants.web.common import render
from grants.web.session import current_user

log = logging.getLogger(__name__)

ERROR_TITLES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("This page does not exist."),
    405: N_("This action is not allowed here."),
    413: N_("The upload is too large."),
}


async def error_page(request: Request, status: int, detail: str | None) -> Response:
    """The one error page: a translated title for the status, and what went wrong if known."""
    await current_user(request)
    title = _(ERROR_TITLES.get(status, N_("Something went wrong.")))
    return render(
        request, "error.html", {"status": status, "title": title, "detail": detail}, status=status
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.detail != _http_phrase(exc.status_code) else None
    return await error_page(request, exc.status_code, detail)


async def service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return await error_page(request, exc.status_code, exc.message)


async def server_error(request: Request, exc: Exception) -> Response:
    # No database call here: the error may have come from the database itself.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    title = _("Something went wrong on our side. Your data is safe; please try again.")
    return render(
        request, "error.html", {"status": 500, "title": title, "detail": None}, status=500
    )


async def database_error(request: Request, exc: Exception) -> Response:
    """SQLite's write lock held past the busy timeout by other writers: the request changed nothing
    (its transaction never began, or rolled back), so say so and ask for a retry, as 503."""
    if "database is locked" not in str(exc):
        return await server_error(request, exc)
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    title = _(
        "The site is very busy right now. Nothing was changed by this request: "
        "please try again in a minute."
    )
    response = render(
        request, "error.html", {"status": 503, "title": title, "detail": None}, status=503
    )
    response.headers["retry-after"] = "30"
    return response


def _http_phrase(status: int) -> str:
    return HTTPStatus(status).phrase


EXCEPTION_HANDLERS = {
    HTTPException: http_error,
    ServiceError: service_error,
    OperationalError: database_error,  # a busy SQLite raises one or the other
    TransactionManagementError: database_error,
    Exception: server_error,
}
