"""Accounts over HTTP: sign-up, log-in and its throttle, the session, and the mails with links
(verification, password reset) delivered through a real SMTP server."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx

from grants.mail import send_pending
from grants.models import AuditEvent, LoginAttempt, OutboxEmail, User
from grants.services import accounts
from tests.web.pages import field_error

PASSWORD = "a long enough password"


def field_value(page: httpx.Response, name: str) -> str | None:
    match = re.search(rf'<input id="{name}" name="{name}"[^>]*\svalue="([^"]*)"', page.text)
    return html.unescape(match.group(1)) if match else None


def link_in(mail, base_url: str) -> str:
    """The path of the first link to the site in a mail."""
    body = mail.get_payload(decode=True).decode()
    return re.search(re.escape(base_url) + r"(/\S+)", body).group(1)


async def sign_up(browser, email: str = "alice@example.org", name: str = "Alice") -> httpx.Response:
    await browser.page("/signup")
    response = await browser.submit(
        "/signup", {"email": email, "display_name": name, "password": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["location"] == "/me", response.text[
        :2000
    ]
    await browser.page("/me")
    return response


async def test_sign_up_shows_each_problem_on_its_field_and_keeps_what_was_typed(settings, browser):
    await browser.page("/signup")
    response = await browser.submit(
        "/signup", {"email": "alice-at-example.org", "display_name": "  ", "password": "short-pw"}
    )
    assert response.status_code == 400
    assert "Please correct the marked fields." in response.text
    assert field_error(response, "email") == "Error: Enter an email address like name@example.org."
    assert "Enter the name you want to be called" in field_error(response, "display_name")
    assert "Use at least 10 characters." in field_error(response, "password")
    assert field_value(response, "email") == "alice-at-example.org"
    assert "short-pw" not in response.text  # a password is never sent back
    assert await User.all().count() == 0

    response = await browser.submit(
        "/signup", {"email": "alice@example.org", "display_name": "Alice Martin", "password": "x"}
    )
    assert response.status_code == 400
    assert field_error(response, "email") == "" and field_error(response, "display_name") == ""
    assert field_value(response, "display_name") == "Alice Martin"
    assert field_value(response, "password") == ""


async def test_signing_up_with_a_taken_address_answers_the_same_and_mails_its_owner(
    settings, browser, make_browser, smtp
):
    fresh = await make_browser("192.0.2.30")
    await fresh.page("/signup")
    new = await fresh.submit(
        "/signup", {"email": "bob@example.org", "display_name": "Bob", "password": PASSWORD}
    )
    await sign_up(browser, "Alice@Example.org")
    await send_pending(settings)
    smtp.messages.clear()

    other = await make_browser()
    await other.page("/signup")
    taken = await other.submit(
        "/signup", {"email": "alice@example.org ", "display_name": "Eve", "password": PASSWORD}
    )
    # The same answer as for a new address: nothing says the address has an account.
    assert (taken.status_code, taken.headers["location"]) == (303, "/me")
    assert (new.status_code, new.headers["location"]) == (303, "/me")
    assert "already exists" not in taken.text
    assert await User.filter(email="alice@example.org").count() == 1
    assert (await other.get("/me")).status_code == 303  # signed in as nobody

    # Alice hears of it, once an hour however often someone tries.
    await other.page("/signup")
    await other.submit(
        "/signup", {"email": "alice@example.org", "display_name": "Eve", "password": PASSWORD}
    )
    assert await send_pending(settings) == 1
    [mail] = smtp.to("alice@example.org")
    assert mail["Subject"] == "Someone tried to sign up with your address"
    body = mail.get_payload(decode=True).decode()
    assert settings.base_url + "/login" in body and settings.base_url + "/password/forgot" in body
    assert "If it was not you, ignore this message" in body


async def test_log_in_renews_the_session_and_log_out_ends_it(settings, browser, make_browser):
    await sign_up(browser)
    await browser.log_out()

    person = await make_browser()
    await person.page("/login")
    response = await person.submit(
        "/login", {"email": "alice@example.org", "password": "wrong password!"}
    )
    assert response.status_code == 400
    assert "The email or the password is wrong." in response.text
    assert field_value(response, "email") == "alice@example.org"
    assert "wrong password!" not in response.text

    before_cookie, before_csrf = person.cookies["grants_session"], person.csrf
    response = await person.submit(
        "/login", {"email": "ALICE@example.org", "password": PASSWORD, "next": "/groups/new"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/groups/new"
    assert person.cookies["grants_session"] != before_cookie
    # The token of the anonymous session is worthless now (no session fixation).
    assert (await person.post("/logout", data={"csrf_token": before_csrf})).status_code == 403
    assert (await person.get("/me")).status_code == 200

    await person.page("/me")
    await person.log_out()
    response = await person.get("/me")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def wait_over(key: str) -> None:
    """Time passes: the failures of `key` move back past any wait they impose (not the window)."""
    await LoginAttempt.filter(key=key).update(at=datetime.now(UTC) - timedelta(seconds=61))


async def test_failures_slow_an_account_down_and_a_wait_or_a_reset_lets_its_owner_in(
    settings, browser, make_browser, smtp
):
    await sign_up(browser)
    attacker = await make_browser("192.0.2.99")
    await attacker.page("/login")
    for _attempt in range(settings.login_attempts_per_account):
        response = await attacker.submit(
            "/login", {"email": "alice@example.org", "password": "guess guess guess"}
        )
        assert "The email or the password is wrong." in response.text
    refused = await attacker.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert refused.status_code == 400  # not even a right password gets through during the wait

    # Alice herself, from her own address, is asked to wait a little (or reset her password).
    owner = await make_browser("203.0.113.50")
    await owner.page("/login")
    response = await owner.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert (
        "Too many failed attempts. Wait 30 seconds and try again, or reset your password."
        in response.text
    )
    assert (await owner.get("/me")).status_code == 303

    # After the wait, her password works (a further wrong guess would double the wait).
    await wait_over("account:alice@example.org")
    await owner.log_in("alice@example.org", PASSWORD)

    # Guessing goes on: the wait doubles, never beyond the window, and a reset ends it at once.
    await owner.log_out()
    await LoginAttempt.bulk_create(
        [LoginAttempt(key="account:alice@example.org") for _ in range(40)]
    )
    response = await owner.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert "Wait 15 minutes" in response.text
    await owner.page("/password/forgot")
    await owner.submit("/password/forgot", {"email": "alice@example.org"})
    await send_pending(settings)
    path = link_in(smtp.to("alice@example.org")[-1], settings.base_url)
    await owner.page(path)
    assert (await owner.submit(path, {"password": "my brand new password"})).status_code == 200
    await owner.log_in("alice@example.org", "my brand new password")


async def test_many_failures_from_one_address_only_slow_it_down_a_little(
    settings, browser, make_browser
):
    """A school's network where someone sprays guesses: the others behind the same address still
    log in with their right password, after a wait of at most a minute."""
    await sign_up(browser)
    await browser.log_out()
    school = await make_browser("192.0.2.77")
    elsewhere = await make_browser("192.0.2.78")
    await school.page("/login")
    for number in range(3):  # failures on three accounts, then many more on record
        response = await school.submit(
            "/login", {"email": f"user{number}@example.org", "password": PASSWORD}
        )
        assert "The email or the password is wrong." in response.text
    await LoginAttempt.bulk_create(
        [LoginAttempt(key="ip:192.0.2.77") for _ in range(settings.login_attempts_per_ip * 3)]
    )
    response = await school.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Too many failed attempts. Wait 60 seconds and try again" in response.text

    # Another address is not affected; and after the wait the right password gets in here too.
    await elsewhere.log_in("alice@example.org", PASSWORD)
    await wait_over("ip:192.0.2.77")
    await school.log_in("alice@example.org", PASSWORD)


async def test_the_verification_mail_arrives_and_its_link_works_once(settings, browser, smtp):
    await sign_up(browser)
    page = await browser.page("/me")
    assert "Please confirm your email address" in page.text

    assert await send_pending(settings) == 1
    [mail] = smtp.to("alice@example.org")
    assert mail["Subject"] == "Confirm your email address"
    path = link_in(mail, settings.base_url)
    assert path.startswith("/verify/")

    response = await browser.get(path)
    assert (
        response.status_code == 200
        and "Thank you, your email address is confirmed." in response.text
    )
    user = await User.get(email="alice@example.org")
    assert user.email_verified_at is not None
    assert "Please confirm your email address" not in (await browser.page("/me")).text

    response = await browser.get(path)
    assert response.status_code == 400
    assert "This link is invalid or has expired. Ask for a new one." in response.text
    assert (await browser.get("/verify/made-up-token")).status_code == 400


async def test_a_password_reset_mail_sets_a_new_password_once(
    settings, browser, make_browser, smtp
):
    await sign_up(browser)
    await browser.log_out()
    await send_pending(settings)  # the verification mail
    smtp.messages.clear()

    await browser.page("/password/forgot")
    response = await browser.submit("/password/forgot", {"email": "Alice@example.org"})
    assert response.status_code == 200 and "Check your email" in response.text
    assert await send_pending(settings) == 1
    [mail] = smtp.to("alice@example.org")
    assert mail["Subject"] == "Reset your password"
    path = link_in(mail, settings.base_url)
    assert path.startswith("/password/reset/")

    await browser.page(path)
    response = await browser.submit(path, {"password": "short"})
    assert response.status_code == 400 and "Use at least 10 characters." in field_error(
        response, "password"
    )
    response = await browser.submit(path, {"password": "my brand new password"})
    assert (
        response.status_code == 200
        and "You can now log in with your new password." in response.text
    )
    response = await browser.submit(path, {"password": "yet another password"})
    assert response.status_code == 400 and "This link is invalid or has expired" in response.text

    person = await make_browser()
    await person.page("/login")
    response = await person.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 400 and "The email or the password is wrong." in response.text
    response = await person.submit(
        "/login", {"email": "alice@example.org", "password": "yet another password"}
    )
    assert response.status_code == 400
    await person.log_in("alice@example.org", "my brand new password")


async def test_a_password_reset_ends_the_sessions_opened_with_the_old_password(
    settings, browser, make_browser, smtp
):
    await sign_up(browser)
    await browser.log_out()
    lost_phone = await make_browser()
    await lost_phone.log_in("alice@example.org", PASSWORD)
    assert (await lost_phone.get("/me")).status_code == 200

    await send_pending(settings)
    smtp.messages.clear()
    await browser.page("/password/forgot")
    await browser.submit("/password/forgot", {"email": "alice@example.org"})
    await send_pending(settings)
    [mail] = smtp.to("alice@example.org")
    path = link_in(mail, settings.base_url)
    await browser.page(path)
    assert (await browser.submit(path, {"password": "my brand new password"})).status_code == 200

    response = await lost_phone.get("/me")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    await browser.log_in("alice@example.org", "my brand new password")
    assert (await browser.get("/me")).status_code == 200


async def test_forgot_password_for_an_unknown_address_looks_the_same_and_sends_nothing(
    settings, browser, smtp
):
    await browser.page("/password/forgot")
    response = await browser.submit("/password/forgot", {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert "If an account exists for this address, we sent it a link" in response.text
    assert await OutboxEmail.all().count() == 0
    assert await send_pending(settings) == 0 and smtp.messages == []


async def test_sign_ups_from_one_network_are_limited_per_hour(demo, browser, make_browser):
    # The browser fixture's address has made accounts all hour (new and taken addresses alike).
    for number in range(accounts.SIGNUPS_PER_IP):
        await AuditEvent.create(
            action="account.signup" if number % 2 else "account.signup_existing",
            ip="203.0.113.7",
        )
    await browser.page("/signup")
    typed = {"email": "zoe@example.org", "display_name": "Zoé", "password": PASSWORD}
    response = await browser.submit("/signup", typed)
    assert response.status_code == 400
    assert "Too many accounts were created from your network" in html.unescape(response.text)
    assert 'value="zoe@example.org"' in response.text  # what was typed is kept
    assert not await User.filter(email="zoe@example.org").exists()

    # An hour later the same network may again; another network may at once.
    await AuditEvent.filter(ip="203.0.113.7").update(at=datetime.now(UTC) - timedelta(hours=2))
    assert (await browser.submit("/signup", typed)).status_code == 303
    elsewhere = await make_browser("198.51.100.77")
    await elsewhere.page("/signup")
    response = await elsewhere.submit(
        "/signup", {"email": "yan@example.org", "display_name": "Yan", "password": PASSWORD}
    )
    assert response.status_code == 303
