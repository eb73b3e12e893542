"""The application factory: routes, then middleware one by one, then error pages.

Nothing is built at import time; `create_app(settings)` assembles a new app each call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from grants import db, logs, mail
from grants.settings import Settings, load_settings
from grants.web import (
    apply,
    auth,
    exports,
    health,
    insight,
    jury,
    manage,
    outcomes,
    privacy,
    public,
)
from grants.web.common import TEMPLATE_DIR, build_templates, route_index
from grants.web.errors import EXCEPTION_HANDLERS, server_error
from grants.web.middleware import BodySizeLimit, Locale, SecurityHeaders, ServerErrors
from grants.web.request_id import RequestId

STATIC_DIR = TEMPLATE_DIR.parent / "static"


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the ASGI app. `manage_database=False` lets tests own the Tortoise life cycle."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = None
        if manage_database:  # a server process (tests own theirs)
            logs.configure(settings)  # after uvicorn's own set-up, which this adjusts
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
        *exports.routes,
        *insight.routes,
        *outcomes.routes,
        *health.routes,
        *privacy.routes,
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
    middleware = [
        Middleware(RequestId),  # outermost: its access line sees the final status
        Middleware(SecurityHeaders),
        Middleware(BodySizeLimit, max_bytes=settings.max_request_mb * 1024 * 1024),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="grants_session",
            same_site="lax",
            https_only=settings.https_only,
            max_age=settings.session_days * 24 * 3600,  # the sessions table ends it sooner
        ),
        Middleware(Locale),
        Middleware(ServerErrors, handler=server_error),
    ]
    app = Starlette(
        debug=False,
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = build_templates()
    app.state.route_by_name = route_index(app.routes)
    return app
