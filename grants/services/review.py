"""Assigning jurors (through the pure solver), the juror's review, and the ranking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

import scoring
from grants import solver
from grants.i18n import gettext as _
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Bid,
    Conflict,
    CriterionScore,
    Edition,
    EditionStatus,
    Panel,
    PanelMember,
    Review,
    ReviewStatus,
    StatusChange,
    User,
)
from grants.services import audit
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import require_organiser

ASSIGNABLE = (ApplicationStatus.ELIGIBLE, ApplicationStatus.IN_REVIEW)
REVIEW_OPEN = (
    EditionStatus.OPEN,
    EditionStatus.CLOSED,
    EditionStatus.SCREENING,
    EditionStatus.REVIEW,
)
BID_AFFINITY = {"eager": 2.0, "willing": 1.0, "not": -1.0}


def edition_rubric(edition: Edition) -> scoring.Rubric:
    return scoring.get_rubric(edition.rubric_name)


def exclusion_reason(member: PanelMember, application: Application) -> str | None:
    """Why this juror may never review this application (automatic conflicts and language)."""
    group = application.group
    if (
        member.organisation
        and group.organisation
        and member.organisation.strip().lower() == group.organisation.strip().lower()
    ):
        return "same organisation"
    if (
        application.edition.same_country_conflict
        and member.country
        and member.country == group.country
    ):
        return "same country"
    if application.language not in member.languages:
        return "language not read"
    return None


@dataclass(frozen=True)
class AssignmentRun:
    created: int
    kept: int
    total_affinity: float
    dropped: int = 0
    loads: tuple[tuple[str, int], ...] = ()  # (juror's display name, reviews) after the run


class AssignmentImpossible(ServiceError):
    """The solver found no assignment; `reasons` are its explanations, every one of them."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            _("The assignment is impossible as the panel stands:") + " " + "; ".join(reasons)
        )
        self.reasons = list(reasons)


async def conflicted_pairs(edition: Edition) -> set[tuple[int, int]]:
    """(juror user id, application id) of every recorded conflict of the edition."""
    rows = await Conflict.filter(application__edition=edition).values_list(
        "juror_id", "application_id"
    )
    return {(int(j), int(a)) for j, a in rows}


async def run_assignment(
    user: User, edition: Edition, panel: Panel, *, ip: str = ""
) -> AssignmentRun:
    """Solve the panel's assignment; existing assignments are pinned so no review is lost."""
    await require_organiser(user, edition)
    members = await PanelMember.filter(panel=panel).prefetch_related("user")
    applications = await Application.filter(
        edition=edition, status__in=ASSIGNABLE
    ).prefetch_related("group", "category", "edition")
    if not applications:
        raise ServiceError(
            _("No eligible applications to assign yet: screen the submitted applications first.")
        )
    if not members:
        raise ServiceError(_("This panel has no jurors yet."))
    existing = await Assignment.filter(panel=panel)
    declared = await conflicted_pairs(edition)
    bids = (
        {}
        if edition.blind_review
        else {
            (b.juror_id, b.application_id): BID_AFFINITY.get(b.level, 0.0)  # type: ignore[attr-defined]
            for b in await Bid.filter(application__edition=edition)
        }
    )
    conflicts: set[tuple[str, str]] = set()
    affinity: dict[tuple[str, str], float] = {}
    for member in members:
        for application in applications:
            pair = (str(member.user_id), application.reference)  # type: ignore[attr-defined]
            if (member.user_id, application.id) in declared or exclusion_reason(
                member, application
            ):  # type: ignore[attr-defined]
                conflicts.add(pair)
                continue
            score = 0.0
            if application.category and application.category.slug in member.expertise:
                score += 1.0
            score += bids.get((member.user_id, application.id), 0.0)  # type: ignore[attr-defined]
            if score:
                affinity[pair] = score
    by_id = {a.id: a for a in applications}
    # Existing assignments are pinned (no review is lost), except pairs that became forbidden
    # since (a conflict declared or set, a language no longer read): those are dropped.
    current = {
        (str(a.juror_id), by_id[a.application_id].reference): a  # type: ignore[attr-defined]
        for a in existing
        if a.application_id in by_id
    }  # type: ignore[attr-defined]
    dropped = [a for pair, a in current.items() if pair in conflicts]
    pinned = {pair for pair in current if pair not in conflicts}
    problem = solver.Problem(
        reviews_per_application=edition.reviews_per_application,
        jurors=tuple(
            solver.Juror(str(m.user_id), max_load=m.max_load, min_load=m.min_load) for m in members
        ),  # type: ignore[attr-defined]
        applications=tuple(solver.Application(a.reference) for a in applications),
        affinity=affinity,
        conflicts=frozenset(conflicts),
        pinned=frozenset(pinned),
    )
    try:
        solution = solver.solve(problem)
    except solver.Infeasible as exc:
        raise AssignmentImpossible(exc.reasons) from None
    by_reference = {a.reference: a for a in applications}
    created = 0
    async with in_transaction():
        for assignment in dropped:
            await assignment.delete()
            await audit.record(
                "assignment.drop",
                actor=user,
                object_type="assignment",
                object_id=assignment.id,
                before={"juror": assignment.juror_id, "application": assignment.application_id},  # type: ignore[attr-defined]
                ip=ip,
            )
        for juror_id, reference in solution.assignments:
            if (juror_id, reference) in pinned:
                continue
            await Assignment.create(
                panel=panel, juror_id=int(juror_id), application=by_reference[reference]
            )
            created += 1
        for application in applications:
            if application.status == ApplicationStatus.ELIGIBLE:
                application.status = ApplicationStatus.IN_REVIEW
                await application.save(update_fields=["status", "updated_at"])
                await StatusChange.create(
                    application=application,
                    from_status="eligible",
                    to_status="in_review",
                    actor=user,
                )
        await audit.record(
            "assignment.run",
            actor=user,
            object_type="panel",
            object_id=panel.id,
            after={
                "created": created,
                "kept": len(pinned),
                "dropped": len(dropped),
                "total_affinity": solution.total_affinity,
            },
            ip=ip,
        )
    counts: dict[str, int] = {}
    for juror_id, _reference in solution.assignments:
        counts[juror_id] = counts.get(juror_id, 0) + 1
    loads = tuple((m.user.display_name, counts.get(str(m.user_id), 0)) for m in members)  # type: ignore[attr-defined]
    return AssignmentRun(
        created=created,
        kept=len(pinned),
        total_affinity=solution.total_affinity,
        dropped=len(dropped),
        loads=loads,
    )


