"""The dossier: one rule for who opens a file (the group, the organisers, an assigned juror
without a conflict), the neutral name under blind review, every opening audited; organisers read
every review and the discussion."""

from __future__ import annotations

import pytest
from scored_demo import FILE_NAME, REFERENCES, score_demo

from grants.models import (
    Application,
    Assignment,
    Attachment,
    AuditEvent,
    Conflict,
    DiscussionComment,
    Edition,
    GroupMember,
    PanelMember,
    User,
)
from grants.services import dossier, screening
from grants.services.dossier import Role
from grants.services.errors import NotFound

ORGANISER = "organiser@demo.prevention-prize.eu"


async def a_file() -> tuple[Application, Attachment]:
    """score_demo's first application with its one file, named as a group would name it."""
    await score_demo()
    application = await Application.get(reference=REFERENCES[0]).select_related("edition")
    return application, await Attachment.get(application=application)


async def member_of(application: Application) -> User:
    member = await GroupMember.filter(group_id=application.group_id, user_id__not_isnull=True)
    return await User.get(id=member[0].user_id)


async def test_who_opens_a_file_and_under_which_name(settings, demo):
    application, attachment = await a_file()
    assigned = await Assignment.filter(application=application).order_by("id")
    juror, conflicted = (await User.get(id=assigned[0].juror_id), assigned[1].juror_id)
    await Conflict.create(juror_id=conflicted, application=application, source="declared")
    unassigned = await PanelMember.exclude(user_id__in=[a.juror_id for a in assigned]).first()
    neutral = f"{application.reference}-file-1.pdf"
    cast = [
        (await member_of(application), Role.GROUP, FILE_NAME),
        (await User.get(email=ORGANISER), Role.ORGANISER, FILE_NAME),
        (await User.get(is_admin=True), Role.ADMIN, FILE_NAME),
        (juror, Role.JUROR, neutral),  # the demo is blind
    ]
    for person, role, name in cast:
        opened = await dossier.open_attachment(
            person, application.id, attachment.id, ip="192.0.2.1"
        )
        assert (opened.attachment.id, opened.role, opened.name, opened.inline) == (
            attachment.id,
            role,
            name,
            True,
        )
    events = await AuditEvent.filter(action="attachment.download").order_by("id")
    assert [(e.actor_id, e.object_id, e.after, e.ip) for e in events] == [
        (
            person.id,
            str(application.id),
            {"attachment": attachment.id, "role": role.value},
            "192.0.2.1",
        )
        for person, role, _name in cast
    ]

    strangers = [await User.get(id=conflicted), await User.get(id=unassigned.user_id)]
    other = await Application.get(reference=REFERENCES[1])
    for person in strangers:
        with pytest.raises(NotFound):
            await dossier.open_attachment(person, application.id, attachment.id)
    with pytest.raises(NotFound):  # a file asked for through another application's address
        await dossier.open_attachment(juror, other.id, attachment.id)
    with pytest.raises(NotFound):
        await dossier.open_attachment(juror, 999_999, attachment.id)
    assert await AuditEvent.filter(action="attachment.download").count() == len(cast)


async def test_without_blind_review_a_juror_sees_the_name_it_was_sent_with(settings, demo):
    application, attachment = await a_file()
    await Edition.filter(id=application.edition_id).update(blind_review=False)
    juror = await User.get(id=(await Assignment.filter(application=application).first()).juror_id)
    opened = await dossier.open_attachment(juror, application.id, attachment.id)
    assert (opened.role, opened.name) == (Role.JUROR, FILE_NAME)


def test_neutral_names_and_what_opens_in_the_browser():
    assert dossier.neutral_name("EPP-2027-0003", 2, "image/jpeg") == "EPP-2027-0003-file-2.jpg"
    assert dossier.neutral_name("EPP-2027-0003", 1, "application/zip") == "EPP-2027-0003-file-1.zip"
    assert dossier.neutral_name("EPP-2027-0003", 1, "x-unknown/x") == "EPP-2027-0003-file-1.bin"
    assert {"application/pdf", "image/png", "image/jpeg"} <= dossier.INLINE_TYPES
    assert not {"image/svg+xml", "text/html", "application/zip"} & dossier.INLINE_TYPES


async def test_organisers_read_every_review_and_the_discussion(settings, demo):
    scored = await score_demo()
    application = await Application.get(reference=REFERENCES[2])
    juror = await User.get(id=(await Assignment.filter(application=application).first()).juror_id)
    await DiscussionComment.create(application=application, author=juror, body="Budget is thin.")
    organiser = await User.get(email=ORGANISER)

    page = await screening.application_file(organiser, application.id)

    # REFERENCES[2]: two submitted, one draft (its first score only), one not begun
    assert [r.status for r in page.reviews] == ["submitted", "submitted", "draft", "none"]
    assert [r.juror_name for r in page.reviews] == [
        a.juror.display_name
        for a in await Assignment.filter(application=application)
        .select_related("juror")
        .order_by("panel_id", "id")
    ]
    first = page.reviews[0]
    assert first.submitted_at is not None and first.overall_comment.startswith("Review")
    assert [s.criterion.id for s in first.scores] == [
        c.id for c in dossier.edition_rubric(scored.edition).criteria
    ]
    assert all(s.score is not None for s in first.scores)
    assert first.scores[0].comment == "-2 points: no budget"
    draft = page.reviews[2]
    assert draft.submitted_at is None
    assert [s.score is not None for s in draft.scores].count(True) == 1
    assert [c.body for c in page.discussion] == ["Budget is thin."]
    assert page.files == []
