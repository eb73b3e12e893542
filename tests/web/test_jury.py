"""The jury's side of a call, over HTTP on both databases: conflicts of interest, blind review,
the discussion after scoring, bids, reminders, profiles and invitations."""

from __future__ import annotations

import html
import re

from grants.demo import DEMO_PASSWORD
from grants.mail import send_pending
from grants.models import (
    Application,
    Assignment,
    AuditEvent,
    Conflict,
    Edition,
    GroupMember,
    Panel,
    PanelMember,
    Review,
    User,
)
from scoring import get_rubric
from tests.web.pages import location

ORGANISER = "organiser@demo.prevention-prize.eu"


def juror_email(number: int) -> str:
    return f"juror{number}@demo.prevention-prize.eu"


async def person(make_browser, email: str, ip: str):
    browser = await make_browser(ip)
    await browser.log_in(email, DEMO_PASSWORD)
    return browser


async def prepare(
    make_browser, *, references: list[str] | None = None, k: int = 2, blind: bool = True
):
    """Claire screens the given applications (all submitted ones by default) eligible."""
    edition = await Edition.get(slug="epp-2027")
    edition.reviews_per_application = k
    edition.blind_review = blind
    await edition.save()
    claire = await person(make_browser, ORGANISER, "198.51.100.2")
    query = Application.filter(edition=edition, status="submitted")
    if references:
        query = query.filter(reference__in=references)
    for application in await query:
        response = await claire.submit(
            f"/manage/applications/{application.id}/screen", {"decision": "eligible"}
        )
        assert location(response) == "/manage/epp-2027"
    return claire, edition


async def assign(claire, panel_slug: str):
    panel = await Panel.get(slug=panel_slug)
    return await claire.submit("/manage/epp-2027/assign", {"panel_id": str(panel.id)})


async def score_form(
    edition, *, comment: str = "Clear and well argued.", action: str = "submit"
) -> dict:
    rubric = get_rubric(edition.rubric_name)
    scores = {f"score_{c.id}": str(c.scale.max) for c in rubric.criteria}
    scores |= {f"comment_{c.id}": comment for c in rubric.criteria}
    return {**scores, "overall_comment": comment, "action": action}


async def test_conflicted_or_language_mismatched_pairs_are_never_assigned_nor_shown(
    demo, make_browser
):
    claire, edition = await prepare(make_browser)
    anna = await User.get(email=juror_email(1))
    cork = await Application.get(reference="EPP-2027-0001")
    member = await PanelMember.get(user=anna)
    response = await claire.submit(
        "/manage/epp-2027/jury/forbid",
        {
            "member_id": str(member.id),
            "reference": "epp-2027-0001",
            "reason": "She mentored this group.",
        },
    )
    assert location(response) == "/manage/epp-2027/jury"
    assert (await Conflict.get(juror=anna, application=cork)).source == "organiser"

    assert location(await assign(claire, "expert-jury")) == "/manage/epp-2027"
    assignments = await Assignment.all().prefetch_related(
        "application", "application__group", "juror"
    )
    members = {m.user_id: m for m in await PanelMember.all()}
    assert len(assignments) == 12 * 2
    for a in assignments:
        assert a.application.language in members[a.juror_id].languages, (
            a.juror.email,
            a.application.reference,
        )
        assert members[a.juror_id].country != a.application.group.country
    assert not await Assignment.exists(juror=anna, application=cork)

    browser = await person(make_browser, anna.email, "198.51.100.21")
    listing = await browser.page("/jury")
    assert "EPP-2027-0001" not in listing.text and html.escape(cork.title) not in listing.text
    mine = await Assignment.filter(juror=anna).prefetch_related("application")
    assert mine and all(a.application.language in ("en", "fr") for a in mine)

    # A pair that becomes conflicted after its review began: the review is kept, never lost,
    # out of the juror's reach and of the ranking; the next run gives the place to another juror.
    marco = await User.get(email=juror_email(2))
    started = (await Assignment.filter(juror=marco).prefetch_related("application"))[0]
    marco_browser = await person(make_browser, marco.email, "198.51.100.22")
    response = await marco_browser.submit(
        f"/jury/reviews/{started.id}", await score_form(edition, action="save")
    )
    assert location(response) == f"/jury/reviews/{started.id}"
    marco_member = await PanelMember.get(user=marco)
    response = await claire.submit(
        "/manage/epp-2027/jury/forbid",
        {"member_id": str(marco_member.id), "reference": started.application.reference},
    )
    location(response)
    assert await Assignment.exists(id=started.id)  # a started review is not silently removed
    assert (await marco_browser.get(f"/jury/reviews/{started.id}")).status_code == 404
    assert started.application.title not in (await marco_browser.page("/jury")).text
    location(await assign(claire, "expert-jury"))
    assert await Assignment.exists(id=started.id) and await Review.exists(assignment_id=started.id)
    assert await Assignment.filter(application=started.application).count() == 3
    assert not await AuditEvent.exists(action="assignment.drop")


