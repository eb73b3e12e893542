"""Sign-up, log-in with throttling, email verification and password reset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.mail import Links, one_line, queue_email
from grants.models import AuditEvent, LoginAttempt, Token, User
from grants.passwords import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from grants.services import audit, sessions, tokens
from grants.services.errors import InvalidInput, ServiceError, refuse_invalid
from grants.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254  # RFC 5321's longest address


def normalise_email(email: str) -> str:
    """Lower-cased and bounded: a longer address is never an account (and never a query error)."""
    return email.strip().lower()[:MAX_EMAIL]


def valid_email(email: str) -> bool:
    """Whether the typed address looks deliverable (one @, a dot after it, not too long)."""
    address = email.strip()
    return len(address) <= MAX_EMAIL and bool(EMAIL_RE.match(address))


def check_password(password: str, errors: dict[str, str], field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors[field] = _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)


async def sign_up(
    *, links: Links, email: str, display_name: str, password: str, locale: str, ip: str = ""
) -> User:
    errors: dict[str, str] = {}
    if not valid_email(email):
        errors["email"] = _("Enter an email address like name@example.org.")
    if not display_name.strip():
        errors["display_name"] = _("Enter the name you want to be called (a first name is enough).")
    check_password(password, errors)
    refuse_invalid(errors)
    password_hash = await hash_password(password)
    try:
        async with in_transaction():
            user = await User.create(
                email=normalise_email(email),
                display_name=display_name.strip()[:120],
                password_hash=password_hash,
                locale=locale,
            )
            await _send_verification(links, user)
            await audit.record(
                "account.signup", actor=user, object_type="user", object_id=user.id, ip=ip
            )
    except IntegrityError:
        raise InvalidInput(
            {"email": _("An account with this email already exists. Log in instead.")}
        ) from None
    return user


async def _send_verification(links: Links, user: User) -> None:
    token = await tokens.issue("verify", user=user)
    body = _(
        "Hello %(name)s,\n\nplease confirm your email address by opening this link:\n%(link)s",
        name=one_line(user.display_name),
        link=links("verify", token=token),
    )
    await queue_email(
        to=user.email,
        subject=_("Confirm your email address"),
        body=body + "\n\n" + tokens.lifetime_note("verify"),
    )


async def _send_reset(links: Links, user: User) -> None:
    token = await tokens.issue("reset", user=user)
    body = _(
        "Hello %(name)s,\n\nto choose a new password, open this link:\n%(link)s",
        name=one_line(user.display_name),
        link=links("reset_password", token=token),
    )
    ignore = _("If you did not ask for this, ignore this message.")
    await queue_email(
        to=user.email,
        subject=_("Reset your password"),
        body=f"{body}\n\n{tokens.lifetime_note('reset')} {ignore}",
    )


async def _use_token(token: str, purpose: str) -> Token:
    record = await tokens.lookup(token, purpose)
    if record is None or not tokens.is_open(record) or not await tokens.consume(record):
        raise ServiceError(_("This link is invalid or has expired. Ask for a new one."))
    return record


async def verify_email(token: str) -> User:
    async with in_transaction():
        record = await _use_token(token, "verify")
        user = await User.get(id=record.user_id)
        user.email_verified_at = datetime.now(UTC)
        await user.save(update_fields=["email_verified_at"])
        await audit.record("account.verified", actor=user, object_type="user", object_id=user.id)
    return user


async def _throttled(settings: Settings, account_key: str, ip_key: str) -> bool:
    since = datetime.now(UTC) - timedelta(seconds=settings.login_window_seconds)
    failures = LoginAttempt.filter(at__gte=since)
    return (
        await failures.filter(key=account_key).count() >= settings.login_attempts_per_account
        or await failures.filter(key=ip_key).count() >= settings.login_attempts_per_ip
    )


async def authenticate(*, settings: Settings, email: str, password: str, ip: str) -> User:
    """The user with these credentials, or a ServiceError; throttled per account and per IP.

    A password hashed with older argon2id parameters is hashed again with today's."""
    email = normalise_email(email)
    account_key, ip_key = f"account:{email}", f"ip:{ip}"
    if await _throttled(settings, account_key, ip_key):
        await audit.record(
            "login.throttled", actor=None, object_type="email", object_id=email, ip=ip
        )
        raise ServiceError(
            _(
                "Too many failed attempts. Wait %(m)s minutes or reset your password.",
                m=settings.login_window_seconds // 60,
            )
        )
    user = await User.get_or_none(email=email, erased_at=None)
    ok = await verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok:
        await LoginAttempt.bulk_create([LoginAttempt(key=account_key), LoginAttempt(key=ip_key)])
        await audit.record("login.failed", actor=None, object_type="email", object_id=email, ip=ip)
        raise ServiceError(_("The email or the password is wrong."))
    user.last_login_at = datetime.now(UTC)
    changed = ["last_login_at"]
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        changed.append("password_hash")
    await user.save(update_fields=changed)
    await LoginAttempt.filter(key=account_key).delete()
    await audit.record("login", actor=user, object_type="user", object_id=user.id, ip=ip)
    return user


