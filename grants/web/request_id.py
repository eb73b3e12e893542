"""Every request gets an id: the one a proxy in front sent (X-Request-ID, if it looks like an
id), else a new one. It is put in the log context (grants.logs.request_id), so every record
logged while the request is served carries it, returned in the response's X-Request-ID header,
and written on the access line (grants.access) with the method, path, status and duration.

The access line leaves out the query string, and a path's token (a password-reset, verification
or invitation link) shows as `{token}`: links that grant access do not belong in logs.

The context variable is set and not reset: each request runs in a task of its own under the
server, so the id stays on records logged after this middleware returns (the 500 handler's,
which runs outside it) and goes no further.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grants import logs

HEADER = b"x-request-id"
# What a proxy's id looks like (uuid, nginx's $request_id, hex, base64url); anything else is
# replaced, so a header cannot forge log lines or carry a payload into them.
SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{8,64}")
PATH_CHARS = 500

log = logging.getLogger(logs.ACCESS_LOGGER)


def incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if SANE_ID.fullmatch(value) else None
    return None


def logged_path(scope: Scope) -> str:
    """The path as written in logs: tokens hidden, cut to a sane length."""
    path: str = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, "{" + name + "}")
    return logs.cut(path, PATH_CHARS)


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope) or uuid.uuid4().hex
        logs.request_id.set(rid)
        status = 500  # if the app raises before answering, the server's 500 is what is sent
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            path = logged_path(scope)
            log.info(
                "%s %s %d %.1f ms",
                scope["method"],
                path,
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
