"""Password hashing, session log-in, CSRF tokens and the throttle for log-ins."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

# argon2id with the library's defaults (OWASP-compliant). Never tuned down for speed.
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
CSRF_FIELD = "csrf_token"


async def hash_password(password: str) -> str:
    """argon2id hash, computed in a thread so the event loop keeps serving."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


# A hash to verify against when the account does not exist, so timing does not reveal it.
DUMMY_HASH = _hasher.hash("not a real password, only for constant timing")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we store for single-use tokens: a leaked table gives no usable links."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


def password_mark(password_hash: str) -> str:
    """A short digest of the password hash, kept in the session: a new password ends old sessions."""
    return hashlib.sha256(b"session:" + password_hash.encode()).hexdigest()[:16]


def log_in(request: Request, user_id: int, password_hash: str) -> None:
    """Start a fresh session (renewal defeats fixation) keeping only the language choice."""
    language = request.session.get("lang")
    request.session.clear()
    request.session["uid"] = user_id
    request.session["pw"] = password_mark(password_hash)
    request.session["csrf"] = secrets.token_urlsafe(32)
    if language:
        request.session["lang"] = language


def log_out(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