async def assignments_of(juror: User) -> list[Assignment]:
    """The juror's assignments, without any pair under a conflict of interest."""
    mine = (
        await Assignment.filter(juror=juror)
        .prefetch_related("application", "application__edition", "panel")
        .order_by("application__reference")
    )
    conflicted = set(await Conflict.filter(juror=juror).values_list("application_id", flat=True))
    return [a for a in mine if a.application_id not in conflicted]  # type: ignore[attr-defined]


async def assignment_for_juror(juror: User, assignment_id: int) -> Assignment:
    """The juror's own, non-conflicted assignment; 404 for anything else."""
    assignment = await Assignment.get_or_none(id=assignment_id, juror=juror).prefetch_related(
        "application",
        "application__edition",
        "application__group",
        "application__category",
        "panel",
    )
    if assignment is None or await Conflict.exists(
        juror=juror, application_id=assignment.application_id
    ):  # type: ignore[attr-defined]
        raise NotFound(_("This review does not exist or is not assigned to you."))
    return assignment


async def review_of(assignment: Assignment) -> tuple[Review | None, dict[str, CriterionScore]]:
    review = await Review.get_or_none(assignment=assignment)
    if review is None:
        return None, {}
    return review, {s.criterion: s for s in await CriterionScore.filter(review=review)}


def parse_scores(
    rubric: scoring.Rubric, raw: dict[str, str]
) -> tuple[dict[str, float | None], dict[str, str]]:
    scores: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for criterion in rubric.criteria:
        text = (raw.get(criterion.id) or "").strip()
        if not text:
            scores[criterion.id] = None
            continue
        try:
            value = float(text.replace(",", "."))
        except ValueError:
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
    """Save the juror's scores (draft or submitted); returns field errors (nothing saved if any)."""
    edition: Edition = assignment.application.edition
    if edition.status not in REVIEW_OPEN:
        raise ServiceError(_("The review phase is closed: scores can no longer be changed."))
    rubric = edition_rubric(edition)
    scores, errors = parse_scores(rubric, raw_scores)
    if submit:
        for criterion in rubric.criteria:
            if scores.get(criterion.id) is None and criterion.id not in errors:
                errors[criterion.id] = _("Score every criterion before submitting.")
            if criterion.comment_required and not comments.get(criterion.id, "").strip():
                errors.setdefault(criterion.id, _("A comment is required for this criterion."))
        if rubric.overall_comment == "required" and not overall_comment.strip():
            errors["overall_comment"] = _("Write an overall comment before submitting.")
    if errors:
        return errors
    async with in_transaction():
        fresh = await Edition.get(id=edition.id)
        fingerprint = scoring.rubric_fingerprint(rubric)
        if not fresh.rubric_fingerprint:
            fresh.rubric_fingerprint = fingerprint
            await fresh.save(update_fields=["rubric_fingerprint"])
        elif fresh.rubric_fingerprint != fingerprint:
            raise ServiceError(
                _(
                    "The rubric of this call changed after scoring began. Ask the organisers: a new rubric needs a new version."
                )
            )
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


async def edition_reviews(edition: Edition) -> list[scoring.Review]:
    """Every submitted review of the edition as scoring data (application = reference)."""
    reviews = await Review.filter(
        status=ReviewStatus.SUBMITTED, assignment__application__edition=edition
    ).prefetch_related("assignment", "assignment__application", "assignment__panel", "scores")
    conflicted = await conflicted_pairs(edition)
    reviews = [
        r for r in reviews if (r.assignment.juror_id, r.assignment.application_id) not in conflicted
    ]  # type: ignore[attr-defined]
    return [
        scoring.Review(
            application=r.assignment.application.reference,
            juror=str(r.assignment.juror_id),  # type: ignore[attr-defined]
            scores={s.criterion: s.score for s in r.scores},
            panel=r.assignment.panel.slug,
        )
        for r in reviews
    ]


async def ranking(user: User, edition: Edition) -> list[scoring.RankedApplication]:
    await require_organiser(user, edition)
    panels = await Panel.filter(edition=edition)
    reviews = await edition_reviews(edition)
    used_panels = {r.panel for r in reviews}
    weights = {p.slug: p.weight for p in panels if p.slug in used_panels}
    return scoring.rank(
        edition_rubric(edition),
        reviews,
        aggregator=edition.aggregator,
        expected_reviews=edition.reviews_per_application,
        panel_weights=weights if len(weights) > 1 else None,
    )
