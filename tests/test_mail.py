"""Mail goes through the outbox: SMTP down means delayed mail, never lost mail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from grants.mail import queue_email, send_pending
from grants.models import OutboxEmail


async def test_mail_waits_in_the_outbox_while_smtp_is_down_then_arrives(
    settings, smtp, unused_port
):
    mail = await queue_email(
        to="alice@example.org", subject="Receipt EPP-2027-0001", body="Received."
    )

    down = settings.with_(smtp_port=unused_port)  # nothing listens there
    assert await send_pending(down) == 0
    await mail.refresh_from_db()
    assert mail.sent_at is None and mail.attempts == 1 and mail.last_error
    assert mail.send_after > datetime.now(UTC)  # backed off, not retried in a tight loop
    assert await send_pending(settings) == 0  # not due yet, even with SMTP back

    await OutboxEmail.filter(id=mail.id).update(send_after=datetime.now(UTC))
    assert await send_pending(settings) == 1
    await mail.refresh_from_db()
    assert mail.sent_at is not None
    [received] = smtp.to("alice@example.org")
    assert received["Subject"] == "Receipt EPP-2027-0001"
    assert await send_pending(settings) == 0  # sent once, never twice


async def test_two_senders_at_once_deliver_each_mail_once(settings, smtp):
    """Several server processes each run a sender loop; a mail is claimed before it is sent."""
    for number in range(5):
        await queue_email(
            to=f"member{number}@example.org", subject=f"Invitation {number}", body="Join us."
        )

    first, second = await asyncio.gather(send_pending(settings), send_pending(settings))

    assert first + second == 5
    for number in range(5):
        assert len(smtp.to(f"member{number}@example.org")) == 1
    assert await OutboxEmail.filter(sent_at=None).count() == 0
