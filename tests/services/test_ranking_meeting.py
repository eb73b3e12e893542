"""The ranking for the jury's meeting, called directly: the aggregator and panel weights switched
as scoring computes them, per-panel and per-juror scores, the method recorded with each award,
kept-but-excluded reviews of forbidden pairs, and jurors' loads read by the solver."""

from __future__ import annotations

import pytest

import scoring
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    AuditEvent,
    CriterionScore,
    Edition,
    Panel,
    PanelMember,
    Review,
    ReviewStatus,
    User,
)
from grants.services import assignment, awards, conflicts, progress, ranking
from grants.services.errors import InvalidInput
from grants.services.review import edition_rubric

A, B = "EPP-2027-0001", "EPP-2027-0002"


async def _setup() -> tuple[User, Edition, dict[str, PanelMember]]:
    edition = await Edition.get(slug="epp-2027")
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    members = {
        m.user.email.split("@")[0]: m
        for m in await PanelMember.filter(panel__edition=edition).select_related("user", "panel")
    }
    return organiser, edition, members


async def _review(edition: Edition, reference: str, member: PanelMember, level: int) -> Review:
    """A submitted review scoring every criterion `level` (0..5: a value of 20 × level)."""
    application = await Application.get(reference=reference)
    made = await Assignment.create(
        panel_id=member.panel_id, juror_id=member.user_id, application=application
    )
    review = await Review.create(assignment=made, status=ReviewStatus.SUBMITTED)
    for criterion in edition_rubric(edition).criteria:
        await CriterionScore.create(review=review, criterion=criterion.id, score=float(level))
    return review


async def _experts_disagree(edition: Edition, members: dict[str, PanelMember]) -> None:
    """A: 100, 100, 0 (mean 66.7, median 100); B: 80 three times."""
    for juror, level_a, level_b in (("juror1", 5, 4), ("juror2", 5, 4), ("juror3", 0, 4)):
        await _review(edition, A, members[juror], level_a)
        await _review(edition, B, members[juror], level_b)


def _weights(panels: list[Panel], **by_slug: str) -> dict[str, str]:
    return {f"weight_{p.id}": by_slug.get(p.slug.replace("-", "_"), "1") for p in panels}


async def test_the_aggregator_switch_orders_as_scoring_computes_it(demo):
    organiser, edition, members = await _setup()
    await _experts_disagree(edition, members)
    panels = await Panel.filter(edition=edition).order_by("id")
    rubric = edition_rubric(edition)
    reviews = await ranking.edition_reviews(edition)
    page = await ranking.ranking_page(organiser, edition)
    assert [a.name for a in page.aggregators] == [a.name for a in scoring.list_aggregators()]

    orders = {}
    for name in [a.name for a in scoring.list_aggregators()]:
        await ranking.set_method(organiser, edition, aggregator=name, weights=_weights(panels))
        rows = await ranking.ranking(organiser, edition)
        expected = scoring.rank(rubric, reviews, aggregator=name, expected_reviews=3)
        assert [(r.application, r.score) for r in rows] == [
            (r.application, r.score) for r in expected
        ]
        orders[name] = [r.application for r in rows]
    assert orders["weighted-mean"] == [B, A] and orders["median"] == [A, B]
    assert (await Edition.get(id=edition.id)).aggregator == name
    assert await AuditEvent.filter(action="ranking.method").count() == len(orders)


async def test_weights_are_validated_and_stored(demo):
    organiser, edition, _members = await _setup()
    expert, youth = await Panel.filter(edition=edition).order_by("id")
    cases = [
        ({f"weight_{expert.id}": "-1", f"weight_{youth.id}": "1"}, f"weight_{expert.id}"),
        ({f"weight_{expert.id}": "1e3", f"weight_{youth.id}": "1"}, f"weight_{expert.id}"),
        ({f"weight_{expert.id}": "0", f"weight_{youth.id}": "0,0"}, f"weight_{expert.id}"),
        ({f"weight_{expert.id}": "1"}, f"weight_{youth.id}"),
    ]
    for typed, field in cases:
        with pytest.raises(InvalidInput) as caught:
            await ranking.set_method(organiser, edition, aggregator="median", weights=typed)
        assert set(caught.value.errors) == {field}, typed
    with pytest.raises(InvalidInput) as caught:
        await ranking.set_method(
            organiser, edition, aggregator="loudest", weights={f"weight_{expert.id}": "1"}
        )
    assert set(caught.value.errors) == {"aggregator", f"weight_{youth.id}"}
    assert (await Edition.get(id=edition.id)).aggregator == "weighted-mean"  # nothing changed

    typed = {f"weight_{expert.id}": "2,5", f"weight_{youth.id}": "0"}
    method = await ranking.set_method(organiser, edition, aggregator="z-score", weights=typed)
    assert method == ranking.Method("z-score", {"expert-jury": 2.5, "youth-jury": 0.0})
    assert [p.weight for p in await Panel.filter(edition=edition).order_by("id")] == [2.5, 0.0]


async def test_per_panel_and_per_juror_scores_beside_the_combined_one(demo):
    organiser, edition, members = await _setup()
    await _experts_disagree(edition, members)
    await _review(edition, A, members["juror5"], 0)  # the youth jury: 0 for A
    panels = await Panel.filter(edition=edition).order_by("id")
    await ranking.set_method(
        organiser,
        edition,
        aggregator="weighted-mean",
        weights=_weights(panels, expert_jury="3", youth_jury="1"),
    )
    page = await ranking.ranking_page(organiser, edition)
    row = next(r for r in page.rows if r.application == A)
    assert row.panel_scores == pytest.approx({"expert-jury": 200 / 3, "youth-jury": 0.0})
    assert row.score == pytest.approx((3 * 200 / 3 + 0) / 4)
    assert [(j.juror, j.panel, j.value) for j in page.jurors[A]] == [
        ("Anna Weber", "expert-jury", 100.0),
        ("Marco Bianchi", "expert-jury", 100.0),
        ("Olena Kovalenko", "expert-jury", 0.0),
        ("Giorgi Beridze", "youth-jury", 0.0),
    ]
    assert page.applications[A].title == (await Application.get(reference=A)).title


