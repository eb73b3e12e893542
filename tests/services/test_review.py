"""The review services called directly: what a run keeps, drops and creates."""

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
from grants.services import jury, review


async def _ready(references: list[str], *, k: int = 2) -> tuple[User, Edition, Panel]:
    edition = await Edition.get(slug="epp-2027")
    edition.reviews_per_application = k
    await edition.save()
    await Application.filter(reference__in=references).update(status=ApplicationStatus.ELIGIBLE)
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    return organiser, edition, await Panel.get(slug="expert-jury")


async def test_a_rerun_keeps_started_reviews_and_drops_newly_conflicted_pairs(demo):
    organiser, edition, panel = await _ready(["EPP-2027-0001", "EPP-2027-0002"])
    first = await review.run_assignment(organiser, edition, panel)
    assert (first.created, first.kept, first.dropped) == (4, 0, 0)
    assert sum(count for _name, count in first.loads) == 4
    started, conflicted = await Assignment.all().order_by("id").limit(2)
    await Review.create(assignment=started, overall_comment="in progress")
    await Conflict.create(
        juror_id=conflicted.juror_id, application_id=conflicted.application_id, source="organiser"
    )

    second = await review.run_assignment(organiser, edition, panel)
    assert (second.created, second.kept, second.dropped) == (1, 3, 1)
    assert await Assignment.exists(id=started.id) and await Review.exists(assignment_id=started.id)
    assert not await Assignment.exists(
        juror_id=conflicted.juror_id, application_id=conflicted.application_id
    )
    assert await Assignment.filter(application_id=conflicted.application_id).count() == 2


async def test_a_conflict_declared_after_submitting_keeps_the_review_for_the_organisers(demo):
    organiser, edition, panel = await _ready(["EPP-2027-0001"])
    await review.run_assignment(organiser, edition, panel)
    assignment = await Assignment.all().first().prefetch_related("juror")
    await Review.create(assignment=assignment, status="submitted")
    assert await jury.declare_conflict(assignment.juror, assignment.id) is False
    assert await Assignment.exists(id=assignment.id)
    assert await review.assignments_of(assignment.juror) == []
    assert await review.edition_reviews(edition) == []  # a conflicted review does not count
