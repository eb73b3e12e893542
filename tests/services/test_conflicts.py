"""Conflicts of interest called directly: a juror who belongs to the applying group (linked or
only invited at their address) never reviews its application, and no submitted review is lost."""

from __future__ import annotations

import pytest

from grants.models import (
    AgeBand,
    Application,
    ApplicationStatus,
    Assignment,
    Edition,
    GroupMember,
    Panel,
    PanelMember,
    Review,
    User,
)
from grants.services import assignment, conflicts, ranking, review
from grants.services.errors import NotFound, ServiceError


async def _eligible(reference: str) -> tuple[User, Edition, Application]:
    edition = await Edition.get(slug="epp-2027")
    edition.reviews_per_application = 2
    await edition.save()
    await Application.filter(reference=reference).update(status=ApplicationStatus.ELIGIBLE)
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    application = await Application.get(reference=reference).select_related("group", "edition")
    return organiser, edition, application


async def _expert(local: str = "juror1") -> PanelMember:
    return await PanelMember.get(user__email=f"{local}@demo.prevention-prize.eu").select_related(
        "user", "panel"
    )


async def _join(member: PanelMember, application: Application, *, linked: bool = True) -> None:
    """The juror becomes a member of the application's group: with their account, or invited at
    their address and not accepted yet."""
    await GroupMember.create(
        group_id=application.group_id,
        user=member.user if linked else None,
        invite_email="" if linked else member.user.email,
        first_name=member.user.display_name.split()[0],
        age_band=AgeBand.OVER_25,
    )


@pytest.mark.parametrize("linked", [True, False])
async def test_a_member_of_the_applying_group_is_conflicted_and_cannot_be_pinned(demo, linked):
    organiser, edition, application = await _eligible("EPP-2027-0001")
    anna = await _expert()
    pair = (anna.user_id, application.id)
    assert pair not in await conflicts.conflicted_pairs(edition=edition)
    await _join(anna, application, linked=linked)

    with pytest.raises(ServiceError) as caught:
        await assignment.pin_pair(
            organiser, edition, member_id=str(anna.id), reference=application.reference
        )
    assert caught.value.status_code == 400
    assert caught.value.message == (
        "Anna Weber cannot review EPP-2027-0001: The juror is a member of the group that applied."
    )
    assert not await Assignment.exists(juror_id=anna.user_id)
    assert pair in await conflicts.conflicted_pairs(edition=edition)
    assert pair in await conflicts.conflicted_pairs(juror=anna.user)
    assert pair in await conflicts.conflicted_pairs(application_id=application.id)
    assert await conflicts.pair_exclusion(anna, application) == (
        "The juror is a member of the group that applied."
    )


async def test_the_solver_never_gives_a_group_member_their_groups_application(demo):
    organiser, edition, application = await _eligible("EPP-2027-0001")
    panel = await Panel.get(slug="expert-jury")
    experts = await PanelMember.filter(panel=panel).select_related("user")
    recorded = await conflicts.conflicted_pairs(application_id=application.id)
    fit = [
        m
        for m in experts
        if conflicts.exclusion_reason(m, application) is None
        and (m.user_id, application.id) not in recorded
    ]
    assert len(fit) >= 2
    edition.reviews_per_application = len(fit)  # every fit juror is needed ...
    await edition.save()
    await _join(fit[0], application)  # ... and one of them now belongs to the group

    with pytest.raises(assignment.AssignmentImpossible):
        await assignment.run_assignment(organiser, edition, str(panel.id))
    edition.reviews_per_application = len(fit) - 1
    await edition.save()
    await assignment.run_assignment(organiser, edition, str(panel.id))
    assigned = set(await Assignment.all().values_list("juror_id", flat=True))
    assert fit[0].user_id not in assigned and len(assigned) == len(fit) - 1


async def test_joining_the_group_after_reviewing_keeps_the_review_out_of_the_ranking(demo):
    organiser, edition, application = await _eligible("EPP-2027-0001")
    panel = await Panel.get(slug="expert-jury")
    await assignment.run_assignment(organiser, edition, str(panel.id))
    submitted, draft = await Assignment.filter(application=application).order_by("id")
    await Review.create(assignment=submitted, status="submitted", overall_comment="kept")
    await Review.create(assignment=draft, overall_comment="draft kept")
    counted = {r.juror for r in await ranking.edition_reviews(edition)}
    assert counted == {str(submitted.juror_id)}

    for assigned in (submitted, draft):
        juror = await User.get(id=assigned.juror_id)
        member = await PanelMember.get(user=juror, panel=panel).select_related("user")
        await _join(member, application)
        assert await assignment.assignments_of(juror) == []
        with pytest.raises(NotFound):
            await review.review_page(juror, assigned.id)
        loaded = await Assignment.get(id=assigned.id).select_related(
            "application", "application__edition"
        )
        with pytest.raises(NotFound):
            await review.save_review(
                juror,
                loaded,
                raw_scores={},
                comments={},
                overall_comment="changed",
                submit=False,
            )

    assert await ranking.edition_reviews(edition) == []  # out of the ranking ...
    rerun = await assignment.run_assignment(organiser, edition, str(panel.id))
    assert rerun.dropped == 0  # ... but never deleted, not even the draft
    assert await Review.exists(assignment_id=submitted.id, overall_comment="kept")
    assert await Review.exists(assignment_id=draft.id, overall_comment="draft kept")
