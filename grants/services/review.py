"""A juror's review: the rubric's score form, drafts and submission (audited), and the page a
juror reviews on.

Invariant: once an edition's first score is saved, its rubric is frozen (the fingerprint stored
on the edition); a changed rubric file is refused rather than silently mixing two rubrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

import scoring
from grants.i18n import gettext as _
from grants.models import (
    Answer,
    Application,
    Assignment,
    CriterionScore,
    Edition,
    QuestionKind,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit, lifecycle
from grants.services.assignment import assignment_for_juror
from grants.services.conflicts import conflicted_pairs
from grants.services.discussion import Discussion, discussion
from grants.services.errors import NotFound, ServiceError
from grants.services.parsing import decimal_number

Scores = dict[str, float | None]


def edition_rubric(edition: Edition) -> scoring.Rubric:
    return scoring.get_rubric(edition.rubric_name)


async def review_of(assignment: Assignment) -> tuple[Review | None, dict[str, CriterionScore]]:
    """The assignment's review, if begun, and its scores by criterion."""
    review = await Review.get_or_none(assignment=assignment).prefetch_related("scores")
    if review is None:
        return None, {}
    return review, {s.criterion: s for s in review.scores}


async def review_statuses(assignments: list[Assignment]) -> dict[int, Review | None]:
    """The review of each assignment (None where not begun), in one query."""
    reviews = await Review.filter(assignment_id__in=[a.id for a in assignments])
    by_assignment = {r.assignment_id: r for r in reviews}
    return {a.id: by_assignment.get(a.id) for a in assignments}


@dataclass
class ReviewPage:
    """Everything the juror's review page shows."""

    assignment: Assignment
    application: Application
    edition: Edition
    rubric: scoring.Rubric
    review: Review | None
    scores: dict[str, CriterionScore]
    answers: list[Answer]  # typed answers (files apart), in the form's order
    discussion: Discussion

    @property
    def review_open(self) -> bool:
        return self.edition.status in lifecycle.REVIEW_OPEN


async def review_page(juror: User, assignment_id: int) -> ReviewPage:
    """The juror's own assignment with what they review and what they scored so far."""
    assignment = await assignment_for_juror(juror, assignment_id)
    application = assignment.application
    review, scores = await review_of(assignment)
    answers = (
        await Answer.filter(application=application)
        .exclude(question__kind=QuestionKind.FILE)
        .select_related("question")
        .order_by("question__step", "question__position", "question_id")
    )
    return ReviewPage(
        assignment=assignment,
        application=application,
        edition=application.edition,
        rubric=edition_rubric(application.edition),
        review=review,
        scores=scores,
        answers=list(answers),
        discussion=await discussion(juror, assignment),
    )


def parse_scores(rubric: scoring.Rubric, raw: dict[str, str]) -> tuple[Scores, dict[str, str]]:
    """Each criterion's typed score as a number on its scale (None if blank), and the errors."""
    scores: Scores = {}
    errors: dict[str, str] = {}
    for criterion in rubric.criteria:
        text = (raw.get(criterion.id) or "").strip()
        if not text:
            scores[criterion.id] = None
            continue
        value = decimal_number(text)  # ASCII digits only: no inf, nan or "²"
        if value is None:
            errors[criterion.id] = _("Choose a score.")
            continue
        if not any(abs(value - level) < 1e-9 for level in criterion.scale.levels):
            errors[criterion.id] = _(
                "Choose a score between %(lo)s and %(hi)s.",
                lo=criterion.scale.min,
                hi=criterion.scale.max,
            )
            continue
        scores[criterion.id] = value
    return scores, errors


def completeness_errors(
    rubric: scoring.Rubric, scores: Scores, comments: dict[str, str], overall_comment: str
) -> dict[str, str]:
    """What a submitted review still lacks: a score for every criterion, required comments."""
    errors: dict[str, str] = {}
    for criterion in rubric.criteria:
        if scores.get(criterion.id) is None:
            errors[criterion.id] = _("Score every criterion before submitting.")
        elif criterion.comment_required and not comments.get(criterion.id, "").strip():
            errors[criterion.id] = _("A comment is required for this criterion.")
    if rubric.overall_comment == "required" and not overall_comment.strip():
        errors["overall_comment"] = _("Write an overall comment before submitting.")
    return errors


async def _freeze_rubric(edition: Edition, rubric: scoring.Rubric) -> None:
    """Pin the rubric at the first score; refuse a rubric that changed since (in a transaction)."""
    fresh = await Edition.get(id=edition.id)
    fingerprint = scoring.rubric_fingerprint(rubric)
    if not fresh.rubric_fingerprint:
        fresh.rubric_fingerprint = fingerprint
        await fresh.save(update_fields=["rubric_fingerprint"])
    elif fresh.rubric_fingerprint != fingerprint:
        raise ServiceError(
            _(
                "The rubric of this call changed after scoring began. Ask the organisers: "
                "a new rubric needs a new version."
            )
        )


async def save_review(
    juror: User,
    assignment: Assignment,
    *,
    raw_scores: dict[str, str],
    comments: dict[str, str],
    overall_comment: str,
    submit: bool,
    ip: str = "",
) -> dict[str, str]:
    """Save the juror's scores (draft or submitted); returns field errors (nothing saved if any).

    Only on the juror's own assignment, and never under a conflict of interest (404 otherwise,
    as when opening it): a juror who joined the applying group since cannot score it."""
    if assignment.juror_id != juror.id or await conflicted_pairs(
        juror=juror, application_id=assignment.application_id
    ):
        raise NotFound(_("This review does not exist or is not assigned to you."))
    edition: Edition = assignment.application.edition
    if edition.status not in lifecycle.REVIEW_OPEN:
        raise ServiceError(_("The review phase is closed: scores can no longer be changed."))
    rubric = edition_rubric(edition)
    scores, errors = parse_scores(rubric, raw_scores)
    if submit:
        errors = {**completeness_errors(rubric, scores, comments, overall_comment), **errors}
    if errors:
        return errors
    async with in_transaction():
        await _freeze_rubric(edition, rubric)
        review, before = await review_of(assignment)
        if review is None:
            review = await Review.create(assignment=assignment)
        review.overall_comment = overall_comment.strip()
        if submit:
            review.status = ReviewStatus.SUBMITTED
            review.submitted_at = datetime.now(UTC)
        await review.save()
        for criterion_id, value in scores.items():
            await CriterionScore.update_or_create(
                review=review,
                criterion=criterion_id,
                defaults={"score": value, "comment": comments.get(criterion_id, "").strip()},
            )
        await audit.record(
            "review.submit" if submit else "review.save",
            actor=juror,
            object_type="review",
            object_id=review.id,
            before={k: s.score for k, s in before.items()},
            after=scores,
            ip=ip,
        )
    return {}
