"""The outbox seen from the site: what people type cannot stop it, and an SMTP outage delays
mail without failing a request (delivered through real SMTP servers)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller

from grants.app import create_app
from grants.mail import LINK_REMOVED, send_pending, sender_loop
from grants.models import OutboxEmail, User

PASSWORD = "a long enough password"


def link_in(mail, base_url: str) -> str:
    body = mail.get_payload(decode=True).decode()
    return re.search(re.escape(base_url) + r"(/\S+)", body).group(1)


async def sign_up(browser, email: str = "alice@example.org") -> None:
    await browser.page("/signup")
    response = await browser.submit(
        "/signup", {"email": email, "display_name": "Alice", "password": PASSWORD}
    )
    assert response.status_code == 303, response.text[:2000]


async def eventually(check, *, seconds: float = 10.0) -> None:
    """Wait until the async `check` is true (the sender loop works in the background)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


async def test_a_group_name_with_a_line_break_does_not_stop_the_outbox(settings, browser, smtp):
    await sign_up(browser)
    await browser.page("/groups/new")
    response = await browser.submit(
        "/groups/new",
        {
            "name": "Lisbon\r\nBcc: eve@example.org",
            "kind": "youth_organisation",
            "country": "pt",
            "organisation": "Escola",
            "lead_first_name": "Alice",
            "lead_age_band": "18_21",
        },
    )
    assert response.status_code == 303, response.text[:2000]
    group_url = response.headers["location"]
    for name in ("Bruno", "Carla"):
        response = await browser.submit(
            group_url,
            {
                "action": "add",
                "first_name": name,
                "age_band": "18_21",
                "invite_email": f"{name.lower()}@example.org",
            },
        )
        assert response.status_code == 303, response.text[:2000]

    assert await send_pending(settings) == 3  # the verification mail and both invitations
    for address in ("bruno@example.org", "carla@example.org"):
        [mail] = smtp.to(address)
        assert mail["Subject"] == "Alice invites you to join Lisbon Bcc: eve@example.org"
        assert mail["Bcc"] is None
        assert link_in(mail, settings.base_url).startswith("/invitations/")
    assert smtp.to("eve@example.org") == []
    # The invitation links were delivered; the outbox no longer holds them.
    for mail in await OutboxEmail.filter(to__in=["bruno@example.org", "carla@example.org"]):
        assert "/invitations/" not in mail.body and LINK_REMOVED in mail.body


async def test_smtp_outage_requests_succeed_mail_waits_then_arrives(
    settings, smtp, make_browser, unused_port
):
    """The SMTP-outage test: nothing listens on the mail port while people use the site."""
    down = settings.with_(smtp_port=unused_port)
    person = await make_browser(on=create_app(down, manage_database=False))
    sender = asyncio.create_task(sender_loop(down, interval=0.05))  # as in a server process
    try:
        await sign_up(person)
        await person.log_out()
        await person.page("/password/forgot")
        response = await person.submit("/password/forgot", {"email": "alice@example.org"})
        assert response.status_code == 200 and "If an account exists" in response.text

        async def all_tried() -> bool:
            mails = await OutboxEmail.all()
            return len(mails) == 2 and all(mail.last_error for mail in mails)

        await eventually(all_tried)
        for mail in await OutboxEmail.all():
            assert mail.sent_at is None and mail.attempts == 1
            assert mail.send_after > datetime.now(UTC) + timedelta(seconds=30)  # backed off
            assert settings.base_url in mail.body  # its link kept until it is delivered

        mailbox = type(smtp)()  # a second conftest.Mailbox, for the server that comes back
        server = Controller(mailbox, hostname="127.0.0.1", port=unused_port)
        server.start()  # SMTP is back, where the app expects it
        try:
            await OutboxEmail.all().update(send_after=datetime.now(UTC))  # the backoff is over

            async def delivered() -> bool:
                return await OutboxEmail.filter(sent_at=None).count() == 0

            await eventually(delivered)
            verification, reset = mailbox.to("alice@example.org")
            assert reset["Subject"] == "Reset your password"
        finally:
            server.stop()
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)

    response = await person.get(link_in(verification, settings.base_url))
    assert response.status_code == 200 and "your email address is confirmed" in response.text
    assert (await User.get(email="alice@example.org")).email_verified_at is not None
