"""Every sensitive action leaves an audit event: editing answers, adding, downloading and
removing a file, an organiser reading an application, downloading one's data, erasure."""

from __future__ import annotations

import json
import re

from grants.demo import DEMO_PASSWORD
from grants.models import Application, Attachment, AuditEvent, Category, User
from tests.web.pages import ANSWERS, PASSWORD, PDF

IP = "203.0.113.7"  # the `browser` fixture's address


def moved(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"]


async def alice_with_a_draft(browser) -> tuple[User, Application]:
    await browser.page("/signup")
    moved(
        await browser.submit(
            "/signup",
            {"email": "alice@example.org", "display_name": "Alice", "password": PASSWORD},
        )
    )
    await browser.page("/me")
    moved(
        await browser.submit(
            "/groups/new",
            {
                "name": "Lisbon Peer Educators",
                "kind": "youth_organisation",
                "country": "pt",
                "organisation": "Escola",
                "lead_first_name": "Alice",
                "lead_age_band": "18_21",
            },
        )
    )
    page = await browser.page("/calls/epp-2027/apply")
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    moved(
        await browser.submit(
            "/calls/epp-2027/apply", {"group_id": group_id, "title": "Talks", "language": "en"}
        )
    )
    user = await User.get(email="alice@example.org")
    return user, await Application.get(title="Talks")


async def events(action: str) -> list[AuditEvent]:
    return await AuditEvent.filter(action=action).order_by("id")


async def test_editing_answers_and_adding_downloading_removing_a_file_are_audited(demo, browser):
    alice, application = await alice_with_a_draft(browser)
    category = await Category.filter(edition_id=application.edition_id).first()
    moved(
        await browser.submit(
            f"/applications/{application.id}/step/1",
            {
                "title": "Talks",
                "summary": "Evening talks.",
                "language": "en",
                "category": str(category.id),
            },
        )
    )
    moved(
        await browser.submit(
            f"/applications/{application.id}/step/2",
            ANSWERS,
            files={"workplan": ("plan.pdf", PDF, "application/pdf")},
        )
    )
    edits = await events("application.edit")
    assert [(e.actor_id, e.object_id, e.after["step"], e.ip) for e in edits] == [
        (alice.id, str(application.id), 1, IP),
        (alice.id, str(application.id), 2, IP),
    ]
    assert "needs" in edits[1].after["answers"]
    (upload,) = await events("attachment.upload")
    attachment = await Attachment.get(application=application)
    assert (upload.after["attachment"], upload.ip) == (attachment.id, IP)

    response = await browser.get(f"/applications/{application.id}/files/{attachment.id}")
    assert response.status_code == 200 and response.content == PDF
    (download,) = await events("attachment.download")
    assert (download.actor_id, download.after, download.ip) == (
        alice.id,
        {"attachment": attachment.id, "role": "group"},
        IP,
    )

    moved(
        await browser.submit(
            f"/applications/{application.id}/step/2",
            {**ANSWERS, "remove_attachment": str(attachment.id)},
        )
    )
    assert not await Attachment.filter(id=attachment.id).exists()
    (removal,) = await events("attachment.remove")
    assert (removal.actor_id, removal.object_id, removal.ip) == (alice.id, str(application.id), IP)
    assert removal.before == {"attachment": attachment.id, "sha256": attachment.sha256}


async def test_a_refused_download_is_not_recorded_as_a_download(demo, browser, make_browser):
    _alice, application = await alice_with_a_draft(browser)
    response = await browser.get(f"/applications/{application.id}/files/999999")
    assert response.status_code == 404
    assert await events("attachment.download") == []


async def test_an_organiser_reading_an_application_is_audited(demo, browser):
    await browser.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    application = await Application.get(reference="EPP-2027-0001")
    response = await browser.get(f"/manage/applications/{application.id}")
    assert response.status_code == 200 and application.title in response.text
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    (read,) = await events("application.read")
    assert (read.actor_id, read.object_type, read.object_id, read.ip) == (
        organiser.id,
        "application",
        str(application.id),
        IP,
    )


async def test_downloading_ones_data_is_audited_and_not_cached(demo, browser):
    alice, application = await alice_with_a_draft(browser)
    assert "/me/data" in (await browser.page("/me")).text
    response = await browser.get("/me/data")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.content)
    assert data["account"]["email"] == "alice@example.org"
    assert [a["reference"] for a in data["applications"]] == [application.reference]
    (export,) = await events("privacy.export")
    assert (export.actor_id, export.ip) == (alice.id, IP)


async def test_erasing_ones_account_over_http(demo, browser, make_browser):
    alice, application = await alice_with_a_draft(browser)
    elsewhere = await make_browser("198.51.100.5")  # Alice signed in on another device too
    await elsewhere.log_in("alice@example.org", PASSWORD)
    assert (await elsewhere.get("/me")).status_code == 200
    page = await browser.page("/me/erase")
    assert "cannot be undone" in page.text
    refused = await browser.submit("/me/erase", {"password": "wrong", "confirm": "yes"})
    assert refused.status_code == 400 and "The password is wrong" in refused.text
    assert (await User.get(id=alice.id)).erased_at is None

    done = await browser.submit("/me/erase", {"password": PASSWORD, "confirm": "yes"})
    assert done.status_code == 200 and "Your account has been erased" in done.text
    assert (await browser.get("/me")).headers["location"].startswith("/login")
    assert (await elsewhere.get("/me")).headers["location"].startswith("/login")
    again = await make_browser("198.51.100.4")
    await again.page("/login")
    response = await again.submit("/login", {"email": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert not await Application.filter(id=application.id).exists()  # her own draft
    (erasure,) = await events("account.erase")
    assert (erasure.actor_id, erasure.after["by"]) == (alice.id, "self")


async def test_an_organiser_erases_a_person_on_request(demo, browser):
    await browser.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    assert "Erase a person" in (await browser.page("/manage/epp-2027/erase")).text
    unknown = await browser.submit(
        "/manage/epp-2027/erase", {"email": "nobody@example.org", "password": DEMO_PASSWORD}
    )
    assert unknown.status_code == 400 and "nobody@example.org" in unknown.text  # kept typed
    juror = await User.get(email="juror4@demo.prevention-prize.eu")
    assert juror.display_name in (await browser.page("/manage/epp-2027/jury")).text
    moved(
        await browser.submit(
            "/manage/epp-2027/erase", {"email": juror.email, "password": DEMO_PASSWORD}
        )
    )
    assert (await User.get(id=juror.id)).erased_at is not None
    desk = (await browser.page("/manage/epp-2027/jury")).text
    assert juror.display_name not in desk and "Former juror" in desk
    await browser.get("/language?lang=fr")
    desk = (await browser.page("/manage/epp-2027/jury")).text
    assert "Ancien juré" in desk and "Former juror" not in desk  # told in the reader's language
    (erasure,) = await events("account.erase")
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    assert (erasure.actor_id, erasure.object_id, erasure.ip) == (organiser.id, str(juror.id), IP)
