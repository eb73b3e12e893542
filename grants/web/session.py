"""The signed-in person and their session: log-in and log-out, CSRF tokens, the client's address.

Who is signed in comes from the server's session table (services/sessions.py): the signed
cookie carries only that session's random token ("sid"), next to what a visitor needs too (the
language, the CSRF token, a flash message). A copied cookie stops working when its session ends.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from grants.models import User
from grants.services import sessions

CSRF_FIELD = "csrf_token"
SESSION_KEY = "sid"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """Whether `submitted` is this session's CSRF token. Compared as bytes: any text a client
    sends (non-ASCII, lone surrogates, NUL) is only a wrong token, never an error."""
    expected = request.session.get("csrf")
    if not (isinstance(expected, str) and expected and submitted):
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "replace"), submitted.encode("utf-8", "replace")
    )


def session_token(request: Request) -> str | None:
    """The token of the browser's server-side session (None for a visitor)."""
    token = request.session.get(SESSION_KEY)
    return token if isinstance(token, str) else None


def _fresh(request: Request) -> None:
    """Empty the cookie's session but for the language choice."""
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


async def log_in(request: Request, user: User) -> None:
    """Start a new server-side session and a fresh cookie (renewal defeats fixation), keeping
    only the language choice; a session this browser had before ends."""
    previous = session_token(request)
    if previous:
        await sessions.end(previous, reason=sessions.REPLACED, ip=client_ip(request))
    _fresh(request)
    request.session[SESSION_KEY] = await sessions.start(
        user,
        settings=request.app.state.settings,
        user_agent=request.headers.get("user-agent", ""),
    )
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.state.user = user


async def log_out(request: Request) -> None:
    """End this browser's session on the server (a copy of the cookie stops working too)."""
    token = session_token(request)
    if token:
        await sessions.end(token, reason=sessions.LOGOUT, ip=client_ip(request))
    _fresh(request)
    request.state.user = None


async def current_user(request: Request) -> User | None:
    """The signed-in user, read once per request (None for a visitor or an ended session)."""
    if "user" not in request.state._state:
        token = session_token(request)
        session = await sessions.resolve(token) if token else None
        if token and session is None:
            _fresh(request)  # ended (log-out elsewhere, timeout, new password): a visitor now
        request.state.user = session.user if session else None
    user = request.state.user
    assert user is None or isinstance(user, User)
    return user


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
