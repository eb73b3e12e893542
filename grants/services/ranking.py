"""The ranking for the jury's meeting: every submitted, non-conflicted review through the
edition's rubric and aggregator (the pure `scoring` package), panels combined by their weights.

The method in force is the edition's `aggregator` and each panel's `weight`; organisers switch it
with `set_method` (audited), and `awards.record_award` records it with every award. Reviews are
read as plain rows (no ORM objects: 50,000 reviews with 8 scores each stay light). A submitted
review of a pair in conflict is kept but not counted: the page lists it with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

import scoring
from grants.i18n import gettext as _
from grants.i18n.labels import juror_name, label
from grants.models import (
    Application,
    AuditEvent,
    Award,
    CriterionScore,
    Edition,
    Panel,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit
from grants.services.conflicts import conflict_reasons
from grants.services.editions import panels_of
from grants.services.errors import refuse_invalid
from grants.services.parsing import decimal_number
from grants.services.permissions import require_organiser
from grants.services.review import edition_rubric

MAX_WEIGHT = 1000
BATCH = 1000  # reviews whose scores are read in one query


@dataclass(frozen=True)
class Method:
    """How the ranking is computed: the aggregator's name and each panel's weight (by slug)."""

    aggregator: str
    panel_weights: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"aggregator": self.aggregator, "panel_weights": dict(self.panel_weights)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Method:
        weights = data.get("panel_weights") or {}
        return cls(str(data.get("aggregator", "")), {str(k): float(v) for k, v in weights.items()})


def method_of(edition: Edition, panels: list[Panel]) -> Method:
    """The method in force: the edition's aggregator and its panels' weights."""
    return Method(edition.aggregator, {p.slug: p.weight for p in panels})


@dataclass(frozen=True, slots=True)
class Excluded:
    """A submitted review kept but not counted: its pair is in conflict (`reason`, in words)."""

    review: scoring.Review
    reason: str


@dataclass
class EditionReviews:
    counted: list[scoring.Review]
    excluded: list[Excluded]


async def _scores_of(review_ids: list[int], known: Mapping[str, str]) -> dict[int, dict]:
    """The criterion scores of these reviews, a batch of ids per query (criterion ids shared)."""
    scores: dict[int, dict[str, float | None]] = {i: {} for i in review_ids}
    for start in range(0, len(review_ids), BATCH):
        for review_id, criterion, score in await CriterionScore.filter(
            review_id__in=review_ids[start : start + BATCH]
        ).values_list("review_id", "criterion", "score"):
            scores[review_id][known.get(criterion, criterion)] = score
    return scores


async def read_reviews(edition: Edition) -> EditionReviews:
    """Every submitted review of the edition as scoring data (application = reference, juror =
    user id as text, panel = slug): those counted, and those of a pair in conflict, with why."""
    rows = (
        await Review.filter(status=ReviewStatus.SUBMITTED, assignment__application__edition=edition)
        .order_by("id")
        .values_list(
            "id",
            "assignment__application__reference",
            "assignment__application_id",
            "assignment__juror_id",
            "assignment__panel__slug",
        )
    )
    known = {c.id: c.id for c in edition_rubric(edition).criteria}
    scores = await _scores_of([row[0] for row in rows], known)
    reasons = await conflict_reasons(edition=edition)
    counted: list[scoring.Review] = []
    excluded: list[Excluded] = []
    for review_id, reference, application_id, juror_id, panel in rows:
        review = scoring.Review(
            application=reference, juror=str(juror_id), scores=scores[review_id], panel=panel
        )
        reason = reasons.get((int(juror_id), int(application_id)))
        if reason is None:
            counted.append(review)
        else:
            excluded.append(Excluded(review, reason))
    return EditionReviews(counted, excluded)


async def edition_reviews(edition: Edition) -> list[scoring.Review]:
    """Every submitted review of the edition as scoring data, without reviews by a juror who has
    a conflict of interest with the application."""
    return (await read_reviews(edition)).counted


def weights_in_force(method: Method, used: set[str]) -> dict[str, float] | None:
    """The panel weights `scoring.rank` gets: those of the panels with counted reviews, or None
    when one panel (or none) has reviews and counts. When none of those panels weighs anything,
    the weighted ones come in too, so the ranking says that they have no review yet."""
    weights = {p: w for p, w in method.panel_weights.items() if p in used}
    if len(weights) < 2 and all(w > 0 for w in weights.values()):
        return None
    if not any(w > 0 for w in weights.values()):
        weights |= {p: w for p, w in method.panel_weights.items() if w > 0}
    return weights if any(w > 0 for w in weights.values()) else None


def _rank(
    edition: Edition, method: Method, reviews: list[scoring.Review]
) -> list[scoring.RankedApplication]:
    return scoring.rank(
        edition_rubric(edition),
        reviews,
        aggregator=method.aggregator,
        expected_reviews=edition.reviews_per_application,
        panel_weights=weights_in_force(method, {r.panel for r in reviews}),
    )


async def ranking(user: User, edition: Edition) -> list[scoring.RankedApplication]:
    await require_organiser(user, edition)
    method = method_of(edition, await panels_of(edition))
    reviews = await edition_reviews(edition)
    return await asyncio.to_thread(_rank, edition, method, reviews)


# --- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """What the ranking shows of an application."""

    id: int
    reference: str
    title: str


@dataclass(frozen=True, slots=True)
class JurorScore:
    """One juror's review of an application: its value on 0..100 (None: nothing scored) and, for
    a review not counted, why."""

    juror: str  # the name organisers read
    panel: str  # slug
    value: float | None
    excluded: str = ""


@dataclass(frozen=True, slots=True)
class AggregatorChoice:
    name: str
    label: str
    description: str


@dataclass
class RankingPage:
    """The ranking with what the organisers' page shows beside it."""

    rows: list[scoring.RankedApplication]
    applications: dict[str, ApplicationRow]  # by reference
    awards: dict[int, Award]  # by application id
    rubric: scoring.Rubric
    panels: list[Panel] = field(default_factory=list)
    method: Method = field(default_factory=lambda: Method("weighted-mean", {}))
    aggregators: list[AggregatorChoice] = field(default_factory=list)
    jurors: dict[str, list[JurorScore]] = field(default_factory=dict)  # by reference
    excluded: list[tuple[str, JurorScore]] = field(default_factory=list)  # (reference, review)
    recorded: dict[int, Method] = field(default_factory=dict)  # by application id: with awards