async def test_blind_review_hides_the_group_on_every_page_a_juror_reaches(demo, make_browser):
    claire, edition = await prepare(make_browser, references=["EPP-2027-0001"])
    location(await assign(claire, "expert-jury"))
    cork = await Application.get(reference="EPP-2027-0001").prefetch_related("group")
    secrets = [cork.group.name, cork.group.organisation, "Aoife", "(IE)", "· IE"]
    for number, assignment in enumerate(
        await Assignment.filter(application=cork).prefetch_related("juror")
    ):
        juror = await person(make_browser, assignment.juror.email, f"198.51.100.{30 + number}")
        pages = [await juror.page("/jury"), await juror.page(f"/jury/reviews/{assignment.id}")]
        response = await juror.submit(f"/jury/reviews/{assignment.id}", await score_form(edition))
        location(response)
        await juror.submit(
            f"/jury/reviews/{assignment.id}/comments", {"body": "I liked the peer approach."}
        )
        pages += [
            await juror.page(f"/jury/reviews/{assignment.id}"),
            await juror.page("/jury/profile"),
        ]
        for page in pages:
            assert page.status_code == 200
            for secret in secrets:
                assert html.escape(secret) not in page.text, (secret, str(page.url))
        assert cork.title in pages[0].text


async def test_others_scores_stay_hidden_until_the_jurors_own_review_is_submitted(
    demo, make_browser
):
    claire, edition = await prepare(make_browser, references=["EPP-2027-0001"])
    location(await assign(claire, "expert-jury"))
    first, second = await Assignment.all().order_by("id").prefetch_related("juror")
    one = await person(make_browser, first.juror.email, "198.51.100.41")
    two = await person(make_browser, second.juror.email, "198.51.100.42")
    location(
        await one.submit(
            f"/jury/reviews/{first.id}",
            await score_form(edition, comment="Unusually strong youth lead."),
        )
    )

    before = await two.page(f"/jury/reviews/{second.id}")
    assert "Unusually strong youth lead." not in before.text
    assert first.juror.display_name not in before.text
    refused = await two.submit(f"/jury/reviews/{second.id}/comments", {"body": "Me too"})
    assert refused.status_code == 400 and "Submit your own review" in refused.text
    draft = await two.submit(
        f"/jury/reviews/{second.id}", await score_form(edition, comment="Draft", action="save")
    )
    location(draft)
    assert "Unusually strong youth lead." not in (await two.page(f"/jury/reviews/{second.id}")).text

    location(
        await two.submit(
            f"/jury/reviews/{second.id}", await score_form(edition, comment="Solid plan.")
        )
    )
    after = await two.page(f"/jury/reviews/{second.id}")
    assert "Unusually strong youth lead." in after.text and first.juror.display_name in after.text
    location(
        await two.submit(
            f"/jury/reviews/{second.id}/comments", {"body": "Shall we discuss the budget?"}
        )
    )
    assert "Shall we discuss the budget?" in (await one.page(f"/jury/reviews/{first.id}")).text

    # A juror of the other panel, or one not assigned, sees none of it.
    outsider = await person(make_browser, juror_email(6), "198.51.100.43")
    assert (await outsider.get(f"/jury/reviews/{first.id}")).status_code == 404
    assert (
        await outsider.submit(f"/jury/reviews/{first.id}/comments", {"body": "hi"})
    ).status_code == 404


