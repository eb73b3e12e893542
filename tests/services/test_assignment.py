"""Assignment called directly: what a run keeps, drops and creates; no review is ever lost."""

from __future__ import annotations

from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Conflict,
    Edition,
    Panel,
    Review,
    User,
)
from grants.services import assignment, conflicts, ranking


async def _ready(references: list[str], *, k: int = 2) -> tuple[User, Edition, str]:
    edition = await Edition.get(slug="epp-2027")
    edition.reviews_per_application = k
    await edition.save()
    await Application.filter(reference__in=references).update(status=ApplicationStatus.ELIGIBLE)
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    return organiser, edition, str((await Panel.get(slug="expert-jury")).id)


async def test_a_rerun_keeps_started_reviews_and_drops_newly_conflicted_pairs(demo):
    organiser, edition, panel = await _ready(["EPP-2027-0001", "EPP-2027-0002"])
    first = await assignment.run_assignment(organiser, edition, panel)
    assert (first.created, first.kept, first.dropped) == (4, 0, 0)
    assert sum(count for _name, count in first.loads) == 4
    started, conflicted = await Assignment.all().order_by("id").limit(2)
    await Review.create(assignment=started, overall_comment="in progress")
    await Conflict.create(
        juror_id=conflicted.juror_id, application_id=conflicted.application_id, source="organiser"
    )

    second = await assignment.run_assignment(organiser, edition, panel)
    assert (second.created, second.kept, second.dropped) == (1, 3, 1)
    assert await Assignment.exists(id=started.id) and await Review.exists(assignment_id=started.id)
    assert not await Assignment.exists(
        juror_id=conflicted.juror_id, application_id=conflicted.application_id
    )
    assert await Assignment.filter(application_id=conflicted.application_id).count() == 2


async def test_a_conflict_declared_after_submitting_keeps_the_review_for_the_organisers(demo):
    organiser, edition, panel = await _ready(["EPP-2027-0001"])
    await assignment.run_assignment(organiser, edition, panel)
    assigned = await Assignment.all().first().prefetch_related("juror")
    await Review.create(assignment=assigned, status="submitted")
    assert await conflicts.declare_conflict(assigned.juror, assigned.id) is False
    assert await Assignment.exists(id=assigned.id)
    assert await assignment.assignments_of(assigned.juror) == []
    assert await ranking.edition_reviews(edition) == []  # a conflicted review does not count


async def test_a_pair_forbidden_after_its_review_began_keeps_the_review(demo):
    organiser, edition, panel = await _ready(["EPP-2027-0001"])
    await assignment.run_assignment(organiser, edition, panel)
    reviewed = await Assignment.all().order_by("id").first()
    await Review.create(assignment=reviewed, status="submitted", overall_comment="kept")
    await Conflict.create(
        juror_id=reviewed.juror_id, application_id=reviewed.application_id, source="organiser"
    )

    rerun = await assignment.run_assignment(organiser, edition, panel)

    assert rerun.dropped == 0
    assert await Review.exists(assignment_id=reviewed.id, overall_comment="kept")
    assert await ranking.edition_reviews(edition) == []  # kept, but out of the ranking
