"""A person's data: the export holds what is stored about them; erasure removes what identifies
them while rankings, published winners and receipts stay exactly as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

import scoring
from grants.demo import DEMO_PASSWORD
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Attachment,
    AuditEvent,
    Award,
    CriterionScore,
    Edition,
    EditionStatus,
    GroupMember,
    LoginAttempt,
    OutboxEmail,
    Panel,
    PanelMember,
    Review,
    ReviewStatus,
    Token,
    User,
    UserSession,
)
from grants.services import accounts, privacy, ranking
from grants.services.errors import InvalidInput, PermissionDenied, ServiceError
from grants.services.public import public_winners
from grants.services.submission import content_hash, load_content

APPLICANT = "applicant1@demo.prevention-prize.eu"
ORGANISER = "organiser@demo.prevention-prize.eu"
JURORS = [f"juror{n}@demo.prevention-prize.eu" for n in (1, 2, 3)]


async def submitted_of(user: User) -> list[Application]:
    return (
        await Application.filter(group__members__user_id=user.id)
        .exclude(status=ApplicationStatus.DRAFT)
        .order_by("reference")
    )


async def reviewed_and_published(edition: Edition) -> dict[str, object]:
    """Three jurors score five applications (one of them the applicant's), two awards are
    published; juror 1 also has an assignment not reviewed yet."""
    rubric = scoring.get_rubric(edition.rubric_name)
    panel = await Panel.filter(edition=edition).order_by("id").first()
    jurors = [await User.get(email=email) for email in JURORS]
    applicant = await User.get(email=APPLICANT)
    theirs = (await submitted_of(applicant))[0]
    others = await Application.filter(edition=edition, status=ApplicationStatus.SUBMITTED).exclude(
        id=theirs.id
    )
    applications = [theirs, *others[:4]]
    for i, application in enumerate(applications):
        application.status = ApplicationStatus.IN_REVIEW
        await application.save(update_fields=["status"])
        for j, juror in enumerate(jurors):
            assignment = await Assignment.create(panel=panel, juror=juror, application=application)
            review = await Review.create(
                assignment=assignment,
                status=ReviewStatus.SUBMITTED,
                submitted_at=datetime.now(UTC),
                overall_comment=f"Review {i}/{j}",
            )
            for criterion in rubric.criteria:
                levels = criterion.scale.levels
                score = levels[(3 * i + j) % len(levels)]
                await CriterionScore.create(review=review, criterion=criterion.id, score=score)
    await Assignment.create(panel=panel, juror=jurors[0], application=others[5])
    organiser = await User.get(email=ORGANISER)
    for place, application in enumerate(applications[:2], start=1):
        await Award.create(
            edition=edition,
            application=application,
            title=f"Prize {place}",
            position=place,
            created_by=organiser,
        )
    edition.status = EditionStatus.PUBLISHED
    edition.published_at = datetime.now(UTC)
    await edition.save()
    return {"organiser": organiser, "jurors": jurors, "applicant": applicant}


async def test_erasing_a_juror_and_an_applicant_changes_no_ranking_winner_or_receipt(
    settings, demo
):
    edition = await Edition.get(slug="epp-2027")
    cast = await reviewed_and_published(edition)
    organiser, juror, applicant = cast["organiser"], cast["jurors"][0], cast["applicant"]
    juror_email, applicant_email = juror.email, applicant.email
    rows = await ranking.ranking(organiser, edition)
    winners = await public_winners(edition)
    assert len(rows) == 5 and [w.title for w in winners] == ["Prize 1", "Prize 2"]
    receipts = {a.reference: a.content_hash for a in await submitted_of(applicant)}
    drafts = await Application.filter(
        group__members__user_id=applicant.id, status=ApplicationStatus.DRAFT
    ).values_list("reference", flat=True)
    assert drafts, "the demo's applicant has drafts"
    await Token.create(
        purpose="reset",
        token_hash="f" * 64,
        user=juror,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    await LoginAttempt.create(key=f"account:{juror_email}")
    await UserSession.create(
        user=juror,
        token_hash="e" * 64,
        user_agent="Firefox on the juror's laptop",
        last_seen_at=datetime.now(UTC),
        idle_seconds=3600,
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )

    done = await privacy.erase_person(
        organiser,
        edition,
        email=juror_email,
        password=DEMO_PASSWORD,
        settings=settings,
        ip="10.0.0.1",
    )
    assert done.assignments_removed == 1
    await privacy.erase_own_account(
        applicant, password=DEMO_PASSWORD, confirm=True, settings=settings, ip="10.0.0.2"
    )

    assert await ranking.ranking(organiser, edition) == rows
    assert await public_winners(edition) == winners
    for application in await Application.filter(reference__in=list(receipts)):
        assert application.content_hash == receipts[application.reference]
        recomputed = content_hash(application, await load_content(application))
        assert recomputed == application.content_hash  # the receipt still verifies
    assert not await Application.filter(reference__in=list(drafts)).exists()
    assert await Review.filter(assignment__juror_id=juror.id).count() == 5  # all kept
    assert await Assignment.filter(juror_id=juror.id).count() == 5  # the unreviewed one went

    juror = await User.get(id=juror.id)
    assert juror.erased_at is not None
    assert (juror.email, juror.display_name) == (privacy.erased_email(juror.id), "Former juror")
    assert not await Token.filter(user_id=juror.id).exists()
    assert not await LoginAttempt.filter(key=f"account:{juror_email}").exists()
    assert not await UserSession.filter(user_id=juror.id).exists()
    assert not await OutboxEmail.filter(to=applicant_email).exists()
    members = await GroupMember.filter(user_id=applicant.id)
    assert members and all(m.first_name == privacy.ERASED_MARK for m in members)
    for email in (juror_email, applicant_email, juror.email):
        with pytest.raises(ServiceError):
            await accounts.authenticate(
                settings=settings, email=email, password=DEMO_PASSWORD, ip="10.0.0.3"
            )
    erasures = await AuditEvent.filter(action="account.erase").order_by("id")
    assert [(e.object_id, e.actor_id, e.after["by"]) for e in erasures] == [
        (str(juror.id), organiser.id, "organiser"),
        (str(applicant.id), applicant.id, "self"),
    ]
    assert not await AuditEvent.filter(actor_id=applicant.id).exclude(ip="").exists()


async def test_erasure_needs_the_password_and_a_ticked_box(settings, demo):
    applicant = await User.get(email=APPLICANT)
    with pytest.raises(InvalidInput) as caught:
        await privacy.erase_own_account(
            applicant, password="wrong password", confirm=False, settings=settings
        )
    assert set(caught.value.errors) == {"password", "confirm"}
    assert (await User.get(id=applicant.id)).erased_at is None


async def test_an_organiser_erases_only_people_of_their_call(settings, demo):
    edition = await Edition.get(slug="epp-2027")
    organiser = await User.get(email=ORGANISER)
    stranger = await User.create(email="stranger@example.org", display_name="S", password_hash="x")
    with pytest.raises(InvalidInput) as caught:
        await privacy.erase_person(
            organiser, edition, email=stranger.email, password=DEMO_PASSWORD, settings=settings
        )
    assert "email" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        await privacy.erase_person(
            organiser, edition, email=APPLICANT, password="not my password", settings=settings
        )
    assert "password" in caught.value.errors
    admin = await User.get(is_admin=True)
    panel = await Panel.filter(edition=edition).first()
    await PanelMember.create(panel=panel, user=admin)  # an administrator who is also a juror
    with pytest.raises(PermissionDenied):
        await privacy.erase_person(
            organiser, edition, email=admin.email, password=DEMO_PASSWORD, settings=settings
        )
    assert not await User.filter(erased_at__not_isnull=True).exists()


async def test_the_export_holds_what_is_stored_and_no_links(settings, demo):
    applicant = await User.get(email=APPLICANT)
    await OutboxEmail.create(
        to=applicant.email,
        subject="Reset your password",
        body="Open https://prize.example/password/reset/SECRET-TOKEN to choose one.",
    )
    await OutboxEmail.create(
        to=applicant.email,
        subject="Confirm",
        body="Open \x02https://prize.example/verify/OTHER-SECRET\x03 to confirm.",
    )
    data = await privacy.export(applicant, ip="10.0.0.9")
    json.dumps(data)  # JSON as it is
    assert data["account"]["email"] == APPLICANT
    (membership,) = data["groups"]
    assert membership["age_band"] == "18_21" and membership["group"]["country"] == "BE"
    assert "birth" not in json.dumps(data)
    submitted = [a for a in data["applications"] if a["status"] == "submitted"]
    assert submitted and all(a["answers"] and a["content_hash"] for a in submitted)
    assert {a["reference"] for a in data["applications"]} == {
        a.reference for a in await Application.filter(group__members__user_id=applicant.id)
    }
    (mail,) = [m for m in data["mails"] if m["subject"] == "Reset your password"]
    assert "SECRET-TOKEN" not in mail["body"] and privacy.LINK_REMOVED in mail["body"]
    assert "SECRET-TOKEN" not in json.dumps(data) and "OTHER-SECRET" not in json.dumps(data)
    event = await AuditEvent.get(action="privacy.export")
    assert (event.actor_id, event.ip) == (applicant.id, "10.0.0.9")


async def test_a_jurors_export_has_their_reviews_and_attachment_metadata_is_included(
    settings, demo
):
    edition = await Edition.get(slug="epp-2027")
    cast = await reviewed_and_published(edition)
    data = await privacy.export(cast["jurors"][0])
    assert len(data["jury"]["reviews"]) == 5
    assert {r["overall_comment"] for r in data["jury"]["reviews"]} >= {"Review 0/0"}
    applicant = cast["applicant"]
    application = (await submitted_of(applicant))[0]
    await Attachment.create(
        application=application,
        original_name="plan.pdf",
        stored_name="a" * 32,
        content_type="application/pdf",
        size=10,
        sha256="b" * 64,
        uploaded_by=applicant,
    )
    exported = await privacy.export(applicant)
    (entry,) = [a for a in exported["applications"] if a["reference"] == application.reference]
    assert entry["attachments"][0]["name"] == "plan.pdf"
    assert "stored_name" not in entry["attachments"][0]
