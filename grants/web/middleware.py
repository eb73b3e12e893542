"""The app's own middleware: security and caching headers, the request size limit, the request's
language, and the page for an error no handler took."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grants import i18n

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


# Every dynamic page may carry someone's data (a receipt, a minor's details, a file, a form
# with its CSRF token), so no browser or proxy keeps a copy; only the static files are cacheable.
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE_PREFIX = "/static/"


def with_security_headers(
    headers: list[tuple[bytes, bytes]], path: str
) -> list[tuple[bytes, bytes]]:
    """`headers` plus each security header it lacks, and `Cache-Control: no-store` unless the
    response chose its own caching or serves a static file."""
    present = {name.lower() for name, _value in headers}
    added = [header for header in SECURITY_HEADERS if header[0] not in present]
    if b"cache-control" not in present and not path.startswith(CACHEABLE_PREFIX):
        added.append(NO_STORE)
    return headers + added


def secure(response: Response, path: str) -> Response:
    """The response with the headers SecurityHeaders adds: for a response sent from outside it
    (Starlette's last-resort 500 handler runs outside every middleware of the app)."""
    response.raw_headers = with_security_headers(list(response.raw_headers), path)
    return response


class SecurityHeaders:
    """The security headers and `Cache-Control: no-store` on every response, error pages too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message["headers"] = with_security_headers(headers, scope["path"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServerErrors:
    """The innermost middleware: an exception no handler took becomes `handler`'s page here,
    inside Locale (so in the user's language) and inside SecurityHeaders (so with its headers).
    A response already begun cannot be replaced: then the exception goes on to the server."""

    def __init__(
        self, app: ASGIApp, *, handler: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            if started:
                raise
            response = await self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)


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
