"""Mail goes through the outbox: SMTP down means delayed mail, never lost mail."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime

from grants.mail import MAX_ATTEMPTS, queue_email, secret_link, send_pending
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


async def test_a_subject_with_line_breaks_goes_out_on_one_line_and_injects_no_header(
    settings, smtp
):
    """A group name with CR/LF once put a newline in a subject and stopped the whole outbox."""
    await queue_email(
        to="bruno@example.org",
        subject="Alice invites you to join Lisbon\r\nBcc: eve@example.org\x1b[31m",
        body="Hello Bruno,\r\n\r\njoin us.\x07",
    )
    await queue_email(to="carol@example.org", subject="x" * 400, body="A long subject.")

    assert await send_pending(settings) == 2
    [mail] = smtp.to("bruno@example.org")
    assert mail["Subject"] == "Alice invites you to join Lisbon Bcc: eve@example.org [31m"
    assert mail["Bcc"] is None and smtp.to("eve@example.org") == []
    assert mail.get_payload(decode=True).decode().splitlines() == ["Hello Bruno,", "", "join us."]
    assert len(smtp.to("carol@example.org")) == 1
    stored = await OutboxEmail.get(to="carol@example.org")
    assert stored.subject == "x" * 254 + "…"  # fits its column (PostgreSQL refused more)


async def run_outbox_command(settings) -> subprocess.CompletedProcess[str]:
    """`grants outbox send` as a scheduler runs it: another process, the same database."""
    environ = {
        **os.environ,
        "GRANTS_DATA_DIR": str(settings.data_dir),
        "GRANTS_DATABASE_URL": settings.database_url,
        "GRANTS_SECRET_KEY": settings.secret_key,
        "GRANTS_SMTP_PORT": str(settings.smtp_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from grants.cli import main; sys.exit(main(sys.argv[1:]))",
        "outbox",
        "send",
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return subprocess.CompletedProcess(
        "grants outbox send", process.returncode or 0, stdout.decode(), stderr.decode()
    )


async def test_a_mail_that_cannot_be_sent_is_marked_and_the_next_ones_still_go(settings, smtp):
    first = await queue_email(to="alice@example.org", subject="First", body="One.")
    bad = await queue_email(
        to="mallory@example.org\r\nBcc: eve@example.org",
        subject="Bad",
        body=f"Two: {secret_link('http://127.0.0.1:8000/verify/s3cret-token')}",
    )
    last = await queue_email(to="bruno@example.org", subject="Last", body="Three.")

    run = await run_outbox_command(settings)

    assert run.returncode == 0, run.stderr
    assert "Sent 2 message(s); 1 failed and will be retried." in run.stdout
    assert [m["Subject"] for m in smtp.messages] == ["First", "Last"]
    assert smtp.to("eve@example.org") == []
    for good in (first, last):
        await good.refresh_from_db()
        assert good.sent_at is not None
    await bad.refresh_from_db()
    assert bad.sent_at is None and bad.attempts == 1 and "CR or LF" in bad.last_error
    assert "s3cret-token" in bad.body  # kept while it may still be sent
    assert bad.send_after > datetime.now(UTC)  # backed off like any failed delivery

    # Its last attempt fails too: it fails for good and is never tried again.
    await OutboxEmail.filter(id=bad.id).update(
        attempts=MAX_ATTEMPTS - 1, send_after=datetime.now(UTC)
    )
    run = await run_outbox_command(settings)
    assert run.returncode == 0, run.stderr
    assert "Sent 0 message(s); 1 failed for good after 8 attempts." in run.stdout
    await bad.refresh_from_db()
    assert bad.attempts == MAX_ATTEMPTS and bad.sent_at is None
    assert bad.last_error.startswith("gave up after 8 attempts: ")
    assert bad.body == "Two: [link removed after sending]"  # failed for good: its link goes too
    assert await send_pending(settings) == 0
