"""One honest journey through the whole life of a call, over HTTP, on both databases."""

from __future__ import annotations

import re

from grants.demo import DEMO_PASSWORD
from grants.mail import send_pending
from grants.models import Application, Assignment, AuditEvent, Edition, User
from tests.web.pages import location

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_a_call_from_application_to_published_winner(
    settings, demo, smtp, browser, make_browser
):
    # Alice signs up and is logged in.
    await browser.page("/signup")
    response = await browser.submit(
        "/signup",
        {
            "email": "alice@example.org",
            "display_name": "Alice",
            "password": "a long enough password",
        },
    )
    assert location(response) == "/me"
    await browser.page("/me")

    # She creates her group and adds a member (Bruno is 16: she, an adult, records his
    # guardian's consent).
    response = await browser.submit(
        "/groups/new",
        {
            "name": "Lisbon Peer Educators",
            "kind": "youth_organisation",
            "country": "pt",
            "organisation": "Escola Secundária",
            "lead_first_name": "Alice",
            "lead_age_band": "18_21",
        },
    )
    group_url = location(response)
    await browser.submit(group_url, {"action": "add", "first_name": "Bruno", "age_band": "16_17"})
    page = await browser.page(group_url)
    assert "Record consent" in page.text
    bruno_id = re.search(r'name="member_id" value="(\d+)"', page.text).group(1)
    response = await browser.submit(
        group_url, {"action": "consent", "member_id": bruno_id, "guardian_name": "Maria Silva"}
    )
    assert location(response) == group_url

    # She starts an application, fills in both steps and uploads a PDF.
    page = await browser.page("/calls/epp-2027/apply")
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    response = await browser.submit(
        "/calls/epp-2027/apply",
        {"group_id": group_id, "title": "Peer talks in Lisbon", "language": "en"},
    )
    step1 = location(response)
    application = await Application.get(title="Peer talks in Lisbon")
    edition = await Edition.get(slug="epp-2027")
    category = await edition.categories.all().first()
    response = await browser.submit(
        step1,
        {
            "title": "Peer talks in Lisbon",
            "summary": "Students run evening talks about cannabis myths.",
            "language": "en",
            "category": str(category.id),
            "publish_consent": "yes",
            "go": "next",
        },
    )
    step2 = location(response)
    answers = {
        "needs": "A survey in our school.",
        "youth_role": "We plan and lead every talk.",
        "participants": "25",
        "approach": "peer",
        "start_date": "2026-09-01",
        "go": "next",
    }
    response = await browser.submit(
        step2, answers, files={"workplan": ("plan.pdf", PDF, "application/pdf")}
    )
    step3 = location(response)
    page = await browser.page(step3)
    assert "Before you can submit" not in page.text, page.text
    submit_key = re.search(r'name="submit_key" value="([^"]+)"', page.text).group(1)
    response = await browser.submit(
        f"/applications/{application.id}/submit", {"submit_key": submit_key}
    )
    receipt_url = location(response)
    receipt = await browser.page(receipt_url)
    await application.refresh_from_db()
    assert application.status == "submitted" and len(application.content_hash) == 64
    assert application.reference in receipt.text and application.content_hash in receipt.text

    # The receipt arrives by mail, through the outbox and a real SMTP server.
    assert await send_pending(settings) >= 2
    receipts = [m for m in smtp.to("alice@example.org") if application.reference in m["Subject"]]
    assert receipts and application.content_hash in receipts[0].get_payload(decode=True).decode()

    # Claire, the organiser, screens it eligible and assigns the expert jury.
    claire = await make_browser("198.51.100.2")
    await claire.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    page = await claire.page("/manage/epp-2027")
    assert application.reference in page.text
    response = await claire.submit(
        f"/manage/applications/{application.id}/screen", {"decision": "eligible"}
    )
    assert location(response) == "/manage/epp-2027"
    panel_id = re.search(r'name="panel_id" value="(\d+)"', page.text).group(1)
    response = await claire.submit("/manage/epp-2027/assign", {"panel_id": panel_id})
    assert location(response) == "/manage/epp-2027"
    assignments = await Assignment.filter(application=application).prefetch_related("juror")
    assert len(assignments) == edition.reviews_per_application
    assert len({a.juror_id for a in assignments}) == len(assignments)

    # Each assigned juror scores it on the edition's rubric.
    from scoring import get_rubric

    rubric = get_rubric(edition.rubric_name)
    for number, assignment in enumerate(assignments):
        juror = await make_browser(f"198.51.100.{10 + number}")
        await juror.log_in(assignment.juror.email, DEMO_PASSWORD)
        listing = await juror.page("/jury")
        assert application.title in listing.text
        form = await juror.page(f"/jury/reviews/{assignment.id}")
        assert "Lisbon Peer Educators" not in form.text  # blind review hides the group
        scores = {f"score_{c.id}": str(c.scale.max - number) for c in rubric.criteria}
        scores |= {
            f"comment_{c.id}": "Clear and well argued."
            for c in rubric.criteria
            if c.comment_required
        }
        response = await juror.submit(
            f"/jury/reviews/{assignment.id}",
            {**scores, "overall_comment": "Good.", "action": "submit"},
        )
        assert location(response) == f"/jury/reviews/{assignment.id}"

    # Claire sees the ranking, records the award and publishes.
    ranking = await claire.page("/manage/epp-2027/ranking")
    assert application.reference in ranking.text
    response = await claire.submit(
        "/manage/epp-2027/ranking",
        {
            "action": "award",
            "reference": application.reference,
            "title": "First prize",
            "position": "1",
            "amount_eur": "500",
            "citation": "Young people lead every step.",
        },
    )
    assert location(response) == "/manage/epp-2027/ranking"

    # Before publication the winners page shows nothing (embargo).
    public = await make_browser("192.0.2.50")
    assert "Peer talks in Lisbon" not in (await public.page("/calls/epp-2027/winners")).text
    response = await claire.submit("/manage/epp-2027/ranking", {"action": "publish"})
    assert location(response) == "/calls/epp-2027/winners"

    winners = await public.page("/calls/epp-2027/winners")
    assert winners.status_code == 200
    assert "Peer talks in Lisbon" in winners.text and "Lisbon Peer Educators" in winners.text
    assert (
        "Alice" not in winners.text and "Bruno" not in winners.text
    )  # minors' names never published
    await application.refresh_from_db()
    assert application.status == "awarded"

    # Every sensitive step left an audit trail.
    actions = set(await AuditEvent.all().values_list("action", flat=True))
    assert {
        "account.signup",
        "application.submit",
        "application.screen",
        "assignment.run",
        "review.submit",
        "award.record",
        "edition.publish",
    } <= actions
    assert await User.filter(email="alice@example.org").count() == 1
