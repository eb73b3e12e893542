"""The organisers' jury page over HTTP on both databases: pins, removals, progress, the result
of a run, impossible assignments explained, and nobody else gets in."""

from __future__ import annotations

import html
import re

from grants.demo import DEMO_PASSWORD
from grants.models import Application, Assignment, Edition, Panel, PanelMember, User
from tests.web.pages import location

ORGANISER = "organiser@demo.prevention-prize.eu"


async def claire_with(make_browser, references: list[str], *, k: int = 2):
    edition = await Edition.get(slug="epp-2027")
    edition.reviews_per_application = k
    await edition.save()
    claire = await make_browser("198.51.100.2")
    await claire.log_in(ORGANISER, DEMO_PASSWORD)
    for application in await Application.filter(reference__in=references):
        location(
            await claire.submit(
                f"/manage/applications/{application.id}/screen", {"decision": "eligible"}
            )
        )
    return claire, edition


async def member(email_local: str) -> PanelMember:
    return await PanelMember.get(user__email=f"{email_local}@demo.prevention-prize.eu")


async def test_organiser_pins_and_removes_assignments_with_clear_refusals(demo, make_browser):
    claire, edition = await claire_with(make_browser, ["EPP-2027-0001", "EPP-2027-0009"])
    anna, olena = await member("juror1"), await member("juror3")

    response = await claire.submit(
        "/manage/epp-2027/jury/pin", {"member_id": str(anna.id), "reference": "EPP-2027-0009"}
    )
    assert response.status_code == 400
    assert (
        "Anna Weber cannot review EPP-2027-0009" in response.text
        and "does not read" in response.text
    )
    location(
        await claire.submit(
            "/manage/epp-2027/jury/forbid",
            {"member_id": str(olena.id), "reference": "EPP-2027-0001"},
        )
    )
    response = await claire.submit(
        "/manage/epp-2027/jury/pin", {"member_id": str(olena.id), "reference": "EPP-2027-0001"}
    )
    assert response.status_code == 400 and "conflict of interest" in response.text
    response = await claire.submit(
        "/manage/epp-2027/jury/pin", {"member_id": str(anna.id), "reference": "EPP-2027-0404"}
    )
    assert (
        response.status_code == 400
        and "No application of this call has this reference" in response.text
    )
    draft = await Application.get(reference="EPP-2027-0002")  # submitted, not screened
    response = await claire.submit(
        "/manage/epp-2027/jury/pin", {"member_id": str(anna.id), "reference": draft.reference}
    )
    assert response.status_code == 400 and "screen this application first" in response.text

    location(
        await claire.submit(
            "/manage/epp-2027/jury/pin", {"member_id": str(anna.id), "reference": "epp-2027-0001"}
        )
    )
    pinned = await Assignment.get(juror_id=anna.user_id, application__reference="EPP-2027-0001")  # type: ignore[attr-defined]
    assert pinned.pinned
    response = await claire.submit(
        "/manage/epp-2027/jury/pin", {"member_id": str(anna.id), "reference": "EPP-2027-0001"}
    )
    assert response.status_code == 400 and "already assigned" in response.text

    # A run keeps the pin and completes the rest.
    expert = await Panel.get(slug="expert-jury")
    location(await claire.submit("/manage/epp-2027/assign", {"panel_id": str(expert.id)}))
    assert await Assignment.exists(id=pinned.id)
    assert await Assignment.filter(application__reference="EPP-2027-0001").count() == 2

    # A not-started assignment can be removed; a started one cannot.
    location(
        await claire.submit("/manage/epp-2027/jury/unassign", {"assignment_id": str(pinned.id)})
    )
    assert not await Assignment.exists(id=pinned.id)
    other = (
        await Assignment.filter(application__reference="EPP-2027-0001")
        .first()
        .prefetch_related("juror")
    )
    juror = await make_browser("198.51.100.30")
    await juror.log_in(other.juror.email, DEMO_PASSWORD)
    location(
        await juror.submit(
            f"/jury/reviews/{other.id}", {"overall_comment": "Started.", "action": "save"}
        )
    )
    response = await claire.submit(
        "/manage/epp-2027/jury/unassign", {"assignment_id": str(other.id)}
    )
    assert response.status_code == 400 and "already started" in response.text
    assert await Assignment.exists(id=other.id)


