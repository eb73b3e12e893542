"""The application factory: routes, then middleware one by one, then error pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import OperationalError, TransactionManagementError

from grants import db, i18n, mail, memory
from grants.i18n import gettext as _
from grants.i18n.labels import N_
from grants.services.errors import ServiceError
from grants.settings import Settings, load_settings
from grants.web import apply, auth, jury, manage, public
from grants.web.admission import Admission
from grants.web.common import TEMPLATE_DIR, build_templates, current_user, render, route_index

log = logging.getLogger(__name__)
STATIC_DIR = TEMPLATE_DIR.parent / "static"

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Refuse a request body over the limit before reading it all (413, explained)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        # Raised from receive(), i.e. inside the handler, so the error page handler catches it.
        async def counting_receive() -> Message:
            nonlocal received
            if too_large:
                raise HTTPException(413)
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413)
            return message

        await self.app(scope, counting_receive, send)


class Locale:
    """Choose the request's language: explicit choice in the session, else Accept-Language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = scope.get("session", {}).get("lang")
        if chosen not in i18n.LANGUAGES:
            header = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
            chosen = i18n.negotiate(header)
        with i18n.speaking(chosen):
            await self.app(scope, receive, send)


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
        "The site is very busy right now. Nothing was changed by this request: please try again in a minute."
    )
    response = render(
        request, "error.html", {"status": 503, "title": title, "detail": None}, status=503
    )
    response.headers["retry-after"] = "30"
    return response


def _http_phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the ASGI app. `manage_database=False` lets tests own the Tortoise life cycle."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = None
        if manage_database:  # a server process (tests own theirs)
            memory.keep_large_buffers()
            await db.open_database(settings)
            sender = asyncio.create_task(mail.sender_loop(settings))
        try:
            yield
        finally:
            if sender:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            if manage_database:
                await db.close_database()

    routes = [
        *public.routes,
        *auth.routes,
        *apply.routes,
        *jury.routes,
        *manage.routes,
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(BodySizeLimit, max_bytes=settings.max_request_mb * 1024 * 1024),
        Middleware(Admission, limit=settings.requests_at_once),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="grants_session",
            same_site="lax",
            https_only=settings.https_only,
            max_age=14 * 24 * 3600,
        ),
        Middleware(Locale),
    ]
    app = Starlette(
        debug=False,
        routes=routes,
        middleware=middleware,
        exception_handlers={
            HTTPException: http_error,
            ServiceError: service_error,
            OperationalError: database_error,  # a busy SQLite raises one or the other
            TransactionManagementError: database_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = build_templates()
    app.state.route_by_name = route_index(app.routes)
    return app
