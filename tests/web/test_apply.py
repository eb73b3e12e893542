"""The applicant's side over HTTP, on the demo call epp-2027: groups, the three-step form,
uploads, the deadline, submitting once, withdrawing, the dashboard and invitations."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from grants.i18n.dates import in_zone
from grants.mail import send_pending
from grants.models import (
    Application,
    ApplicationMessage,
    Attachment,
    AuditEvent,
    Category,
    Edition,
    GroupMember,
    OutboxEmail,
    StatusChange,
    User,
)
from grants.services import submission
from tests.web.pages import ANSWERS, PASSWORD, PDF, field_error, location, text_of


def uploads(settings) -> list[str]:
    return (
        sorted(p.name for p in settings.upload_dir.iterdir())
        if settings.upload_dir.exists()
        else []
    )


async def sign_up(browser, email: str = "alice@example.org", name: str = "Alice") -> None:
    await browser.page("/signup")
    location(
        await browser.submit(
            "/signup", {"email": email, "display_name": name, "password": PASSWORD}
        )
    )
    await browser.page("/me")


async def make_group(
    browser, *, lead_band: str = "18_21", country: str = "pt", with_bruno: bool = True
) -> str:
    response = await browser.submit(
        "/groups/new",
        {
            "name": "Lisbon Peer Educators",
            "kind": "youth_organisation",
            "country": country,
            "organisation": "Escola",
            "lead_first_name": "Alice",
            "lead_age_band": lead_band,
        },
    )
    group_url = location(response)
    if with_bruno:
        location(
            await browser.submit(
                group_url, {"action": "add", "first_name": "Bruno", "age_band": "18_21"}
            )
        )
    return group_url


async def start(browser, title: str = "Peer talks in Lisbon") -> Application:
    page = await browser.page("/calls/epp-2027/apply")
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    location(
        await browser.submit(
            "/calls/epp-2027/apply", {"group_id": group_id, "title": title, "language": "en"}
        )
    )
    return await Application.filter(title=title).order_by("-id").first()


async def fill(browser, application: Application, *, files=None) -> None:
    category = await Category.filter(edition_id=application.edition_id).order_by("id").first()
    location(
        await browser.submit(
            f"/applications/{application.id}/step/1",
            {
                "title": application.title,
                "summary": "Students run evening talks about cannabis myths.",
                "language": "en",
                "category": str(category.id),
                "publish_consent": "yes",
                "go": "next",
            },
        )
    )
    location(
        await browser.submit(
            f"/applications/{application.id}/step/2", {**ANSWERS, "go": "next"}, files=files
        )
    )


async def submit_key(browser, application: Application) -> str:
    page = await browser.page(f"/applications/{application.id}/step/3")
    match = re.search(r'name="submit_key" value="([^"]+)"', page.text)
    assert match, re.findall(r'<li><a href="[^"]*">(.*?)</a></li>', page.text)
    return match.group(1)


@pytest.fixture
async def alice(demo, browser):
    """Alice, logged in, with a complete adult team from Portugal."""
    await sign_up(browser)
    await make_group(browser)
    return browser


async def set_deadline(closes_at: datetime, **changes) -> Edition:
    edition = await Edition.get(slug="epp-2027")
    edition.closes_at = closes_at
    for key, value in changes.items():
        setattr(edition, key, value)
    await edition.save()
    return edition


# Groups ---------------------------------------------------------------------------------


async def test_a_group_form_shows_each_problem_on_its_field_and_keeps_values(
    demo, browser, smtp, settings
):
    await sign_up(browser)
    await browser.page("/groups/new")
    response = await browser.submit(
        "/groups/new",
        {
            "name": "",
            "kind": "youth_organisation",
            "country": "Portugal",
            "organisation": "Escola Secundaria",
            "lead_first_name": "Alice",
            "lead_age_band": "",
        },
    )
    assert response.status_code == 400
    assert field_error(response, "name") == "Error: Enter the name of your group."
    assert field_error(response, "country") == "Error: Choose your country."
    assert "Choose your age band." in field_error(response, "lead_age_band")
    assert field_error(response, "lead_first_name") == "" and field_error(response, "kind") == ""
    for typed in (
        'value="Portugal"',
        'value="Escola Secundaria"',
        'value="Alice"',
        '<option value="youth_organisation" selected>',
    ):
        assert typed in response.text, typed

    group_url = await make_group(browser, with_bruno=False)
    response = await browser.submit(
        group_url,
        {
            "action": "add",
            "first_name": "",
            "age_band": "18_21",
            "invite_email": "bruno-at-example",
        },
    )
    assert response.status_code == 400
    assert "Enter the member's first name." in field_error(response, "first_name")
    assert "Enter an email address like name@example.org." in field_error(response, "invite_email")
    assert (
        'value="bruno-at-example"' in response.text
        and '<option value="18_21" selected>' in response.text
    )
    response = await browser.submit(
        group_url, {"action": "consent", "member_id": "not-a-number", "guardian_name": "X"}
    )
    assert response.status_code == 400 and "This member does not exist." in response.text
    assert await GroupMember.filter(group__name="Lisbon Peer Educators").count() == 1


async def test_a_forwarded_group_invitation_lets_nobody_else_in(
    demo, browser, make_browser, smtp, settings
):
    await sign_up(browser)
    group_url = await make_group(browser, with_bruno=False)
    location(
        await browser.submit(
            group_url,
            {
                "action": "add",
                "first_name": "Bruno",
                "age_band": "16_17",
                "invite_email": "bruno@example.org",
            },
        )
    )
    await send_pending(settings)
    [mail] = smtp.to("bruno@example.org")
    path = re.search(
        re.escape(settings.base_url) + r"(/invitations/\S+)", mail.get_payload(decode=True).decode()
    ).group(1)

    # Bruno forwards the mail to a friend, who has an account under another address.
    friend = await make_browser("198.51.100.30")
    await sign_up(friend, "friend@example.org", "Friend")
    for response in (await friend.page(path), await friend.submit(path, {})):
        assert response.status_code == 403
        assert "sent to another email address (b***@example.org)" in text_of(response)
        assert "Bruno" not in response.text  # not even the member's name
    assert (await friend.get(group_url)).status_code == 404
    assert await AuditEvent.filter(action="group.invitation_refused").count() == 2
    bruno_member = await GroupMember.get(first_name="Bruno")
    assert bruno_member.user_id is None

    # Bruno himself, signed up with the invited address: the link joins him and, mailed to
    # that address, confirms it.
    bruno = await make_browser("198.51.100.31")
    await sign_up(bruno, "bruno@example.org", "Bruno")
    assert (await User.get(email="bruno@example.org")).email_verified_at is None
    await bruno.page(path)
    assert location(await bruno.submit(path, {})) == group_url
    await bruno_member.refresh_from_db()
    joined = await User.get(email="bruno@example.org")
    assert bruno_member.user_id == joined.id and joined.email_verified_at is not None


async def test_an_invited_member_gets_a_mail_and_joins_with_its_link(
    demo, browser, make_browser, smtp, settings
):
    await sign_up(browser)
    group_url = await make_group(browser, with_bruno=False)
    response = await browser.submit(
        group_url,
        {
            "action": "add",
            "first_name": "Bruno",
            "age_band": "18_21",
            "invite_email": "Bruno@Example.org",
        },
    )
    location(response)
    assert "We sent an invitation to bruno@example.org." in (await browser.page(group_url)).text
    await send_pending(settings)
    [mail] = smtp.to("bruno@example.org")
    assert mail["Subject"] == "Alice invites you to join Lisbon Peer Educators"
    path = re.search(
        re.escape(settings.base_url) + r"(/invitations/\S+)", mail.get_payload(decode=True).decode()
    ).group(1)

    # Bruno has no account: the link leads him to log in, from there to sign up, then back.
    bruno = await make_browser()
    response = await bruno.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
    login_page = await bruno.page(response.headers["location"])
    signup_url = html.unescape(re.search(r'href="(/signup\?next=[^"]+)"', login_page.text).group(1))
    await bruno.page(signup_url)
    response = await bruno.submit(
        signup_url,
        {"email": "bruno@example.org", "display_name": "Bruno", "password": PASSWORD, "next": path},
    )
    assert location(response) == path
    page = await bruno.page(path)
    assert "Join Lisbon Peer Educators" in page.text
    assert location(await bruno.submit(path, {})) == group_url
    member = await GroupMember.get(first_name="Bruno")
    assert member.user_id == (await User.get(email="bruno@example.org")).id
    assert "Lisbon Peer Educators" in (await bruno.page("/me")).text
    assert (await bruno.get(path)).status_code == 400  # single use


async def test_a_minor_without_consent_blocks_submission_until_an_adult_records_it(
    demo, browser, make_browser, smtp, settings
):
    await sign_up(browser)
    group_url = await make_group(browser, lead_band="16_17")
    application = await start(browser)
    await fill(browser, application)
    page = await browser.page(f"/applications/{application.id}/step/3")
    message = (
        "Alice is under 18: record a parent's or guardian's consent on the group page "
        "before submitting."
    )
    assert message in text_of(page)
    assert f'<a href="{group_url}">' in page.text
    assert 'name="submit_key"' not in page.text

    response = await browser.submit(f"/applications/{application.id}/submit", {"submit_key": "k1"})
    assert response.status_code == 400 and message in text_of(response)
    await application.refresh_from_db()
    assert application.status == "draft"

    # Alice, 16, cannot vouch for her own guardian: the page offers her no form, and a post
    # made anyway is refused in her language and audited.
    lead = await GroupMember.get(first_name="Alice")
    page = await browser.page(group_url)
    assert f'id="guardian-{lead.id}"' not in page.text
    assert "Needed: an adult member of the group other than Alice records it." in text_of(page)
    consent = {"action": "consent", "member_id": str(lead.id), "guardian_name": "Maria Silva"}
    response = await browser.submit(group_url, consent)
    assert response.status_code == 403
    assert "You cannot record a guardian's consent for yourself." in text_of(response)
    browser.headers["accept-language"] = "ru"
    response = await browser.submit(group_url, consent)
    assert response.status_code == 403
    assert "Вы не можете сами записать согласие" in text_of(response)
    del browser.headers["accept-language"]
    await lead.refresh_from_db()
    assert lead.guardian_consent_at is None and lead.consent_recorded_by_id is None
    alice = await User.get(email="alice@example.org")
    assert await AuditEvent.filter(action="group.consent_refused", actor=alice).count() == 2

    # Nor can another minor of the group, for her.
    location(
        await browser.submit(
            group_url,
            {
                "action": "add",
                "first_name": "Teresa",
                "age_band": "22_25",
                "invite_email": "teresa@example.org",
            },
        )
    )
    location(
        await browser.submit(
            group_url,
            {
                "action": "add",
                "first_name": "Dato",
                "age_band": "14_15",
                "invite_email": "dato@example.org",
            },
        )
    )
    await send_pending(settings)

    async def join(email: str, name: str):
        [mail] = smtp.to(email)
        path = re.search(
            re.escape(settings.base_url) + r"(/invitations/\S+)",
            mail.get_payload(decode=True).decode(),
        ).group(1)
        person = await make_browser()
        await sign_up(person, email, name)
        await person.page(path)
        location(await person.submit(path, {}))
        return person

    dato = await join("dato@example.org", "Dato")
    response = await dato.submit(group_url, consent)
    assert response.status_code == 403
    assert "Only an adult member of the group (18 or over)" in text_of(response)

    # Teresa, an adult member (their teacher), records it.
    teresa = await join("teresa@example.org", "Teresa")
    assert f'id="guardian-{lead.id}"' in (await teresa.page(group_url)).text
    location(await teresa.submit(group_url, consent))
    await lead.refresh_from_db()
    assert lead.guardian_consent_at is not None
    assert lead.consent_recorded_by_id == (await User.get(email="teresa@example.org")).id
    assert await AuditEvent.exists(action="group.consent", actor_id=lead.consent_recorded_by_id)

    dato_member = await GroupMember.get(first_name="Dato")
    location(
        await teresa.submit(
            group_url,
            {"action": "consent", "member_id": str(dato_member.id), "guardian_name": "N. Beridze"},
        )
    )
    location(
        await browser.submit(
            f"/applications/{application.id}/submit",
            {"submit_key": await submit_key(browser, application)},
        )
    )
    await application.refresh_from_db()
    assert application.status == "submitted"


async def test_a_call_with_a_higher_consent_age_lets_the_group_page_record_that_consent(
    demo, browser
):
    edition = await Edition.get(status="open")
    edition.consent_age = 21  # part of the 18-21 band is under it, so all of the band is asked
    await edition.save()
    await sign_up(browser)
    group_url = await make_group(browser, lead_band="22_25")  # Bruno is in the 18-21 band
    application = await start(browser)
    await fill(browser, application)
    message = (
        "Bruno's age band reaches below 21, the age from which this call needs no guardian's "
        "consent: record a parent's or guardian's consent on the group page before submitting."
    )
    assert message in text_of(await browser.page(f"/applications/{application.id}/step/3"))

    bruno = await GroupMember.get(first_name="Bruno")
    # the page the message names offers the form
    assert f'id="guardian-{bruno.id}"' in (await browser.page(group_url)).text
    location(
        await browser.submit(
            group_url,
            {"action": "consent", "member_id": str(bruno.id), "guardian_name": "M. Silva"},
        )
    )
    location(
        await browser.submit(
            f"/applications/{application.id}/submit",
            {"submit_key": await submit_key(browser, application)},
        )
    )
    await application.refresh_from_db()
    assert application.status == "submitted"


async def test_a_team_too_small_from_an_ineligible_country_is_told_why(demo, browser):
    await sign_up(browser)
    await make_group(browser, country="us", with_bruno=False)
    application = await start(browser)
    await fill(browser, application)
    page = await browser.page(f"/applications/{application.id}/step/3")
    assert "A team must have between 2 and 15 members. Yours has 1." in page.text
    assert "Groups from US cannot apply to this call." in page.text
    response = await browser.submit(f"/applications/{application.id}/submit", {"submit_key": "k1"})
    assert (
        response.status_code == 400 and "Groups from US cannot apply to this call." in response.text
    )


# The form -------------------------------------------------------------------------------


async def test_step_one_and_two_errors_are_on_their_fields_and_every_value_is_kept(alice, settings):
    application = await start(alice)
    long_summary = " ".join(["word"] * 201)
    response = await alice.submit(
        f"/applications/{application.id}/step/1",
        {
            "title": "",
            "summary": long_summary,
            "language": "fr",
            "category": "999",
            "go": "next",
        },
    )
    assert response.status_code == 400
    assert "Saved, but some answers need your attention." in response.text
    assert field_error(response, "title") == "Error: Give your project a title."
    assert field_error(response, "summary") == "Error: Use at most 200 words (now 201)."
    assert field_error(response, "category") == "Error: Choose one of the categories."
    assert f">{long_summary}</textarea>" in response.text
    assert '<option value="fr" selected>' in response.text

    too_long = " ".join(["mot"] * 301)
    typed = {
        "needs": too_long,
        "youth_role": "We lead.",
        "participants": "many",
        "start_date": "next week",
        "website": "example.org",
        "approach": "hacking",
        "go": "next",
    }
    response = await alice.submit(f"/applications/{application.id}/step/2", typed)
    assert response.status_code == 400
    assert field_error(response, "needs") == "Error: Use at most 300 words (now 301)."
    assert field_error(response, "participants") == "Error: Enter a number, for example 12."
    assert (
        field_error(response, "start_date")
        == "Error: Enter a date as YYYY-MM-DD, for example 2026-03-01."
    )
    assert (
        field_error(response, "website") == "Error: Enter a full web address starting with https://"
    )
    assert field_error(response, "approach") == "Error: Choose one of the options."
    assert field_error(response, "youth_role") == ""
    assert f">{too_long}</textarea>" in response.text and ">We lead.</textarea>" in response.text
    for value in ("many", "next week", "example.org"):
        assert f'value="{value}"' in response.text, value

    # Nonsense numbers are refused, not stored (NaN is not JSON for PostgreSQL).
    response = await alice.submit(
        f"/applications/{application.id}/step/2", {**ANSWERS, "participants": "nan"}
    )
    assert response.status_code == 400 and field_error(response, "participants")
    response = await alice.submit(
        f"/applications/{application.id}/step/2", {**ANSWERS, "participants": "1e999"}
    )
    assert response.status_code == 400 and field_error(response, "participants")


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)  # SQLite's one write lock
async def test_a_save_that_waits_too_long_for_the_database_says_so_and_changes_nothing(
    alice, settings
):
    application = await start(alice)
    connections.get("default")._connection.busy_timeout_ms = 100  # instead of 5 s
    other_process = sqlite3.connect(settings.data_dir / "grants.sqlite3", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # another server process, writing at length
    step1 = {"title": "Renamed while busy", "summary": "Talks.", "language": "en", "go": "next"}
    try:
        response = await alice.submit(f"/applications/{application.id}/step/1", step1)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "The site is very busy right now. Nothing was changed by this request" in text_of(
        response
    )
    assert (await Application.get(id=application.id)).title == "Peer talks in Lisbon"
    location(
        await alice.submit(f"/applications/{application.id}/step/1", step1)
    )  # the same form, again
    assert (await Application.get(id=application.id)).title == "Renamed while busy"


async def test_a_draft_is_saved_at_every_step_and_resumed_in_another_session(alice, make_browser):
    application = await start(alice)
    category = await Category.filter(edition_id=application.edition_id).order_by("id").first()
    response = await alice.submit(
        f"/applications/{application.id}/step/1",
        {
            "title": "Peer talks, evening edition",
            "summary": "Talks in the evening.",
            "language": "en",
            "category": str(category.id),
            "go": "stay",
        },
    )
    assert location(response) == f"/applications/{application.id}/step/1"
    page = await alice.page(location(response))
    saved_at = re.search(r"Draft saved at (\d\d):(\d\d) Europe/Paris\.", page.text)
    assert saved_at, page.text[:3000]
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    assert abs(
        int(saved_at.group(1)) * 60 + int(saved_at.group(2)) - (paris.hour * 60 + paris.minute)
    ) in (0, 1, 1439)
    location(
        await alice.submit(
            f"/applications/{application.id}/step/2",
            {**ANSWERS, "needs": "Half written", "go": "stay"},
        )
    )

    elsewhere = await make_browser("198.51.100.77")
    await elsewhere.log_in("alice@example.org", PASSWORD)
    assert f"/applications/{application.id}/step/1" in (await elsewhere.page("/me")).text
    step1 = await elsewhere.page(f"/applications/{application.id}/step/1")
    assert (
        'value="Peer talks, evening edition"' in step1.text
        and ">Talks in the evening.</textarea>" in step1.text
    )
    assert f'<option value="{category.id}" selected>' in step1.text
    step2 = await elsewhere.page(f"/applications/{application.id}/step/2")
    assert ">Half written</textarea>" in step2.text and 'value="25"' in step2.text
    assert 'value="2026-09-01"' in step2.text and 'value="peer" checked' in step2.text


async def test_the_check_page_lists_every_problem_with_a_link_to_fix_it(alice):
    application = await start(alice)
    page = await alice.page(f"/applications/{application.id}/step/3")
    problems = {
        href: html.unescape(text)
        for href, text in re.findall(r'<li><a href="([^"#]+#[^"]+)">(.*?)</a></li>', page.text)
    }
    step1, step2 = (
        f"/applications/{application.id}/step/1",
        f"/applications/{application.id}/step/2",
    )
    assert problems == {
        f"{step1}#summary": "Write a short summary of your project.",
        f"{step1}#category": "Choose one of the categories.",
        **{
            f"{step2}#{key}": "This question needs an answer."
            for key in ("needs", "youth_role", "participants", "approach")
        },
    }
    assert 'name="submit_key"' not in page.text


# Uploads --------------------------------------------------------------------------------


async def test_a_pdf_is_accepted_and_downloadable_only_by_the_group(alice, make_browser, settings):
    application = await start(alice)
    await fill(alice, application, files={"workplan": ("plan.pdf", PDF, "application/pdf")})
    attachment = await Attachment.get(application=application)
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        "plan.pdf",
        "application/pdf",
        len(PDF),
    )
    url = f"/applications/{application.id}/files/{attachment.id}"
    assert url in (await alice.page(f"/applications/{application.id}/step/2")).text
    response = await alice.get(url)
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-disposition"].startswith("inline")  # a PDF opens in place
    assert response.headers["content-type"].startswith("application/pdf")

    mallory = await make_browser("192.0.2.66")
    await sign_up(mallory, "mallory@example.org", "Mallory")
    response = await mallory.get(url)
    assert response.status_code == 404 and PDF not in response.content


@pytest.mark.parametrize(
    "program", [b"MZ\x90\x00\x03" + bytes(200), b"\x7fELF\x02\x01\x01" + bytes(200)]
)
async def test_a_program_named_like_a_pdf_is_refused_and_not_kept(alice, settings, program):
    application = await start(alice)
    before = uploads(settings)
    response = await alice.submit(
        f"/applications/{application.id}/step/2",
        ANSWERS,
        files={"workplan": ("plan.pdf", program, "application/pdf")},
    )
    assert response.status_code == 400
    assert (
        "This file is not one of the allowed types (PDF, JPEG or PNG), whatever its name says."
        in field_error(response, "workplan")
    )
    assert await Attachment.all().count() == 0
    assert uploads(settings) == before


async def test_files_over_the_size_limits_are_refused_without_leftovers(alice, settings):
    application = await start(alice)
    edition = await Edition.get(slug="epp-2027")
    edition.max_file_mb, edition.max_total_mb = 1, 1
    await edition.save()
    big = PDF + b"0" * int(1.2 * 1024 * 1024)
    response = await alice.submit(
        f"/applications/{application.id}/step/2",
        ANSWERS,
        files={"workplan": ("big.pdf", big, "application/pdf")},
    )
    assert response.status_code == 400
    assert "This file is larger than 1 MB." in field_error(response, "workplan")
    assert await Attachment.all().count() == 0
    assert uploads(settings) == []  # neither the file nor a .part

    half = PDF + b"0" * (600 * 1024)
    location(
        await alice.submit(
            f"/applications/{application.id}/step/2",
            ANSWERS,
            files={"workplan": ("one.pdf", half, "application/pdf")},
        )
    )
    response = await alice.submit(
        f"/applications/{application.id}/step/2",
        ANSWERS,
        files={"workplan": ("two.pdf", half, "application/pdf")},
    )
    assert response.status_code == 400
    assert "All files together may not exceed 1 MB. Remove a file first." in field_error(
        response, "workplan"
    )
    assert await Attachment.filter(application=application).count() == 1
    assert len(uploads(settings)) == 1 and not any(
        name.endswith(".part") for name in uploads(settings)
    )


# Submitting -----------------------------------------------------------------------------


async def test_the_deadline_is_judged_by_the_server_clock(alice, settings):
    on_time = await start(alice, "On time")
    late = await start(alice, "Late")
    for application in (on_time, late):
        await fill(alice, application)
    keys = {a.id: await submit_key(alice, a) for a in (on_time, late)}

    await set_deadline(datetime.now(UTC) + timedelta(seconds=2))
    location(
        await alice.submit(f"/applications/{on_time.id}/submit", {"submit_key": keys[on_time.id]})
    )

    edition = await set_deadline(datetime.now(UTC) - timedelta(seconds=1))
    answers_before = await submission.answers_by_key(late)
    response = await alice.submit(f"/applications/{late.id}/submit", {"submit_key": keys[late.id]})
    assert response.status_code == 400
    closed = edition.closes_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    assert (
        f"The deadline has passed: applications closed on {closed} Europe/Paris. "
        "Your draft is kept." in response.text
    )
    await late.refresh_from_db()
    assert late.status == "draft" and late.submitted_at is None and late.content_hash == ""
    assert await submission.answers_by_key(late) == answers_before

    # The submitted one can no longer be withdrawn either.
    response = await alice.submit(f"/applications/{on_time.id}/withdraw")
    assert (
        response.status_code == 400
        and "Applications can be withdrawn only until the deadline." in response.text
    )
    assert (
        f"Receipt: {on_time.reference}" in response.text
    )  # told on the application's own page, not a bare error page
    assert (
        "Withdraw the application" not in response.text
    )  # and no longer offered a button that cannot work
    await on_time.refresh_from_db()
    assert on_time.status == "submitted"


async def test_a_late_and_incomplete_application_is_told_about_the_deadline_not_the_gaps(alice):
    application = await start(alice, "Late and unfinished")
    await fill(alice, application)
    key = await submit_key(alice, application)  # the check page, open in a tab while...
    await alice.submit(
        f"/applications/{application.id}/step/1",
        {  # ...another tab empties a field
            "title": "Late and unfinished",
            "summary": "",
            "language": "en",
            "go": "save",
        },
    )
    assert (await Application.get(id=application.id)).summary == ""
    edition = await set_deadline(datetime.now(UTC) - timedelta(seconds=1))
    response = await alice.submit(f"/applications/{application.id}/submit", {"submit_key": key})
    assert response.status_code == 400
    closed = edition.closes_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    assert (
        f"The deadline has passed: applications closed on {closed} Europe/Paris." in response.text
    )
    assert "not complete yet" not in response.text
    await application.refresh_from_db()
    assert application.status == "draft"


async def test_the_deadline_is_shown_in_the_calls_time_zone(alice):
    application = await start(alice)
    closes_at = datetime(2031, 1, 15, 12, 30, tzinfo=UTC)
    await set_deadline(closes_at, timezone="Asia/Almaty")
    local = closes_at.astimezone(ZoneInfo("Asia/Almaty"))
    assert local.hour != 12
    for url in ("/calls/epp-2027/apply", f"/applications/{application.id}/step/1"):
        page = await alice.page(url)
        assert f"Deadline: {local:%Y-%m-%d %H:%M} Asia/Almaty" in page.text, url


async def test_submitting_twice_gives_one_submission_and_the_same_receipt(alice, settings, smtp):
    application = await start(alice)
    await fill(alice, application, files={"workplan": ("plan.pdf", PDF, "application/pdf")})
    key = await submit_key(alice, application)
    first = location(
        await alice.submit(f"/applications/{application.id}/submit", {"submit_key": key})
    )
    await application.refresh_from_db()
    receipt = (application.reference, application.submitted_at, application.content_hash)
    second = location(
        await alice.submit(f"/applications/{application.id}/submit", {"submit_key": key})
    )
    assert first == second == f"/applications/{application.id}/receipt"
    await application.refresh_from_db()
    assert (application.reference, application.submitted_at, application.content_hash) == receipt
    assert await StatusChange.filter(application=application, to_status="submitted").count() == 1
    assert await OutboxEmail.filter(subject__contains=application.reference).count() == 1

    response = await alice.submit(
        f"/applications/{application.id}/submit", {"submit_key": "another-key"}
    )
    assert (
        response.status_code == 400
        and "This application has already been submitted." in response.text
    )

    # The content is frozen: the form posts only lead back to the receipt.
    for step, data in (
        (1, {"title": "Changed", "summary": "Changed", "language": "en"}),
        (2, {**ANSWERS, "needs": "Changed"}),
    ):
        response = await alice.submit(f"/applications/{application.id}/step/{step}", data)
        assert location(response) == f"/applications/{application.id}/receipt"
    await application.refresh_from_db()
    assert application.title == "Peer talks in Lisbon"
    content = await submission.load_content(application)
    assert application.content_hash == receipt[2] == submission.content_hash(application, content)

    # The receipt by mail: reference, time, fingerprint, and a link that opens the receipt.
    await send_pending(settings)
    [mail] = [m for m in smtp.to("alice@example.org") if application.reference in m["Subject"]]
    body = mail.get_payload(decode=True).decode()
    assert (
        application.content_hash in body
        and in_zone(application.submitted_at, "Europe/Paris", seconds=True) in body
    )
    path = re.search(re.escape(settings.base_url) + r"(/\S+)", body).group(1)
    assert path == f"/applications/{application.id}/receipt"
    page = await alice.page(path)
    assert (
        page.status_code == 200
        and application.content_hash in page.text
        and application.reference in page.text
    )


async def test_withdrawing_before_the_deadline_is_confirmed(alice, settings, smtp):
    application = await start(alice)
    await fill(alice, application)
    location(
        await alice.submit(
            f"/applications/{application.id}/submit",
            {"submit_key": await submit_key(alice, application)},
        )
    )
    assert (
        "Withdraw the application"
        in (await alice.page(f"/applications/{application.id}/receipt")).text
    )
    assert location(await alice.submit(f"/applications/{application.id}/withdraw")) == "/me"
    page = await alice.page("/me")
    assert f"Application {application.reference} withdrawn." in page.text
    await application.refresh_from_db()
    assert application.status == "withdrawn"
    assert await StatusChange.filter(application=application).order_by("id").values_list(
        "to_status", flat=True
    ) == ["draft", "submitted", "withdrawn"]
    await send_pending(settings)
    assert any(
        m["Subject"] == f"Application {application.reference} withdrawn"
        for m in smtp.to("alice@example.org")
    )
    response = await alice.submit(f"/applications/{application.id}/withdraw")
    assert (
        response.status_code == 400
        and "This application can no longer be withdrawn." in response.text
    )


# The dashboard --------------------------------------------------------------------------


async def test_the_dashboard_shows_every_application_with_status_history_and_messages(alice):
    draft = await start(alice, "Still a draft")
    sent = await start(alice, "Already sent")
    await fill(alice, sent)
    location(
        await alice.submit(
            f"/applications/{sent.id}/submit", {"submit_key": await submit_key(alice, sent)}
        )
    )
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    await ApplicationMessage.create(
        application=sent, author=organiser, body="Please send us your budget."
    )

    page = await alice.page("/me")
    for application in (draft, sent):
        assert application.title in page.text and application.reference in page.text
    cards = dict(
        re.findall(r'<h3>(.*?)</h3>(.*?)</li>\s*(?=<li class="card">|</ul>)', page.text, re.S)
    )
    assert (
        "Draft" in cards["Still a draft"]
        and f"/applications/{draft.id}/step/1" in cards["Still a draft"]
    )
    assert (
        "Submitted" in cards["Already sent"]
        and f"/applications/{sent.id}/receipt" in cards["Already sent"]
    )
    assert cards["Already sent"].count("<time") == 2  # draft, then submitted
    assert f"<strong>{sent.reference}</strong>: Please send us your budget." in page.text
    assert "Lisbon Peer Educators" in page.text
