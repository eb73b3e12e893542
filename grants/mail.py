"""Mail goes through the outbox: queued in the caller's transaction, sent by `send_due`.

SMTP down means delayed mail, never lost mail and never a failed request. One mail that cannot
be built or sent is marked (its error, a later retry, in the end a failure for good) and the
others still go. Links that carry a secret (`secret_link`) are marked in the stored body and
replaced by `LINK_REMOVED` once the mail is sent or has failed for good.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from grants.models import OutboxEmail
from grants.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SUBJECT_LENGTH = 255  # OutboxEmail.subject

# A secret link is stored between these two control characters, which nobody can type (forms
# drop control characters), so the links are found again reliably, never by guessing at URLs.
LINK_START, LINK_END = "\x02", "\x03"
MARKED_LINK = re.compile(f"{LINK_START}[^{LINK_START}{LINK_END}]*{LINK_END}")
LINK_REMOVED = "[link removed after sending]"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
BODY_CONTROL = re.compile(r"[\x00-\x01\x04-\x08\x0b-\x1f\x7f-\x9f]")


class Links(Protocol):
    """How a service puts a link to a page in a mail: the route's name and its parameters.

    The web layer answers with an absolute URL built from the app's own routes
    (`grants.web.common.links_for`), so a path is written once, where its route is declared.
    A link given a `token` comes back marked as a `secret_link`.
    """

    def __call__(self, name: str, /, **params: object) -> str: ...


def one_line(text: str, *, limit: int | None = None) -> str:
    """Text fit for a header or a name in a mail: control characters and line breaks become
    single spaces (a CR/LF in a header would end it), cut to `limit` characters."""
    text = " ".join(CONTROL.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def secret_link(url: str) -> str:
    """A link that carries a secret (a token), marked for the outbox to remove it once sent."""
    return LINK_START + url.replace(LINK_START, "").replace(LINK_END, "") + LINK_END


def _clean_body(body: str) -> str:
    """Line breaks as \\n; no control characters but tabs, line breaks and the link marks."""
    return BODY_CONTROL.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))


def _sendable(body: str) -> str:
    """The body as the reader gets it: links without their marks."""
    return body.replace(LINK_START, "").replace(LINK_END, "")


def without_links(body: str) -> str:
    """The body as kept after sending: each marked link replaced by LINK_REMOVED."""
    return _sendable(MARKED_LINK.sub(LINK_REMOVED, body))


async def queue_email(*, to: str, subject: str, body: str) -> OutboxEmail:
    """Queue a mail in the caller's transaction. The subject is made one line (it may hold
    what people typed: a group's name) and the body loses control characters."""
    return await OutboxEmail.create(
        to=to, subject=one_line(subject, limit=SUBJECT_LENGTH), body=_clean_body(body)
    )


def build_message(settings: Settings, mail: OutboxEmail) -> EmailMessage:
    """The message for one outbox row; ValueError when it cannot be built (a bad address)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = settings.mail_from
    message["To"] = Address(addr_spec=mail.to)  # one address, strictly parsed
    # Rows queued before subjects were made one line are mended here, not refused.
    message["Subject"] = one_line(mail.subject)
    message.set_content(_sendable(_clean_body(mail.body)))
    return message


CLAIM_LEASE = timedelta(minutes=10)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2**attempts))


@dataclass(frozen=True)
class OutboxRun:
    """What one pass over the due mail did."""

    sent: int = 0
    retrying: int = 0  # failed this time, tried again after a backoff
    given_up: int = 0  # failed on their last attempt: never tried again

    def __add__(self, other: OutboxRun) -> OutboxRun:
        return OutboxRun(
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.given_up + other.given_up,
        )

    @property
    def processed(self) -> int:
        return self.sent + self.retrying + self.given_up


async def _claim(mail: OutboxEmail, now: datetime) -> bool:
    """Claim the mail before sending: with several server processes (or `grants outbox send`
    beside them) each sender sees the same due mail; only the one whose update matches sends
    it. The claim lapses after CLAIM_LEASE if that sender dies mid-send."""
    claimed = await OutboxEmail.filter(id=mail.id, sent_at=None, attempts=mail.attempts).update(
        attempts=mail.attempts + 1, send_after=now + CLAIM_LEASE
    )
    if claimed:
        mail.attempts += 1
    return bool(claimed)


async def _failed(mail: OutboxEmail, error: Exception) -> OutboxRun:
    """Record why the mail was not sent: retried after a backoff, or failed for good (its
    links removed) after MAX_ATTEMPTS."""
    reason = f"{type(error).__name__}: {error}"
    if mail.attempts < MAX_ATTEMPTS:
        mail.last_error = reason[:500]
        mail.send_after = datetime.now(UTC) + _backoff(mail.attempts)
        await mail.save(update_fields=["last_error", "send_after"])
        log.warning(
            "mail %s to %r not sent: %s (attempt %s of %s)",
            mail.id,
            mail.to,
            reason,
            mail.attempts,
            MAX_ATTEMPTS,
        )
        return OutboxRun(retrying=1)
    mail.last_error = f"gave up after {mail.attempts} attempts: {reason}"[:500]
    mail.body = without_links(mail.body)
    await mail.save(update_fields=["last_error", "body"])
    log.error("mail %s to %r failed for good: %s", mail.id, mail.to, reason)
    return OutboxRun(given_up=1)


async def _deliver(settings: Settings, mail: OutboxEmail) -> OutboxRun:
    try:
        message = build_message(settings, mail)
        await aiosmtplib.send(
            message, hostname=settings.smtp_host, port=settings.smtp_port, timeout=10
        )
    except Exception as error:  # whatever went wrong with this mail, the next ones still go
        return await _failed(mail, error)
    mail.sent_at = datetime.now(UTC)
    mail.body = without_links(mail.body)
    await mail.save(update_fields=["sent_at", "body"])
    return OutboxRun(sent=1)


async def send_due(settings: Settings, *, limit: int = 50) -> OutboxRun:
    """Try each due mail once (at most `limit`); failures are retried later."""
    now = datetime.now(UTC)
    due = (
        await OutboxEmail.filter(sent_at=None, send_after__lte=now, attempts__lt=MAX_ATTEMPTS)
        .order_by("id")
        .limit(limit)
    )
    run = OutboxRun()
    for mail in due:
        if await _claim(mail, now):
            run += await _deliver(settings, mail)
    return run


async def send_pending(settings: Settings, *, limit: int = 50) -> int:
    """Send due mail once; returns how many were delivered."""
    return (await send_due(settings, limit=limit)).sent


async def send_all_due(settings: Settings) -> OutboxRun:
    """Pass over the due mail until none is left (`grants outbox send`); a failed mail waits
    for its backoff, so this ends."""
    run = OutboxRun()
    while (batch := await send_due(settings)).processed:
        run += batch
    return run


async def sender_loop(settings: Settings, *, interval: float = 5.0) -> None:
    """Run inside each app process: `send_due` every `interval` seconds."""
    while True:
        try:
            await send_due(settings)
        except Exception:  # the loop must survive a database hiccup
            log.exception("outbox sender failed; retrying")
        await asyncio.sleep(interval)
