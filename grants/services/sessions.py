"""Signed-in sessions, kept on the server so that they can end.

The browser holds a random token; the table holds only its SHA-256 (a copied table signs nobody
in). A session ends at log-out, after a time without requests (shorter for organisers, jurors and
admins), at its absolute lifetime, when its owner's password changes or a role is taken away, and
when its owner signs out everywhere else. An ended session is kept (when, why) and never revived.
`last_seen_at` is written at most once a minute, not at every request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from grants.i18n import gettext as _
from grants.models import EditionRole, PanelMember, User, UserSession
from grants.services import audit
from grants.services.tokens import digest
from grants.settings import Settings

TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)

# Why a session ended (UserSession.ended_reason).
LOGOUT = "logout"
REPLACED = "replaced"  # a new log-in in the same browser
IDLE = "idle"
EXPIRED = "expired"
PASSWORD_RESET = "password_reset"
PASSWORD_CHANGED = "password_changed"
ROLE_REMOVED = "role_removed"
SIGNED_OUT_ELSEWHERE = "signed_out_elsewhere"


@dataclass(frozen=True)
class SessionLine:
    """One open session as its owner sees it on their sessions page."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    current: bool

    @property
    def device(self) -> str:
        """The browser and system in words ("Firefox on Android"), as people know them."""
        return describe_device(self.user_agent)


# Checked in this order: several browsers also name the ones they are built on ("Chrome" is in
# Edge's, Opera's and Samsung Internet's user agents, "Safari" in nearly all of them).
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """A user agent string as "<browser> on <system>", or a plain "Unknown browser"."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in SYSTEMS if mark in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown browser")


async def _is_staff(user: User) -> bool:
    """Whether the user sees other people's data (admin, organiser, juror): a shorter idle time."""
    return (
        user.is_admin
        or await EditionRole.exists(user_id=user.id)
        or await PanelMember.exists(user_id=user.id)
    )


async def start(user: User, *, settings: Settings, user_agent: str = "") -> str:
    """Open a session for `user` and return its token (for the cookie; only its hash is kept)."""
    idle_minutes = (
        settings.session_staff_idle_minutes
        if await _is_staff(user)
        else settings.session_idle_minutes
    )
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    await UserSession.create(
        user=user,
        token_hash=digest(token),
        user_agent=user_agent[:USER_AGENT_LENGTH],
        last_seen_at=now,
        idle_seconds=idle_minutes * 60,
        expires_at=now + timedelta(days=settings.session_days),
    )
    return token


def _timed_out(session: UserSession, now: datetime) -> str:
    """Why this open session is over by now ('' when it is not)."""
    if now >= session.expires_at:
        return EXPIRED
    if now - session.last_seen_at >= timedelta(seconds=session.idle_seconds):
        return IDLE
    return ""


async def _close(session: UserSession, reason: str, *, ip: str = "") -> bool:
    """End one session once (a conditional UPDATE: two requests cannot both end it)."""
    closed = await UserSession.filter(id=session.id, ended_at=None).update(
        ended_at=datetime.now(UTC), ended_reason=reason
    )
    if closed:
        await audit.record(
            "logout" if reason == LOGOUT else "session.ended",
            actor=session.user,
            object_type="session",
            object_id=session.id,
            after={"reason": reason},
            ip=ip,
        )
    return bool(closed)


async def _open_session(token: str) -> UserSession | None:
    if len(token) != TOKEN_LENGTH:
        return None
    return await UserSession.get_or_none(token_hash=digest(token), ended_at=None).select_related(
        "user"
    )


async def resolve(token: str) -> UserSession | None:
    """The open session behind `token`, its user loaded; None for an unknown or ended one.

    A session past its idle or absolute timeout is ended here, with the reason."""
    session = await _open_session(token)
    if session is None or session.user.erased_at is not None:
        return None
    now = datetime.now(UTC)
    reason = _timed_out(session, now)
    if reason:
        await _close(session, reason)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        await UserSession.filter(id=session.id, ended_at=None).update(last_seen_at=now)
        session.last_seen_at = now
    return session


async def end(token: str, *, reason: str = LOGOUT, ip: str = "") -> None:
    """End the session behind `token` (log-out); nothing happens for an unknown or ended one."""
    session = await _open_session(token)
    if session is not None:
        await _close(session, reason, ip=ip)


async def end_all_for_user(
    user: User,
    *,
    reason: str,
    keep_token: str | None = None,
    actor: User | None = None,
    ip: str = "",
) -> int:
    """End every open session of `user` but the one behind `keep_token`; how many ended.

    Called when the password changes or is reset, when a role is taken away (`actor` is then
    who took it), and from "sign out everywhere else"."""
    now = datetime.now(UTC)
    sessions = UserSession.filter(user_id=user.id, ended_at=None)
    if keep_token:
        sessions = sessions.exclude(token_hash=digest(keep_token))
    ended = await sessions.update(ended_at=now, ended_reason=reason)
    if ended:
        await audit.record(
            "sessions.ended",
            actor=actor or user,
            object_type="user",
            object_id=user.id,
            after={"reason": reason, "count": ended},
            ip=ip,
        )
    return ended


async def open_sessions(user: User, *, current_token: str | None) -> list[SessionLine]:
    """The user's sessions still open, the most recently used first, this one marked."""
    now = datetime.now(UTC)
    current = digest(current_token) if current_token else ""
    sessions = await UserSession.filter(user_id=user.id, ended_at=None).order_by(
        "-last_seen_at", "-id"
    )
    return [
        SessionLine(
            id=session.id,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            user_agent=session.user_agent,
            current=session.token_hash == current,
        )
        for session in sessions
        if not _timed_out(session, now)
    ]
