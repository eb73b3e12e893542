"""Sign-up, log-in with throttling, email verification and password reset."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n import ngettext
from grants.mail import Links, one_line, queue_email
from grants.models import LoginAttempt, Token, User
from grants.passwords import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from grants.services import audit, sessions, tokens
from grants.services.errors import ServiceError, refuse_invalid
from grants.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254  # RFC 5321's longest address


def normalise_email(email: str) -> str:
    """Lower-cased and bounded: a longer address is never an account (and never a query error)."""
    return email.strip().lower()[:MAX_EMAIL]


def mask_email(address: str) -> str:
    """An address shown to someone who may not know it: j***@example.org."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def valid_email(email: str) -> bool:
    """Whether the typed address looks deliverable (one @, a dot after it, not too long)."""
    address = email.strip()
    return len(address) <= MAX_EMAIL and bool(EMAIL_RE.match(address))


def check_password(password: str, errors: dict[str, str], field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors[field] = _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)


async def sign_up(
    *, links: Links, email: str, display_name: str, password: str, locale: str, ip: str = ""
) -> User | None:
    """A new account (its verification mail queued), or None when the address has one already:
    then its owner gets a mail instead, and the caller answers as it would for a new account, so
    the form tells nobody which addresses have accounts."""
    errors: dict[str, str] = {}
    if not valid_email(email):
        errors["email"] = _("Enter an email address like name@example.org.")
    if not display_name.strip():
        errors["display_name"] = _("Enter the name you want to be called (a first name is enough).")
    check_password(password, errors)
    refuse_invalid(errors)
    await _refuse_signup_flood(ip)
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
        await _warn_owner(links, normalise_email(email), ip=ip)
        return None
    return user


SIGNUP_WARNING_EVERY = timedelta(hours=1)  # at most one "someone tried" mail per account
# Sign-ups from one IP address per hour, new and taken addresses alike. Whether a sign-up signed
# its author in tells whether the address was free; the limit keeps anyone from probing many
# addresses that way, and leaves room for a whole school class behind one address.
SIGNUPS_PER_IP = 50
SIGNUP_WINDOW = timedelta(hours=1)


async def _refuse_signup_flood(ip: str) -> None:
    if not ip:
        return
    since = datetime.now(UTC) - SIGNUP_WINDOW
    recent = await audit.count_since(["account.signup", "account.signup_existing"], since, ip=ip)
    if recent >= SIGNUPS_PER_IP:
        raise ServiceError(
            _(
                "Too many accounts were created from your network in the last hour. Wait an "
                "hour and try again, or ask your teacher or youth worker for help."
            )
        )


async def _warn_owner(links: Links, email: str, *, ip: str) -> None:
    """Tell the owner of `email` that someone tried to sign up with it (at most once an hour, so
    the form cannot be used to flood their inbox), in the owner's language."""
    owner = await User.get_or_none(email=email, erased_at=None)
    if owner is None:
        return
    since = datetime.now(UTC) - SIGNUP_WARNING_EVERY
    async with in_transaction():
        recent = await audit.count_since("account.signup_existing", since, object_id=str(owner.id))
        await audit.record(
            "account.signup_existing", actor=None, object_type="user", object_id=owner.id, ip=ip
        )
        if recent:
            return
        with i18n.speaking(owner.locale):
            body = _(
                "Hello %(name)s,\n\nsomeone tried to create an account with this email address. "
                "You already have one. If it was you, log in:\n%(login)s\n\nor, if you forgot "
                "your password, choose a new one:\n%(reset)s\n\nIf it was not you, ignore this "
                "message: nothing was changed.",
                name=one_line(owner.display_name),
                login=links("login"),
                reset=links("forgot_password"),
            )
            await queue_email(
                to=owner.email,
                subject=_("Someone tried to sign up with your address"),
                body=body,
            )


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


@dataclass(frozen=True)
class Throttle:
    """Failed log-ins slow a key down instead of locking it: after `free` failures within
    `memory`, an attempt must wait `first_wait` seconds after the latest failure, twice as long
    after each further failure, never more than `max_wait`. Refused attempts are not failures
    (their password is not even checked), so they do not make the wait longer."""

    free: int
    first_wait: int
    max_wait: int
    memory: timedelta

    def wait(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return min(self.first_wait * 2 ** min(failures - self.free, 30), self.max_wait)


def throttles(settings: Settings) -> tuple[Throttle, Throttle]:
    """(per account, per address). An account slows down soon, remembers failures for a day and
    waits at most `login_window_seconds` (a password reset lets its owner in at once); an address
    (a school's network, where one person may be guessing) slows down late and waits at most a
    minute, so a right password always gets in after a short wait. docs/operations.md says why."""
    return (
        Throttle(
            free=settings.login_attempts_per_account,
            first_wait=30,
            max_wait=settings.login_window_seconds,
            memory=timedelta(days=1),
        ),
        Throttle(
            free=settings.login_attempts_per_ip,
            first_wait=1,
            max_wait=60,
            memory=timedelta(hours=1),
        ),
    )


async def seconds_to_wait(settings: Settings, *, account_key: str, ip_key: str) -> int:
    """How long log-ins for this account from this address must still wait (0: go ahead)."""
    now = datetime.now(UTC)
    account, address = throttles(settings)
    longest = 0.0
    for key, throttle in ((account_key, account), (ip_key, address)):
        failures = LoginAttempt.filter(key=key, at__gte=now - throttle.memory)
        wait = throttle.wait(await failures.count())
        latest = await failures.order_by("-at").first() if wait else None
        if latest is not None:
            longest = max(longest, (latest.at + timedelta(seconds=wait) - now).total_seconds())
    return math.ceil(longest)


def wait_message(seconds: int) -> str:
    if seconds < 90:
        return ngettext(
            "Too many failed attempts. Wait %(num)s second and try again, or reset your password.",
            "Too many failed attempts. Wait %(num)s seconds and try again, or reset your password.",
            seconds,
        )
    return ngettext(
        "Too many failed attempts. Wait %(num)s minute and try again, or reset your password.",
        "Too many failed attempts. Wait %(num)s minutes and try again, or reset your password.",
        math.ceil(seconds / 60),
    )


async def authenticate(*, settings: Settings, email: str, password: str, ip: str) -> User:
    """The user with these credentials, or a ServiceError; failures slow the account and the
    address down (`Throttle`), never lock them.

    A password hashed with older argon2id parameters is hashed again with today's."""
    email = normalise_email(email)
    account_key, ip_key = f"account:{email}", f"ip:{ip}"
    wait = await seconds_to_wait(settings, account_key=account_key, ip_key=ip_key)
    if wait > 0:
        await audit.record(
            "login.throttled", actor=None, object_type="email", object_id=email, ip=ip
        )
        raise ServiceError(wait_message(wait))
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
    if ip and await audit.count_since(RESET_ASKED, since, ip=ip) >= RESETS_PER_IP:
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