async def test_a_juror_declares_a_conflict_before_opening_the_application(demo, make_browser):
    claire, edition = await prepare(
        make_browser, references=["EPP-2027-0001", "EPP-2027-0002", "EPP-2027-0003"]
    )
    location(await assign(claire, "expert-jury"))
    assignment = (
        await Assignment.filter(application__reference="EPP-2027-0002")
        .order_by("id")
        .first()
        .prefetch_related("juror", "application")
    )
    juror = await person(make_browser, assignment.juror.email, "198.51.100.51")
    listing = await juror.page("/jury")
    assert (
        "EPP-2027-0002" in listing.text
        and html.escape(assignment.application.title) in listing.text
    )
    assert "I have a conflict of interest" in listing.text
    response = await juror.submit(f"/jury/reviews/{assignment.id}/conflict")
    assert location(response) == "/jury"
    after = await juror.page("/jury")
    assert "conflict of interest is recorded" in after.text
    assert "EPP-2027-0002" not in after.text
    assert not await Assignment.exists(id=assignment.id)
    conflict = await Conflict.get(juror=assignment.juror, application=assignment.application)
    assert conflict.source == "declared"
    assert await AuditEvent.exists(action="conflict.declare", actor=assignment.juror)
    assert (await juror.get(f"/jury/reviews/{assignment.id}")).status_code == 404

    # The next run replaces the juror, and never with the conflicted pair.
    location(await assign(claire, "expert-jury"))
    assert await Assignment.filter(application=assignment.application).count() == 2
    assert not await Assignment.exists(juror=assignment.juror, application=assignment.application)
    # Nobody can declare a conflict on someone else's assignment.
    other = await Assignment.exclude(juror=assignment.juror).first()
    assert (await juror.submit(f"/jury/reviews/{other.id}/conflict")).status_code == 404


async def test_an_eager_bid_wins_the_pair_over_an_equal_alternative(demo, make_browser):
    claire, edition = await prepare(
        make_browser, references=["EPP-2027-0001", "EPP-2027-0004"], k=1, blind=False
    )
    giorgi = await person(make_browser, juror_email(5), "198.51.100.61")
    ingrid = await person(make_browser, juror_email(6), "198.51.100.62")
    one = await Application.get(reference="EPP-2027-0001")
    four = await Application.get(reference="EPP-2027-0004")
    page = await ingrid.page("/jury/calls/epp-2027/bids")
    assert page.status_code == 200 and html.escape(one.title) in page.text
    location(
        await ingrid.submit(
            "/jury/calls/epp-2027/bids", {f"bid_{one.id}": "eager", f"bid_{four.id}": "not"}
        )
    )
    await giorgi.page("/jury/calls/epp-2027/bids")
    location(await giorgi.submit("/jury/calls/epp-2027/bids", {f"bid_{four.id}": "eager"}))
    location(await assign(claire, "youth-jury"))
    pairs = {(a.application_id, a.juror_id) for a in await Assignment.all()}
    ids = {u.email: u.id for u in await User.filter(email__in=[juror_email(5), juror_email(6)])}
    assert pairs == {(one.id, ids[juror_email(6)]), (four.id, ids[juror_email(5)])}

    # The other way round gives the other answer: the bids decided, not the order.
    await Assignment.all().delete()
    location(
        await ingrid.submit(
            "/jury/calls/epp-2027/bids", {f"bid_{one.id}": "not", f"bid_{four.id}": "eager"}
        )
    )
    location(
        await giorgi.submit(
            "/jury/calls/epp-2027/bids", {f"bid_{one.id}": "eager", f"bid_{four.id}": ""}
        )
    )
    location(await assign(claire, "youth-jury"))
    pairs = {(a.application_id, a.juror_id) for a in await Assignment.all()}
    assert pairs == {(one.id, ids[juror_email(5)]), (four.id, ids[juror_email(6)])}


async def test_there_is_no_bidding_under_blind_review(demo, make_browser):
    juror = await person(make_browser, juror_email(5), "198.51.100.63")
    response = await juror.get("/jury/calls/epp-2027/bids")
    assert response.status_code == 400 and "blind review" in response.text
    stranger = await make_browser("198.51.100.64")
    await stranger.log_in("applicant1@demo.prevention-prize.eu", DEMO_PASSWORD)
    assert (await stranger.get("/jury/calls/epp-2027/bids")).status_code == 403


