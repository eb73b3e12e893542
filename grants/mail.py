"""Mail goes through the outbox: queued in the caller's transaction, sent by `send_pending`.

SMTP down means delayed mail, never lost mail and never a failed request.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from grants.models import OutboxEmail
from grants.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class Links(Protocol):
    """How a service puts a link to a page in a mail: the route's name and its parameters.

    The web layer answers with an absolute URL built from the app's own routes
    (`grants.web.common.links_for`), so a path is written once, where its route is declared.
    """

    def __call__(self, name: str, /, **params: object) -> str: ...


async def queue_email(*, to: str, subject: str, body: str) -> OutboxEmail:
    return await OutboxEmail.create(to=to, subject=subject, body=body)


CLAIM_LEASE = timedelta(minutes=10)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2**attempts))


async def send_pending(settings: Settings, *, limit: int = 50) -> int:
    """Send due mail once; returns how many were delivered. Failures are retried later."""
    now = datetime.now(UTC)
    due = (
        await OutboxEmail.filter(sent_at=None, send_after__lte=now, attempts__lt=MAX_ATTEMPTS)
        .order_by("id")
        .limit(limit)
    )
    delivered = 0
    for mail in due:
        # Claim the mail before sending: with several server processes (or `grants outbox send`
        # beside them) each sender loop sees the same due mail; only the one whose update
        # matches sends it. The claim lapses after CLAIM_LEASE if that sender dies mid-send.
        claimed = await OutboxEmail.filter(id=mail.id, sent_at=None, attempts=mail.attempts).update(
            attempts=mail.attempts + 1, send_after=now + CLAIM_LEASE
        )
        if not claimed:
            continue
        mail.attempts += 1
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        try:
            await aiosmtplib.send(
                message, hostname=settings.smtp_host, port=settings.smtp_port, timeout=10
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            mail.last_error = str(exc)[:500]
            mail.send_after = now + _backoff(mail.attempts)
            await mail.save(update_fields=["last_error", "send_after"])
            log.warning("mail %s to %s not sent: %s", mail.id, mail.to, exc)
            continue
        mail.sent_at = datetime.now(UTC)
        await mail.save(update_fields=["sent_at"])
        delivered += 1
    return delivered


async def sender_loop(settings: Settings, *, interval: float = 5.0) -> None:
    """Run inside the app process (or `grants outbox send --loop`)."""
    while True:
        try:
            await send_pending(settings)
        except Exception:  # the loop must survive a database hiccup
            log.exception("outbox sender failed; retrying")
        await asyncio.sleep(interval)
