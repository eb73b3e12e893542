"""Object-level permissions, told as stories: Mallory has no business anywhere."""

from __future__ import annotations

from grants.demo import DEMO_PASSWORD
from grants.models import Application, Assignment, Edition, Panel, User


async def mallory(make_browser):
    browser = await make_browser("192.0.2.66")
    await browser.page("/signup")
    await browser.submit(
        "/signup",
        {"email": "mallory@example.org", "display_name": "Mallory", "password": "mallory-password"},
    )
    await browser.page("/me")
    return browser


async def test_an_applicant_cannot_reach_another_groups_application(demo, make_browser):
    intruder = await mallory(make_browser)
    someone_elses = await Application.filter(reference="EPP-2027-0001").first()
    for url in (
        f"/applications/{someone_elses.id}/receipt",
        f"/applications/{someone_elses.id}/step/1",
    ):
        response = await intruder.get(url)
        assert response.status_code == 404, url
        assert someone_elses.title not in response.text
    response = await intruder.submit(f"/applications/{someone_elses.id}/withdraw")
    assert response.status_code == 404
    await someone_elses.refresh_from_db()
    assert someone_elses.status == "submitted"


async def test_only_organisers_reach_the_management_pages(demo, make_browser):
    intruder = await mallory(make_browser)
    application = await Application.filter(reference="EPP-2027-0002").first()
    for url in (
        "/manage/epp-2027",
        "/manage/epp-2027/ranking",
        f"/manage/applications/{application.id}",
    ):
        response = await intruder.get(url)
        assert response.status_code == 403, url
        assert "organisers" in response.text
    response = await intruder.submit(
        f"/manage/applications/{application.id}/screen", {"decision": "ineligible"}
    )
    assert response.status_code == 403
    await application.refresh_from_db()
    assert application.status == "submitted"

    juror = await make_browser("192.0.2.67")
    await juror.log_in("juror1@demo.prevention-prize.eu", DEMO_PASSWORD)
    assert (await juror.get("/manage/epp-2027")).status_code == 403


async def test_a_juror_sees_and_scores_only_assigned_applications(demo, make_browser):
    edition = await Edition.get(slug="epp-2027")
    panel = await Panel.filter(edition=edition).first()
    one, two = await User.filter(
        email__in=["juror1@demo.prevention-prize.eu", "juror2@demo.prevention-prize.eu"]
    ).order_by("email")
    application = await Application.filter(reference="EPP-2027-0001").first()
    theirs = await Assignment.create(panel=panel, juror=two, application=application)

    juror = await make_browser("192.0.2.68")
    await juror.log_in(one.email, DEMO_PASSWORD)
    response = await juror.get(f"/jury/reviews/{theirs.id}")
    assert response.status_code == 404
    assert application.title not in response.text
    response = await juror.submit(f"/jury/reviews/{theirs.id}", {"action": "submit"})
    assert response.status_code == 404
    assert application.title not in (await juror.get("/jury")).text


async def test_anonymous_visitors_are_sent_to_log_in(browser):
    response = await browser.get("/me")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/me"
