"""Password reset links: how often they are mailed, which one works, and what the outbox keeps
of them once sent (delivered through a real SMTP server)."""

from __future__ import annotations

import html
import re

from grants.mail import LINK_REMOVED, send_pending
from grants.models import AuditEvent, OutboxEmail, User
from grants.services.accounts import RESETS_PER_ACCOUNT, RESETS_PER_IP, create_user

PASSWORD = "a long enough password"


def lead(page) -> str:
    """The message a page gives (auth/message.html)."""
    return html.unescape(re.search(r'<p class="lead">(.*?)</p>', page.text, re.S).group(1))


def link_in(mail, base_url: str) -> str:
    """The path of the first link to the site in a delivered mail."""
    body = mail.get_payload(decode=True).decode()
    return re.search(re.escape(base_url) + r"(/\S+)", body).group(1)


async def ask_reset(browser, email: str) -> str:
    await browser.page("/password/forgot")
    response = await browser.submit("/password/forgot", {"email": email})
    assert response.status_code == 200, response.text[:2000]
    return lead(response)


async def test_reset_mails_are_limited_per_account_and_the_answer_never_changes(
    settings, browser, smtp
):
    await create_user(email="alice@example.org", display_name="Alice", password=PASSWORD)

    answers = {await ask_reset(browser, "alice@example.org") for _ in range(RESETS_PER_ACCOUNT + 2)}
    answers.add(await ask_reset(browser, "nobody@example.org"))

    assert await OutboxEmail.filter(to="alice@example.org").count() == RESETS_PER_ACCOUNT
    # One answer for an account and for none, for a mail sent and for one held back.
    assert answers == {
        "If an account exists for this address, we sent it a link to choose a new password. "
        "If nothing arrives, look in your spam folder, and wait 60 minutes before asking again."
    }
    assert await send_pending(settings) == RESETS_PER_ACCOUNT
    assert len(smtp.to("alice@example.org")) == RESETS_PER_ACCOUNT

    # Every request is in the audit trail, with what the person was not told.
    asked = await AuditEvent.filter(action="account.reset_requested").order_by("id")
    assert len(asked) == RESETS_PER_ACCOUNT + 3
    assert all(event.actor_id is None and event.ip == "203.0.113.7" for event in asked)
    limited = [event.after["limited"] for event in asked]
    assert limited == [False] * RESETS_PER_ACCOUNT + [True, True, False]
    assert asked[-1].after == {"email": "nobody@example.org", "account": False, "limited": False}


async def test_reset_requests_are_limited_per_ip_address(settings, browser, make_browser, smtp):
    await create_user(email="alice@example.org", display_name="Alice", password=PASSWORD)
    for number in range(RESETS_PER_IP):
        await ask_reset(browser, f"probe{number}@example.org")

    await ask_reset(browser, "alice@example.org")
    assert await OutboxEmail.filter(to="alice@example.org").count() == 0

    elsewhere = await make_browser("198.51.100.20")
    await ask_reset(elsewhere, "alice@example.org")
    assert await OutboxEmail.filter(to="alice@example.org").count() == 1


async def test_a_newer_reset_link_voids_the_older_ones_and_a_reset_voids_every_link(
    settings, browser, smtp
):
    await browser.page("/signup")
    response = await browser.submit(
        "/signup", {"email": "alice@example.org", "display_name": "Alice", "password": PASSWORD}
    )
    assert response.status_code == 303
    await browser.log_out()
    await ask_reset(browser, "alice@example.org")
    await ask_reset(browser, "alice@example.org")
    assert await send_pending(settings) == 3
    verify, older, newer = (link_in(m, settings.base_url) for m in smtp.to("alice@example.org"))
    assert verify.startswith("/verify/") and older != newer

    await browser.page(older)
    response = await browser.submit(older, {"password": "the older link's password"})
    assert response.status_code == 400 and "This link is invalid or has expired" in response.text

    await browser.page(newer)
    response = await browser.submit(newer, {"password": "my brand new password"})
    assert response.status_code == 200 and "You can now log in" in response.text
    # The link came to Alice's address: it is confirmed, and its verification link is void.
    alice = await User.get(email="alice@example.org")
    assert alice.email_verified_at is not None
    assert (await browser.get(verify)).status_code == 400
    await browser.page(older)
    assert (
        await browser.submit(older, {"password": "the older link's password"})
    ).status_code == 400
    await browser.log_in("alice@example.org", "my brand new password")

    [completed] = await AuditEvent.filter(action="account.password_reset")
    assert completed.actor_id == alice.id and completed.ip == "203.0.113.7"
    assert completed.after == {"links_voided": 1}  # the verification link (the older: voided)


async def test_the_outbox_keeps_no_link_of_a_sent_mail(settings, browser, smtp):
    await browser.page("/signup")
    await browser.submit(
        "/signup", {"email": "alice@example.org", "display_name": "Alice", "password": PASSWORD}
    )
    await browser.log_out()
    await ask_reset(browser, "alice@example.org")

    queued = await OutboxEmail.all().order_by("id")
    assert all(settings.base_url in mail.body for mail in queued)  # until sent, the link is kept
    assert await send_pending(settings) == 2

    secrets = [link_in(m, settings.base_url).rsplit("/", 1)[1] for m in smtp.messages]
    assert all(len(secret) >= 40 for secret in secrets)
    for mail in await OutboxEmail.all().order_by("id"):
        assert mail.sent_at is not None
        assert not any(secret in mail.body for secret in secrets)
        assert settings.base_url not in mail.body and LINK_REMOVED in mail.body
        assert "\x02" not in mail.body and "\x03" not in mail.body
    for message in smtp.messages:  # the reader got the link, without the outbox's marks
        body = message.get_payload(decode=True).decode()
        assert "\x02" not in body and "\x03" not in body and LINK_REMOVED not in body