async def test_the_method_in_force_is_recorded_with_each_award(demo):
    organiser, edition, _members = await _setup()
    await Application.filter(reference__in=[A, B]).update(status=ApplicationStatus.SHORTLISTED)
    panels = await Panel.filter(edition=edition).order_by("id")
    typed = _weights(panels, expert_jury="2", youth_jury="1")
    await ranking.set_method(organiser, edition, aggregator="median", weights=typed)
    await awards.record_award(
        organiser, edition, reference=A, title="First prize", position="1", amount_eur="5000",
        citation="",
    )  # fmt: skip
    recorded = {"aggregator": "median", "panel_weights": {"expert-jury": 2.0, "youth-jury": 1.0}}
    event = await AuditEvent.get(action="award.record")
    assert event.after["ranking"] == recorded
    await ranking.set_method(organiser, edition, aggregator="z-score", weights=typed)
    page = await ranking.ranking_page(organiser, edition)
    application = await Application.get(reference=A)
    assert page.recorded[application.id] == ranking.Method.from_dict(recorded)
    assert page.recorded[application.id] != page.method  # the page says it differs


@pytest.mark.parametrize(
    ("position", "amount", "title", "fields"),
    [
        ("0", "100", "Prize", {"position"}),
        ("first", "-5", "Prize", {"position", "amount_eur"}),
        ("2", "1500.50", "Prize", {"amount_eur"}),
        ("1", "10", "P" * 121, {"title"}),
    ],
)
async def test_an_award_that_makes_no_sense_is_refused_never_changed(
    demo, position, amount, title, fields
):
    organiser, edition, _members = await _setup()
    await Application.filter(reference=A).update(status=ApplicationStatus.SHORTLISTED)
    with pytest.raises(InvalidInput) as caught:
        await awards.record_award(
            organiser, edition, reference=A, title=title, position=position, amount_eur=amount,
            citation="",
        )  # fmt: skip
    assert set(caught.value.errors) == fields
    assert not await AuditEvent.exists(action="award.record")


async def test_a_forbidden_pair_keeps_its_submitted_review(demo):
    organiser, edition, members = await _setup()
    await _experts_disagree(edition, members)
    anna = members["juror1"]
    kept = await Review.get(assignment__juror_id=anna.user_id, assignment__application__reference=A)

    done = await conflicts.forbid_pair(
        organiser, edition, member_id=str(anna.id), reference=A, reason="She mentored them."
    )

    assert done == conflicts.Forbidden(assignment_removed=False, review_status="submitted")
    assert await Review.exists(id=kept.id, status=ReviewStatus.SUBMITTED)
    read = await ranking.read_reviews(edition)
    assert [(e.review.application, e.review.juror) for e in read.excluded] == [
        (A, str(anna.user_id))
    ]
    reason = "The organisers recorded a conflict of interest: She mentored them."
    assert read.excluded[0].reason == reason
    page = await ranking.ranking_page(organiser, edition)
    assert next(r for r in page.rows if r.application == A).reviews == 2
    assert [(ref, j.juror, j.excluded) for ref, j in page.excluded] == [(A, "Anna Weber", reason)]
    event = await AuditEvent.get(action="review.excluded")
    assert (event.object_id, event.after["status"]) == (str(kept.id), "submitted")
    assert event.after["reason"] == "She mentored them."
    # The next run keeps it too.
    await Application.filter(reference__in=[A, B]).update(status=ApplicationStatus.IN_REVIEW)
    await assignment.run_assignment(organiser, edition, str(anna.panel_id))
    assert await Review.exists(id=kept.id, status=ReviewStatus.SUBMITTED)


async def test_loads_are_validated_and_the_solver_respects_them(demo):
    organiser, edition, members = await _setup()
    anna, marco = members["juror1"], members["juror2"]
    bad = {
        f"min_load_{anna.id}": "3",
        f"max_load_{anna.id}": "2",
        f"min_load_{marco.id}": "-1",
        f"max_load_{marco.id}": "two",
    }
    with pytest.raises(InvalidInput) as caught:
        await progress.set_loads(organiser, edition, bad)
    assert set(caught.value.errors) == {
        f"min_load_{anna.id}",
        f"min_load_{marco.id}",
        f"max_load_{marco.id}",
    }
    assert "(2)" in caught.value.errors[f"min_load_{anna.id}"]

    loads = {
        f"min_load_{anna.id}": "0",
        f"max_load_{anna.id}": "0",
        f"min_load_{marco.id}": "2",
        f"max_load_{marco.id}": "2",
    }
    assert await progress.set_loads(organiser, edition, loads) == 2
    assert await AuditEvent.filter(action="jury.loads").count() == 2
    edition.reviews_per_application = 2
    await edition.save()
    await Application.filter(reference__in=[A, B]).update(status=ApplicationStatus.ELIGIBLE)
    await assignment.run_assignment(organiser, edition, str(anna.panel_id))
    assert not await Assignment.exists(juror_id=anna.user_id)
    assert await Assignment.filter(juror_id=marco.user_id).count() == 2
    assert await Assignment.all().count() == 4  # the other two went to Olena or Sophie
