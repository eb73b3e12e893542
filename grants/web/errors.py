"""The one error page: every refusal and failure becomes a page in the user's language."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from tortoise.exceptions import OperationalError, TransactionManagementError, ValidationError

from grants.i18n import gettext as _
from grants.i18n.labels import N_
from grants.services.errors import ServiceError
from grants.web.common import render
from grants.web.middleware import secure
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
    """A refusal no handler turned into its form again: the message, and each field's."""
    assert isinstance(exc, ServiceError)
    detail = " ".join([exc.message, *exc.errors.values()])
    return await error_page(request, exc.status_code, detail)


async def invalid_value(request: Request, exc: Exception) -> Response:
    """A value the models refused (longer than its column, out of its range): the user's input,
    so a 400 in their language; the check belongs in the service, so it is logged."""
    log.warning("value refused by the models on %s %s: %s", request.method, request.url.path, exc)
    return await error_page(
        request,
        400,
        _("A value you sent is too long or not valid. Go back, correct it and try again."),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. Also Starlette's last resort for an error outside the app's middleware,
    so it sets the security headers itself; no database call: the error may come from it."""
    # grants/logs.py cuts the message and each traceback line: it may quote a megabyte of input.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    title = _("Something went wrong on our side. Your data is safe; please try again.")
    response = render(
        request, "error.html", {"status": 500, "title": title, "detail": None}, status=500
    )
    return secure(response, request.url.path)


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
    ValidationError: invalid_value,
    Exception: server_error,  # outside every middleware; ServerErrors renders it inside them
}
