"""The ranking for the jury's meeting: every submitted, non-conflicted review through the
edition's rubric and aggregator (the pure `scoring` package), panels combined by their weights."""

from __future__ import annotations

from dataclasses import dataclass

import scoring
from grants.models import Application, Award, Edition, Panel, Review, ReviewStatus, User
from grants.services.conflicts import conflicted_pairs
from grants.services.permissions import require_organiser
from grants.services.review import edition_rubric


async def edition_reviews(edition: Edition) -> list[scoring.Review]:
    """Every submitted review of the edition as scoring data (application = reference), without
    reviews by a juror who has a conflict of interest with the application."""
    reviews = await Review.filter(
        status=ReviewStatus.SUBMITTED, assignment__application__edition=edition
    ).prefetch_related("assignment", "assignment__application", "assignment__panel", "scores")
    conflicted = await conflicted_pairs(edition=edition)
    return [
        scoring.Review(
            application=r.assignment.application.reference,
            juror=str(r.assignment.juror_id),
            scores={s.criterion: s.score for s in r.scores},
            panel=r.assignment.panel.slug,
        )
        for r in reviews
        if (r.assignment.juror_id, r.assignment.application_id) not in conflicted
    ]


async def ranking(user: User, edition: Edition) -> list[scoring.RankedApplication]:
    await require_organiser(user, edition)
    reviews = await edition_reviews(edition)
    used_panels = {r.panel for r in reviews}
    weights = {
        p.slug: p.weight for p in await Panel.filter(edition=edition) if p.slug in used_panels
    }
    return scoring.rank(
        edition_rubric(edition),
        reviews,
        aggregator=edition.aggregator,
        expected_reviews=edition.reviews_per_application,
        panel_weights=weights if len(weights) > 1 else None,
    )


@dataclass
class RankingPage:
    """The ranking with what the organisers' page shows beside it."""

    rows: list[scoring.RankedApplication]
    applications: dict[str, Application]  # by reference
    awards: dict[int, Award]  # by application id
    rubric: scoring.Rubric


async def ranking_page(user: User, edition: Edition) -> RankingPage:
    rows = await ranking(user, edition)
    return RankingPage(
        rows=rows,
        applications={a.reference: a for a in await Application.filter(edition=edition)},
        awards={a.application_id: a for a in await Award.filter(edition=edition)},
        rubric=edition_rubric(edition),
    )
