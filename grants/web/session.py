"""The signed-in person and their session: log-in and log-out, CSRF tokens, the client's address.

Sessions are Starlette's signed cookies. A session carries a mark of the password hash it began
with, so a new password (a reset elsewhere) ends every older session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request

from grants.models import User

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    if not (expected and submitted):
        return False
    return hmac.compare_digest(str(expected).encode(), submitted.encode("utf-8", "replace"))


def password_mark(password_hash: str) -> str:
    """A short digest of the password hash, kept in the session: a new password ends old ones."""
    return hashlib.sha256(b"session:" + password_hash.encode()).hexdigest()[:16]


def log_in(request: Request, user: User) -> None:
    """Start a fresh session (renewal defeats fixation) keeping only the language choice."""
    language = request.session.get("lang")
    request.session.clear()
    request.session["uid"] = user.id
    request.session["pw"] = password_mark(user.password_hash)
    request.session["csrf"] = secrets.token_urlsafe(32)
    if language:
        request.session["lang"] = language
    request.state.user = user


def log_out(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    request.state.user = None


async def current_user(request: Request) -> User | None:
    """The signed-in user, read once per request (None for a visitor or an ended session)."""
    if "user" not in request.state._state:
        uid = request.session.get("uid")
        user = await User.get_or_none(id=uid, erased_at=None) if isinstance(uid, int) else None
        if user is not None and not hmac.compare_digest(
            str(request.session.get("pw", "")), password_mark(user.password_hash)
        ):
            log_out(request)  # the password changed since this session began: log in again
            user = None
        request.state.user = user
    user = request.state.user
    assert user is None or isinstance(user, User)
    return user


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