# Reset mails: at most RESETS_PER_ACCOUNT to one account and RESETS_PER_IP requests from one
# IP address per RESET_WINDOW; past that, nothing is sent (and the page says the same).
RESET_WINDOW_MINUTES = 60
RESET_WINDOW = timedelta(minutes=RESET_WINDOW_MINUTES)
RESETS_PER_ACCOUNT = 3
RESETS_PER_IP = 10
RESET_ASKED = "account.reset_requested"


async def _reset_limited(user: User | None, ip: str, since: datetime) -> bool:
    asked_here = AuditEvent.filter(action=RESET_ASKED, ip=ip, at__gte=since)
    if ip and await asked_here.count() >= RESETS_PER_IP:
        return True
    if user is None:
        return False
    return await tokens.issued_since(user, "reset", since) >= RESETS_PER_ACCOUNT


async def request_password_reset(*, links: Links, email: str, ip: str = "") -> None:
    """Mail a reset link unless the account or the IP address asked too often. Answers the same
    way whether the address has an account or not, and whether a mail was sent or not, so
    nobody can probe which addresses have accounts. Each request is an audit event."""
    email = normalise_email(email)
    async with in_transaction():
        user = await User.get_or_none(email=email, erased_at=None)
        limited = await _reset_limited(user, ip, datetime.now(UTC) - RESET_WINDOW)
        if user is not None and not limited:
            await _send_reset(links, user)  # voids the older reset links (tokens.NEWEST_ONLY)
        await audit.record(
            RESET_ASKED,
            actor=None,
            object_type="user" if user else "",
            object_id=user.id if user else "",
            after={"email": email, "account": user is not None, "limited": limited},
            ip=ip,
        )


async def reset_password(*, token: str, password: str, ip: str = "") -> User:
    """A new password through a reset link. The link came to the account's address, so that
    address is confirmed; every other verification or reset link of the account is void."""
    errors: dict[str, str] = {}
    check_password(password, errors)
    refuse_invalid(errors)
    password_hash = await hash_password(password)
    async with in_transaction():
        record = await _use_token(token, "reset")
        user = await User.get(id=record.user_id)
        user.password_hash = password_hash
        changed = ["password_hash"]
        if user.email_verified_at is None:
            user.email_verified_at = datetime.now(UTC)
            changed.append("email_verified_at")
        await user.save(update_fields=changed)
        voided = await tokens.void(user, "verify", "reset")
        # The throttle message tells a locked-out owner to reset: that must let them in.
        await LoginAttempt.filter(key=f"account:{user.email}").delete()
        await audit.record(
            "account.password_reset",
            actor=user,
            object_type="user",
            object_id=user.id,
            after={"links_voided": voided},
            ip=ip,
        )
        await sessions.end_all_for_user(user, reason=sessions.PASSWORD_RESET, ip=ip)
    return user


async def change_password(
    user: User, *, current_password: str, new_password: str, keep_token: str | None, ip: str = ""
) -> None:
    """A signed-in person's new password; every other session of theirs ends (`keep_token`'s
    goes on). The current password is asked so that an unattended browser cannot take over."""
    errors: dict[str, str] = {}
    if not await verify_password(user.password_hash, current_password):
        errors["current_password"] = _("This is not your current password.")
    check_password(new_password, errors, "new_password")
    refuse_invalid(errors)
    password_hash = await hash_password(new_password)
    async with in_transaction():
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"])
        await audit.record(
            "account.password_changed", actor=user, object_type="user", object_id=user.id, ip=ip
        )
        await sessions.end_all_for_user(
            user, reason=sessions.PASSWORD_CHANGED, keep_token=keep_token, ip=ip
        )


async def create_user(
    *, email: str, display_name: str, password: str, is_admin: bool = False, locale: str = "en"
) -> User:
    """For the CLI and the demo: an already verified account."""
    return await User.create(
        email=normalise_email(email),
        display_name=display_name,
        is_admin=is_admin,
        password_hash=await hash_password(password),
        email_verified_at=datetime.now(UTC),
        locale=locale,
    )
