"""Sign-up, log-in with throttling, email verification and password reset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.mail import queue_email
from grants.models import LoginAttempt, Token, User
from grants.security import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from grants.services import audit, tokens
from grants.services.errors import ServiceError
from grants.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VERIFY_TTL = timedelta(days=3)
RESET_TTL = timedelta(hours=2)


def normalise_email(email: str) -> str:
    """Lower-cased and bounded: a longer address is never an account (and never a query error)."""
    return email.strip().lower()[:254]


def check_password(password: str, errors: dict[str, str], field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors[field] = _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)


async def sign_up(
    *, settings: Settings, email: str, display_name: str, password: str, locale: str, ip: str = ""
) -> User:
    too_long = len(email.strip()) > 254
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if too_long or not EMAIL_RE.match(email):
        errors["email"] = _("Enter an email address like name@example.org.")
    if not display_name.strip():
        errors["display_name"] = _("Enter the name you want to be called (a first name is enough).")
    check_password(password, errors)
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    password_hash = await hash_password(password)
    try:
        async with in_transaction():
            user = await User.create(
                email=email,
                display_name=display_name.strip()[:120],
                password_hash=password_hash,
                locale=locale,
            )
            await _send_token_mail(settings, user, purpose="verify")
            await audit.record(
                "account.signup", actor=user, object_type="user", object_id=user.id, ip=ip
            )
    except IntegrityError:
        raise ServiceError(
            _("Please correct the marked fields."),
            errors={"email": _("An account with this email already exists. Log in instead.")},
        ) from None
    return user


async def _send_token_mail(settings: Settings, user: User, *, purpose: str) -> str:
    token = await tokens.issue(
        purpose, ttl=VERIFY_TTL if purpose == "verify" else RESET_TTL, user=user
    )
    if purpose == "verify":
        link = f"{settings.base_url}/verify/{token}"
        subject = _("Confirm your email address")
        body = _(
            "Hello %(name)s,\n\nplease confirm your email address by opening this link:\n%(link)s\n\nThe link is valid for 3 days.",
            name=user.display_name,
            link=link,
        )
    else:
        link = f"{settings.base_url}/password/reset/{token}"
        subject = _("Reset your password")
        body = _(
            "Hello %(name)s,\n\nto choose a new password, open this link:\n%(link)s\n\nThe link is valid for 2 hours. If you did not ask for this, ignore this message.",
            name=user.display_name,
            link=link,
        )
    await queue_email(to=user.email, subject=subject, body=body)
    return token


async def _use_token(token: str, purpose: str) -> Token:
    record = await tokens.lookup(token, purpose)
    if not tokens.is_open(record) or not await tokens.consume(record):  # type: ignore[arg-type]
        raise ServiceError(_("This link is invalid or has expired. Ask for a new one."))
    assert record is not None
    return record


async def verify_email(token: str) -> User:
    async with in_transaction():
        record = await _use_token(token, "verify")
        user = await User.get(id=record.user_id)  # type: ignore[attr-defined]
        user.email_verified_at = datetime.now(UTC)
        await user.save(update_fields=["email_verified_at"])
        await audit.record("account.verified", actor=user, object_type="user", object_id=user.id)
    return user


async def authenticate(*, settings: Settings, email: str, password: str, ip: str) -> User:
    """The user with these credentials, or a ServiceError; throttled per account and per IP."""
    email = normalise_email(email)
    since = datetime.now(UTC) - timedelta(seconds=settings.login_window_seconds)
    account_key, ip_key = f"account:{email}", f"ip:{ip}"
    if (
        await LoginAttempt.filter(key=account_key, at__gte=since).count()
        >= settings.login_attempts_per_account
        or await LoginAttempt.filter(key=ip_key, at__gte=since).count()
        >= settings.login_attempts_per_ip
    ):
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
    await user.save(update_fields=["last_login_at"])
    await LoginAttempt.filter(key=account_key).delete()
    await audit.record("login", actor=user, object_type="user", object_id=user.id, ip=ip)
    return user


async def request_password_reset(*, settings: Settings, email: str) -> None:
    """Always succeeds from the outside, so nobody can probe which emails have accounts."""
    user = await User.get_or_none(email=normalise_email(email), erased_at=None)
    if user is not None:
        async with in_transaction():
            await _send_token_mail(settings, user, purpose="reset")


async def reset_password(*, token: str, password: str) -> User:
    errors: dict[str, str] = {}
    check_password(password, errors)
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    password_hash = await hash_password(password)
    async with in_transaction():
        record = await _use_token(token, "reset")
        user = await User.get(id=record.user_id)  # type: ignore[attr-defined]
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"])
        # The throttle message tells a locked-out owner to reset: that must let them in.
        await LoginAttempt.filter(key=f"account:{user.email}").delete()
        await audit.record(
            "account.password_reset", actor=user, object_type="user", object_id=user.id
        )
    return user


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