def aggregator_choices() -> list[AggregatorChoice]:
    """Every aggregator the scoring registry knows (built-in and plug-ins), in words."""
    return [
        AggregatorChoice(a.name, label("aggregator", a.name), a.description)
        for a in scoring.list_aggregators()
    ]


async def _juror_names(reviews: list[scoring.Review]) -> dict[str, str]:
    ids = {int(r.juror) for r in reviews}
    return {
        str(user_id): juror_name(name, erased)
        for user_id, name, erased in await User.filter(id__in=list(ids)).values_list(
            "id", "display_name", "erased_at"
        )
    }


def _juror_scores(
    rubric: scoring.Rubric, read: EditionReviews, names: Mapping[str, str]
) -> tuple[dict[str, list[JurorScore]], list[tuple[str, JurorScore]]]:
    jurors: dict[str, list[JurorScore]] = {}
    excluded: list[tuple[str, JurorScore]] = []
    every = [(r, "") for r in read.counted] + [(e.review, e.reason) for e in read.excluded]
    for review, reason in every:
        score = JurorScore(
            names.get(review.juror, review.juror),
            review.panel,
            scoring.review_value(rubric, review.scores),
            reason,
        )
        jurors.setdefault(review.application, []).append(score)
        if reason:
            excluded.append((review.application, score))
    for scores in jurors.values():
        scores.sort(key=lambda s: (bool(s.excluded), s.panel, s.juror))
    excluded.sort(key=lambda pair: (pair[0], pair[1].juror))
    return jurors, excluded


