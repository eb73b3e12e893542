"""Sessions over HTTP: the cookie carries a token of a server-side session, so log-out, a new
password, timeouts and "sign out everywhere else" end it for every copy of the cookie; CSRF
still guards every form, whatever bytes are sent as the token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from grants.demo import DEMO_PASSWORD
from grants.models import AuditEvent, User, UserSession

APPLICANT = "applicant1@demo.prevention-prize.eu"
ORGANISER = "organiser@demo.prevention-prize.eu"


async def copy_of(browser, make_browser):
    """Another browser holding the very same cookie (a stolen or copied one)."""
    thief = await make_browser("198.51.100.66")
    thief.cookies.set("grants_session", browser.cookies["grants_session"])
    return thief


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 200


async def test_a_copied_cookie_stops_working_after_log_out(demo, browser, make_browser):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    thief = await copy_of(browser, make_browser)
    assert signed_in(await thief.get("/me"))

    await browser.log_out()

    response = await thief.get("/me")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await browser.get("/me")).status_code == 303
    [row] = await UserSession.all()
    assert row.ended_reason == "logout" and row.ended_at is not None
    [event] = await AuditEvent.filter(action="logout")
    assert event.actor_id == row.user_id and event.ip == "203.0.113.7"
    assert await AuditEvent.filter(action="login", actor_id=row.user_id).count() == 1


async def test_an_idle_session_sends_its_owner_to_log_in(demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    assert signed_in(await browser.get("/manage/epp-2027"))
    [row] = await UserSession.all()
    await UserSession.filter(id=row.id).update(
        last_seen_at=datetime.now(UTC) - timedelta(seconds=row.idle_seconds + 1)
    )
    response = await browser.get("/manage/epp-2027")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await UserSession.get(id=row.id)).ended_reason == "idle"
    await browser.log_in(ORGANISER, DEMO_PASSWORD)  # and can come back in
    assert signed_in(await browser.get("/manage/epp-2027"))


async def test_a_session_past_its_absolute_lifetime_ends(demo, browser):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    [row] = await UserSession.all()
    await UserSession.filter(id=row.id).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert (await browser.get("/me")).status_code == 303
    assert (await UserSession.get(id=row.id)).ended_reason == "expired"


async def test_a_password_reset_ends_every_session_of_the_account(
    demo, settings, browser, make_browser
):
    from grants.services import tokens

    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    laptop = await make_browser("198.51.100.2")
    await laptop.log_in(APPLICANT, DEMO_PASSWORD)
    thief = await copy_of(browser, make_browser)

    user = await User.get(email=APPLICANT)
    secret = await tokens.issue("reset", user=user)  # as the mailed link would carry
    stranger = await make_browser("198.51.100.3")
    await stranger.page(f"/password/reset/{secret}")
    response = await stranger.submit(f"/password/reset/{secret}", {"password": "a new password!"})
    assert response.status_code == 200

    for person in (browser, laptop, thief):
        assert (await person.get("/me")).status_code == 303
    assert await UserSession.filter(ended_at=None).count() == 0
    assert {row.ended_reason for row in await UserSession.all()} == {"password_reset"}


async def test_anonymous_pages_start_no_session(demo, browser):
    for path in ["/", "/calls/epp-2027", "/calls/epp-2027/winners", "/login", "/signup", "/me"]:
        await browser.page(path)
    response = await browser.submit("/login", {"email": APPLICANT, "password": "wrong password"})
    assert response.status_code == 400
    assert await UserSession.all().count() == 0


async def test_csrf_still_guards_signed_in_forms(demo, browser, make_browser):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    token = browser.csrf
    response = await browser.post("/logout", data={"csrf_token": "not the token"})
    assert response.status_code == 403
    assert signed_in(await browser.get("/me"))
    # A thief with the cookie but after log-out cannot use its CSRF token to act as anyone.
    thief = await copy_of(browser, make_browser)
    await browser.log_out()
    response = await thief.post("/me/security/sessions", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "raw",
    [
        "é".encode(),
        b"\xff\xfe",  # not UTF-8 at all
        b"\xed\xa0\x80",  # an encoded lone surrogate
        "\u0000токен".encode(),
    ],
)
async def test_a_non_ascii_csrf_token_is_a_403_that_explains(demo, browser, raw):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + raw
        + b"\r\n--XX--\r\n"
    )
    response = await browser.post(
        "/me/security/sessions",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=XX"},
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text
    response = await browser.post(
        "/logout", data={"email": "x"}, headers={"x-csrf-token": raw.replace(b"\x00", b"")}
    )
    assert response.status_code == 403
    assert signed_in(await browser.get("/me"))


async def test_the_security_page_lists_sessions_and_signs_out_everywhere_else(
    demo, browser, make_browser
):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    phone = await make_browser("198.51.100.4")
    phone.headers["user-agent"] = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    )
    await phone.log_in(APPLICANT, DEMO_PASSWORD)
    organiser = await make_browser("198.51.100.5")
    await organiser.log_in(ORGANISER, DEMO_PASSWORD)

    page = await browser.page("/me/security")
    assert page.status_code == 200
    assert "Chrome on Android" in page.text  # in words, not the user-agent string
    assert "Mozilla/5.0" not in page.text
    assert page.text.count('class="card"') == 2
    assert len(re.findall("This browser", page.text)) == 1

    response = await browser.submit("/me/security/sessions")
    assert response.status_code == 303 and response.headers["location"] == "/me/security"
    page = await browser.page("/me/security")
    assert "1 other session ended." in page.text
    assert "Chrome on Android" not in page.text

    assert (await phone.get("/me")).status_code == 303
    assert signed_in(await browser.get("/me"))
    assert signed_in(await organiser.get("/me"))  # somebody else's sessions go on
    [event] = await AuditEvent.filter(action="sessions.ended")
    assert event.after == {"reason": "signed_out_elsewhere", "count": 1}


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    demo, browser, make_browser
):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    phone = await make_browser("198.51.100.4")
    await phone.log_in(APPLICANT, DEMO_PASSWORD)

    await browser.page("/me/security")
    response = await browser.submit(
        "/me/security/password",
        {"current_password": "not my password", "new_password": "short"},
    )
    assert response.status_code == 400
    assert "This is not your current password." in response.text
    assert "Use at least 10 characters." in response.text
    assert "not my password" not in response.text
    assert signed_in(await phone.get("/me"))

    response = await browser.submit(
        "/me/security/password",
        {"current_password": DEMO_PASSWORD, "new_password": "a brand new password"},
    )
    assert response.status_code == 303
    assert signed_in(await browser.get("/me"))
    assert (await phone.get("/me")).status_code == 303
    await phone.log_in(APPLICANT, "a brand new password")
    assert await AuditEvent.filter(action="account.password_changed").count() == 1
