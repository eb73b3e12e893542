"""`/healthz`: is this process able to serve? For a load balancer or a monitor.

200 `{"status": "ok"}` when the database answers a trivial query within a few seconds, else 503
with the reason (the kind of failure only; the details go to the log). Never cached, and it
sets no session cookie: a monitor polling it every few seconds must not make sessions.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from grants import db

TIMEOUT_SECONDS = 3.0
HEADERS = {"Cache-Control": "no-store"}

log = logging.getLogger(__name__)


async def database_problem() -> str | None:
    """Why the database cannot answer, or None."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await db.ping()
    except TimeoutError:
        log.warning("health check: the database did not answer within %s s", TIMEOUT_SECONDS)
        return f"database: no answer within {TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # any failure at all means: not healthy
        log.warning("health check: the database failed: %r", exc)
        return f"database: {type(exc).__name__}"
    return None


async def healthz(request: Request) -> JSONResponse:
    problem = await database_problem()
    if problem:
        return JSONResponse({"status": "unavailable", "reason": problem}, 503, HEADERS)
    return JSONResponse({"status": "ok"}, headers=HEADERS)


routes = [Route("/healthz", healthz, name="healthz")]