async def test_reminders_arrive_by_mail_and_closing_the_review_phase_freezes_scores(
    settings, demo, smtp, make_browser
):
    claire, edition = await prepare(make_browser, references=["EPP-2027-0001", "EPP-2027-0002"])
    location(await assign(claire, "expert-jury"))
    await send_pending(settings)
    smtp.messages.clear()
    assignments = await Assignment.all().prefetch_related("juror")
    jurors = {a.juror.email for a in assignments}
    done = assignments[0].juror
    for a in assignments:
        if a.juror_id == done.id:
            browser = await person(make_browser, done.email, "198.51.100.71")
            location(await browser.submit(f"/jury/reviews/{a.id}", await score_form(edition)))
    response = await claire.submit("/manage/epp-2027/jury/remind")
    assert location(response) == "/manage/epp-2027/jury"
    assert await send_pending(settings) == len(jurors) - 1
    received = {m["To"] for m in smtp.messages}
    assert received == jurors - {done.email}
    some = [m for m in smtp.messages if m["To"] != done.email][0]
    assert "/jury" in some.get_payload(decode=True).decode()

    location(await claire.submit("/manage/epp-2027/jury/close"))
    await edition.refresh_from_db()
    assert edition.status == "deliberation"
    late = next(a for a in assignments if a.juror_id != done.id)
    browser = await person(make_browser, late.juror.email, "198.51.100.72")
    response = await browser.submit(f"/jury/reviews/{late.id}", await score_form(edition))
    assert response.status_code == 400 and "The review phase is closed" in response.text
    assert not await Review.exists(assignment_id=late.id)
    # No more reminders once the phase is over.
    assert (await claire.submit("/manage/epp-2027/jury/remind")).status_code == 400


async def test_a_juror_keeps_their_profile_up_to_date(demo, make_browser):
    olena = await person(make_browser, juror_email(3), "198.51.100.81")
    page = await olena.page("/jury/profile")
    assert page.status_code == 200 and "Public Health Centre of Ukraine" in page.text
    member = await PanelMember.get(user__email=juror_email(3))
    response = await olena.submit(
        "/jury/profile",
        {
            "member_id": str(member.id),
            "languages": ["en", "ru", "uk"],
            "country": "ua",
            "organisation": "Kyiv Youth Lab",
            "expertise": ["digital-media", "nonsense"],
            "max_load": "6",
        },
    )
    assert location(response) == "/jury/profile"
    await member.refresh_from_db()
    assert (
        member.languages,
        member.country,
        member.organisation,
        member.expertise,
        member.max_load,
    ) == (["en", "ru", "uk"], "UA", "Kyiv Youth Lab", ["digital-media"], 6)
    response = await olena.submit(
        "/jury/profile", {"member_id": str(member.id), "country": "Ukraine", "max_load": "many"}
    )
    assert response.status_code == 400
    assert (
        "Choose at least one language" in response.text
        and "two-letter country code" in response.text
    )
    # Someone else's membership is not theirs to edit.
    other = await PanelMember.get(user__email=juror_email(1))
    response = await olena.submit(
        "/jury/profile", {"member_id": str(other.id), "languages": ["en"], "max_load": "3"}
    )
    assert response.status_code == 404


def link_in(mail, prefix: str) -> str:
    match = re.search(r"https?://\S+?(" + prefix + r"\S+)", mail.get_payload(decode=True).decode())
    return match.group(1)