async def test_the_jury_page_shows_progress_and_the_run_its_loads(demo, make_browser):
    claire, edition = await claire_with(
        make_browser, ["EPP-2027-0001", "EPP-2027-0002", "EPP-2027-0003"]
    )
    page = await claire.page("/manage/epp-2027/jury")
    assert page.status_code == 200
    waiting = re.search(r'<ul id="unassigned">(.*?)</ul>', page.text, re.S).group(1)
    assert all(ref in waiting for ref in ("EPP-2027-0001", "EPP-2027-0002", "EPP-2027-0003"))

    expert = await Panel.get(slug="expert-jury")
    location(await claire.submit("/manage/epp-2027/assign", {"panel_id": str(expert.id)}))
    overview = await claire.page("/manage/epp-2027")
    flash = re.search(r'<div class="flash" role="status">(.*?)</div>', overview.text, re.S).group(1)
    assert "Anna Weber" in flash and "Sophie Martin" in flash
    assert re.search(r"\d", flash)

    assignment = (
        await Assignment.filter(application__reference="EPP-2027-0001")
        .first()
        .prefetch_related("juror")
    )
    juror = await make_browser("198.51.100.31")
    await juror.log_in(assignment.juror.email, DEMO_PASSWORD)
    location(
        await juror.submit(
            f"/jury/reviews/{assignment.id}", {"overall_comment": "Half way.", "action": "save"}
        )
    )
    page = await claire.page("/manage/epp-2027/jury")
    assert '<ul id="unassigned">' not in page.text
    row = re.search(
        rf"<td>{re.escape(html.escape(assignment.juror.display_name))}.*?</tr>", page.text, re.S
    ).group(0)
    cells = re.findall(r"<td>(\d+)</td>", row)
    assigned = await Assignment.filter(juror=assignment.juror).count()
    assert cells[:3] == [str(assigned), "1", "0"]  # assigned, drafts, submitted
    app_row = re.search(r'<tr id="app-EPP-2027-0001">.*?</tr>', page.text, re.S).group(0)
    assert "0 of 2" in app_row


async def test_an_impossible_assignment_explains_why_in_the_organisers_language(demo, make_browser):
    claire, edition = await claire_with(make_browser, ["EPP-2027-0009", "EPP-2027-0010"], k=2)
    for local in ("juror5", "juror6"):
        youth_member = await member(local)
        youth_member.languages = [code for code in youth_member.languages if code != "ru"]
        await youth_member.save()
    await claire.page("/language?lang=fr&next=/manage/epp-2027")
    youth = await Panel.get(slug="youth-jury")
    response = await claire.submit("/manage/epp-2027/assign", {"panel_id": str(youth.id)})
    assert response.status_code == 400
    assert "La répartition est impossible avec le comité actuel" in response.text
    reasons = re.search(r'<ul class="reasons">(.*?)</ul>', response.text, re.S).group(1)
    assert "<li>EPP-2027-0009 has no eligible juror of the 2 required</li>" in reasons
    assert "<li>EPP-2027-0010 has no eligible juror of the 2 required</li>" in reasons
    assert not await Assignment.exists()

    edition.reviews_per_application = 3
    await edition.save()
    response = await claire.submit("/manage/epp-2027/assign", {"panel_id": str(youth.id)})
    assert response.status_code == 400
    assert "reviews_per_application 3 exceeds the number of jurors (2)" in response.text


async def test_jury_management_refuses_jurors_and_applicants(demo, make_browser):
    expert = await Panel.get(slug="expert-jury")
    anna = await member("juror1")
    for number, email in enumerate(
        ["juror1@demo.prevention-prize.eu", "applicant1@demo.prevention-prize.eu"]
    ):
        browser = await make_browser(f"198.51.100.{120 + number}")
        await browser.log_in(email, DEMO_PASSWORD)
        assert (await browser.get("/manage/epp-2027/jury")).status_code == 403
        for action, data in [
            ("pin", {"member_id": str(anna.id), "reference": "EPP-2027-0001"}),
            ("forbid", {"member_id": str(anna.id), "reference": "EPP-2027-0001"}),
            ("remind", {}),
            ("close", {}),
            ("unassign", {"assignment_id": "1"}),
            ("invite", {"email": "x@example.org", "panel_id": str(expert.id)}),
        ]:
            response = await browser.submit(f"/manage/epp-2027/jury/{action}", data)
            assert response.status_code == 403, (email, action)
        assert (
            await browser.submit("/manage/epp-2027/assign", {"panel_id": str(expert.id)})
        ).status_code == 403
    edition = await Edition.get(slug="epp-2027")
    assert edition.status == "open"
    assert not await Assignment.exists()
    assert await User.filter(email="x@example.org").count() == 0