async def ranking_page(user: User, edition: Edition) -> RankingPage:
    await require_organiser(user, edition)
    panels = await panels_of(edition)
    method = method_of(edition, panels)
    read = await read_reviews(edition)
    rubric = edition_rubric(edition)
    names = await _juror_names([*read.counted, *(e.review for e in read.excluded)])
    # Pure computing (scoring): in a thread, so the server goes on answering meanwhile.
    jurors, excluded = await asyncio.to_thread(_juror_scores, rubric, read, names)
    return RankingPage(
        rows=await asyncio.to_thread(_rank, edition, method, read.counted),
        applications={
            reference: ApplicationRow(application_id, reference, title)
            for application_id, reference, title in await Application.filter(
                edition=edition
            ).values_list("id", "reference", "title")
        },
        awards={a.application_id: a for a in await Award.filter(edition=edition)},
        rubric=rubric,
        panels=panels,
        method=method,
        aggregators=aggregator_choices(),
        jurors=jurors,
        excluded=excluded,
        recorded=await recorded_methods(edition),
    )


async def recorded_methods(edition: Edition) -> dict[int, Method]:
    """The method in force when each award of the edition was last recorded (by application id),
    as `awards.record_award` wrote it into the audit trail."""
    ids = [
        str(i) for i in await Award.filter(edition=edition).values_list("application_id", flat=True)
    ]
    events = (
        await AuditEvent.filter(action="award.record", object_type="application", object_id__in=ids)
        .order_by("id")
        .values_list("object_id", "after")
    )
    return {
        int(object_id): Method.from_dict(after["ranking"])
        for object_id, after in events
        if isinstance(after, dict) and isinstance(after.get("ranking"), dict)
    }


# --- switching the method ----------------------------------------------------------------------


def _weight(text: str) -> tuple[float | None, str | None]:
    """The weight typed, or why it is none."""
    number = decimal_number(text or "", -float(MAX_WEIGHT), float(MAX_WEIGHT))
    if number is None:
        return None, _(
            "Enter a weight as a number from 0 to %(n)s, such as 1 or 0.5.", n=MAX_WEIGHT
        )
    if number < 0:
        return None, _("A weight cannot be negative: enter 0 to leave the panel out.")
    return float(number), None


def _check_method(panels: list[Panel], *, aggregator: str, typed: Mapping[str, str]) -> Method:
    errors: dict[str, str] = {}
    if aggregator not in {a.name for a in scoring.list_aggregators()}:
        errors["aggregator"] = _("Choose one of the aggregators offered.")
    weights: dict[str, float] = {}
    for panel in panels:
        weight, problem = _weight(typed.get(f"weight_{panel.id}", ""))
        if problem:
            errors[f"weight_{panel.id}"] = problem
        elif weight is not None:
            weights[panel.slug] = weight
    if panels and len(weights) == len(panels) and not any(w > 0 for w in weights.values()):
        errors[f"weight_{panels[0].id}"] = _("At least one panel needs a weight above 0.")
    refuse_invalid(errors)
    return Method(aggregator, weights)


async def set_method(
    user: User,
    edition: Edition,
    *,
    aggregator: str,
    weights: Mapping[str, str],
    ip: str = "",
) -> Method:
    """Switch the aggregator and the panels' weights (`weights`: the typed `weight_<panel id>`
    values); InvalidInput names each wrong field. Audited with the method before and after."""
    await require_organiser(user, edition)
    panels = await panels_of(edition)
    before = method_of(edition, panels)
    method = _check_method(panels, aggregator=aggregator.strip(), typed=weights)
    async with in_transaction():
        edition.aggregator = method.aggregator
        await edition.save(update_fields=["aggregator"])
        for panel in panels:
            if panel.weight != method.panel_weights[panel.slug]:
                panel.weight = method.panel_weights[panel.slug]
                await panel.save(update_fields=["weight"])
        await audit.record(
            "ranking.method",
            actor=user,
            object_type="edition",
            object_id=edition.id,
            before=before.as_dict(),
            after=method.as_dict(),
            ip=ip,
        )
    return method