async def test_a_jury_invitation_is_accepted_only_by_its_address_and_only_by_post(
    settings, demo, smtp, make_browser
):
    claire = await person(make_browser, ORGANISER, "198.51.100.2")
    youth = await Panel.get(slug="youth-jury")
    response = await claire.submit(
        "/manage/epp-2027/jury/invite", {"email": "Nika@Example.org", "panel_id": str(youth.id)}
    )
    assert location(response) == "/manage/epp-2027/jury"
    bad = await claire.submit(
        "/manage/epp-2027/jury/invite", {"email": "not an email", "panel_id": str(youth.id)}
    )
    assert bad.status_code == 400
    await send_pending(settings)
    [mail] = smtp.to("nika@example.org")
    link = link_in(mail, "/jury/invitations/")

    # A member of an applying group who got hold of the link cannot use it, by GET or by POST.
    application = await Application.get(reference="EPP-2027-0001")
    insider = await User.get(memberships__group_id=application.group_id)
    mallory = await person(make_browser, insider.email, "198.51.100.66")
    for response in (await mallory.page(link), await mallory.submit(link)):
        assert response.status_code == 403
        text = html.unescape(response.text)
        assert "This invitation was sent to another email address (n***@example.org)" in text
        assert "nika@example.org" not in text
    assert not await PanelMember.exists(user=insider)
    assert await AuditEvent.filter(action="jury.accept_refused", actor=insider).count() == 2

    # Nika signs up with the invited address; until she confirms it, she cannot accept.
    assert "with this email address (nika@example.org)" in mail.get_payload(decode=True).decode()
    nika = await make_browser("198.51.100.91")
    assert (await nika.get(link)).headers["location"].startswith("/login")
    await nika.page("/signup")
    location(
        await nika.submit(
            "/signup",
            {
                "email": "nika@example.org",
                "display_name": "Nika",
                "password": "a long enough password",
            },
        )
    )
    response = await nika.page(link)
    assert response.status_code == 403 and "Confirm your email address first" in response.text
    await send_pending(settings)
    verify = link_in(smtp.to("nika@example.org")[-1], "/verify/")
    assert (await nika.get(verify)).status_code == 200

    # Opening the link shows what the invitation is, and changes nothing.
    page = await nika.page(link)
    assert page.status_code == 200
    assert "Juror in the Youth jury" in page.text and "Accept the invitation" in page.text
    assert "<dd>European Prevention Prize 2027</dd>" in page.text
    assert not await PanelMember.exists(user__email="nika@example.org")
    assert (await nika.submit(link, token=False)).status_code == 403  # no CSRF token
    assert not await PanelMember.exists(user__email="nika@example.org")

    assert location(await nika.submit(link)) == "/jury/profile"
    member = await PanelMember.get(user__email="nika@example.org").prefetch_related("panel")
    assert member.panel.id == youth.id and member.accepted_at is not None
    assert await AuditEvent.exists(action="jury.accept", object_id=str(member.id))
    assert "Youth jury" in (await nika.page("/jury/profile")).text
    for again in (await nika.get(link), await nika.submit(link)):
        assert again.status_code == 400 and "already been used" in again.text
    assert await PanelMember.filter(user__email="nika@example.org").count() == 1


async def test_a_juror_in_the_applying_group_is_never_assigned_nor_reviews_it(demo, make_browser):
    claire, edition = await prepare(make_browser, references=["EPP-2027-0001"])
    application = await Application.get(reference="EPP-2027-0001")
    anna = await PanelMember.get(user__email=juror_email(1)).select_related("user")
    location(
        await claire.submit(
            "/manage/epp-2027/jury/pin",
            {"member_id": str(anna.id), "reference": application.reference},
        )
    )
    pinned = await Assignment.get(juror_id=anna.user_id, application=application)

    # Anna joins the group that applied (invited at her address, not even accepted yet).
    await GroupMember.create(
        group_id=application.group_id,
        invite_email=anna.user.email,
        first_name="Anna",
        age_band="over_25",
    )
    juror = await person(make_browser, anna.user.email, "198.51.100.51")
    assert application.reference not in (await juror.page("/jury")).text
    assert (await juror.get(f"/jury/reviews/{pinned.id}")).status_code == 404
    response = await juror.submit(f"/jury/reviews/{pinned.id}", await score_form(edition))
    assert response.status_code == 404
    assert not await Review.exists(assignment_id=pinned.id)

    # The organisers cannot pin her to it again, and are told why.
    location(
        await claire.submit("/manage/epp-2027/jury/unassign", {"assignment_id": str(pinned.id)})
    )
    response = await claire.submit(
        "/manage/epp-2027/jury/pin",
        {"member_id": str(anna.id), "reference": application.reference},
    )
    assert response.status_code == 400
    assert (
        "Anna Weber cannot review EPP-2027-0001: The juror is a member of the group that applied."
        in html.unescape(response.text)
    )
    assert not await Assignment.exists(juror_id=anna.user_id, application=application)
