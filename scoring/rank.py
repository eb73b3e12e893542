"""Ranking: review values -> aggregated scores, flags, breakdowns and a deterministic order.

`rank` runs five steps, each a function below: check the options, read the reviews
into one tally per application, score the panels, build one flagged row per
application, order the rows. The rules are stated in docs/rubrics.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from scoring import plugins
from scoring.aggregate import Aggregator, Review, ReviewValue, ScoreError
from scoring.rankers import (
    FLAG_FAILED_GATE,
    FLAG_HIGH_DISAGREEMENT,
    FLAG_MISSING_PANEL,
    FLAG_NO_REVIEWS,
    FLAG_TOO_FEW_REVIEWS,
    RankedApplication,
    Ranker,
)
from scoring.rubric import Rubric, Scale

DEFAULT_DISAGREEMENT_THRESHOLD = 30.0
GATE_RULES = ("majority", "any")


def rank(
    rubric: Rubric,
    reviews: Iterable[Review],
    *,
    aggregator: str | Aggregator = "weighted-mean",
    ranker: str | Ranker = "standard",
    expected_reviews: int | None = None,
    disagreement_threshold: float = DEFAULT_DISAGREEMENT_THRESHOLD,
    gate_rule: str = "majority",
    panel_weights: Mapping[str, float] | None = None,
) -> list[RankedApplication]:
    """Aggregate reviews and rank applications, best first.

    Raises ScoreError (listing every bad score) if a review does not fit the rubric,
    ValueError for bad parameters, KeyError for unknown aggregator/ranker names.
    Applications whose reviews are all abstentions come last with rank/score None.
    """
    rules = _Rules.check(
        gate_rule=gate_rule,
        disagreement_threshold=disagreement_threshold,
        expected_reviews=expected_reviews,
        panel_weights=panel_weights,
    )
    if isinstance(aggregator, str):
        aggregator = plugins.get_aggregator(aggregator)
    if isinstance(ranker, str):
        ranker = plugins.get_ranker(ranker)
    tallies, by_panel = _read_reviews(rubric, reviews)
    panel_scores = {panel: aggregator.aggregate(values) for panel, values in by_panel.items()}
    scores = _application_scores(
        by_panel, panel_scores, aggregator=aggregator, panel_weights=panel_weights
    )
    panels = sorted(panel_scores.items())
    rows = [
        _row(app, tally, rubric=rubric, score=scores.get(app), panel_scores=panels, rules=rules)
        for app, tally in tallies.items()
    ]
    return _order(rows, ranker)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class _Rules:
    """The options that decide gates and flags, checked once."""

    gate_rule: str
    disagreement_threshold: float
    expected_reviews: int | None
    wanted_panels: frozenset[str]  # panels with a positive weight (empty without weights)

    @classmethod
    def check(
        cls,
        *,
        gate_rule: str,
        disagreement_threshold: float,
        expected_reviews: int | None,
        panel_weights: Mapping[str, float] | None,
    ) -> _Rules:
        """The rules for these options; ValueError for an unknown gate rule or bad weights."""
        if gate_rule not in GATE_RULES:
            raise ValueError(f"gate_rule must be one of {GATE_RULES}, got {gate_rule!r}")
        wanted: frozenset[str] = frozenset()
        if panel_weights is not None:
            _check_panel_weights(panel_weights)
            wanted = frozenset(p for p, w in panel_weights.items() if w > 0)
        return cls(gate_rule, disagreement_threshold, expected_reviews, wanted)


def _check_panel_weights(weights: Mapping[str, float]) -> None:
    bad = [
        p
        for p, w in weights.items()
        if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0)
    ]
    if bad:
        raise ValueError(f"panel weights must be finite and >= 0: {', '.join(sorted(bad))}")
    if not any(w > 0 for w in weights.values()):
        raise ValueError("at least one panel weight must be positive")


# --------------------------------------------------------------------------- reading reviews


class _Criterion(NamedTuple):
    """What the review loop needs of one criterion, looked up once per rubric."""

    position: int  # in rubric.criteria
    low: float  # scale minimum
    span: float  # scale maximum - minimum
    weight: float
    gate: float | None  # min_to_pass
    levels: frozenset[float]  # allowed scores (a fast path before Scale.check)
    scale: Scale


@dataclass(slots=True)
class _Tally:
    """One application's reviews, summed up as they are read; lists are per criterion."""

    sums: list[float]  # raw scores given
    counts: list[int]  # counted reviews that scored the criterion
    below: list[int]  # of those, scores below the criterion's gate
    jurors: set[str] = field(default_factory=set)  # every reviewer, abstaining or not
    values: list[float] = field(default_factory=list)  # review values (0..100)
    panels: set[str] = field(default_factory=set)  # panels of the counted reviews
    abstentions: int = 0


def _read_reviews(
    rubric: Rubric, reviews: Iterable[Review]
) -> tuple[dict[str, _Tally], dict[str, list[ReviewValue]]]:
    """Tally every application that has a review, and list the review values per panel.

    Abstentions (`abstain=True` or nothing scored) are only counted. Raises
    ScoreError listing every unknown criterion, off-scale score and second review
    by the same juror, in the order the reviews came.
    """
    criteria = {
        c.id: _Criterion(
            i,
            c.scale.min,
            c.scale.max - c.scale.min,
            c.weight,
            c.min_to_pass,
            frozenset(c.scale.levels),
            c.scale,
        )
        for i, c in enumerate(rubric.criteria)
    }
    size = len(criteria)
    tallies: dict[str, _Tally] = {}
    by_panel: dict[str, list[ReviewValue]] = defaultdict(list)
    errors: list[str] = []
    for review in reviews:
        app, juror = review.application, review.juror
        tally = tallies.get(app)
        if tally is None:
            tally = tallies[app] = _Tally([0.0] * size, [0] * size, [0] * size)
        if juror in tally.jurors:
            errors.append(f"application '{app}', juror '{juror}': more than one review")
            continue
        tally.jurors.add(juror)
        value = None if review.abstain else _add_scores(review, tally, criteria, errors)
        if value is None:
            tally.abstentions += 1
            continue
        tally.values.append(value)
        tally.panels.add(review.panel)
        by_panel[review.panel].append((app, juror, value))
    if errors:
        raise ScoreError(errors)
    return tallies, by_panel


def _add_scores(
    review: Review, tally: _Tally, criteria: Mapping[str, _Criterion], errors: list[str]
) -> float | None:
    """Add one review's scores to `tally` and return its value; None if nothing is scored.

    The value is 100 × Σ w·norm / Σ w over the criteria scored (as `review_value`).
    Unknown criteria and scores off the scale are appended to `errors` and skipped.
    """
    num = den = 0.0
    sums, counts, below = tally.sums, tally.counts, tally.below
    for cid, s in review.scores.items():
        info = criteria.get(cid)
        if info is None:
            errors.append(
                f"application '{review.application}', juror '{review.juror}': "
                f"unknown criterion '{cid}'"
            )
            continue
        if s is None:
            continue
        i, low, span, weight, gate, levels, scale = info
        if s not in levels and (problem := scale.check(s)):
            errors.append(
                f"application '{review.application}', juror '{review.juror}', "
                f"criterion '{cid}': {problem}"
            )
            continue
        num += weight * (s - low) / span
        den += weight
        sums[i] += s
        counts[i] += 1
        if gate is not None and s < gate:
            below[i] += 1
    return 100.0 * num / den if den else None


# --------------------------------------------------------------------------- scores


def _application_scores(
    by_panel: Mapping[str, list[ReviewValue]],
    panel_scores: Mapping[str, dict[str, float]],
    *,
    aggregator: Aggregator,
    panel_weights: Mapping[str, float] | None,
) -> dict[str, float]:
    """Each application's score: panels combined by weight, or every review pooled.

    With weights, a panel that has reviews but no weight is a ValueError. Without
    weights and with one panel, the pooled score is that panel's score.
    """
    if panel_weights is not None:
        unknown = sorted(set(by_panel) - set(panel_weights))
        if unknown:
            raise ValueError(
                f"reviews from panel(s) without a weight: {', '.join(unknown)}; "
                f"panel_weights has {', '.join(sorted(panel_weights))}"
            )
        return combine_panels(panel_scores, panel_weights)
    if len(panel_scores) == 1:
        return next(iter(panel_scores.values()))
    return aggregator.aggregate([v for values in by_panel.values() for v in values])


def combine_panels(
    panel_scores: Mapping[str, Mapping[str, float]], panel_weights: Mapping[str, float]
) -> dict[str, float]:
    """Weighted average per application over the panels that scored it.

    A panel without a score for an application is left out and the remaining
    weights are renormalised; an application with no weighted panel gets no score.
    """
    _check_panel_weights(panel_weights)
    apps = {app for scores in panel_scores.values() for app in scores}
    combined: dict[str, float] = {}
    for app in sorted(apps):
        num = den = 0.0
        for panel, weight in panel_weights.items():
            s = panel_scores.get(panel, {}).get(app)
            if s is not None and weight > 0:
                num += weight * s
                den += weight
        if den:
            combined[app] = num / den
    return combined


# --------------------------------------------------------------------------- rows


def _row(
    app: str,
    tally: _Tally,
    *,
    rubric: Rubric,
    score: float | None,
    panel_scores: list[tuple[str, dict[str, float]]],
    rules: _Rules,
) -> RankedApplication:
    """The unranked row of one application (`panel_scores` sorted by panel)."""
    values = tally.values
    failed = _failed_gates(rubric, tally, rules.gate_rule)
    spread = (max(values) - min(values)) if values else None
    breakdown = {
        c.id: (tally.sums[i] / tally.counts[i] if tally.counts[i] else None)
        for i, c in enumerate(rubric.criteria)
    }
    return RankedApplication(
        rank=None,
        application=app,
        score=score,
        reviews=len(values),
        flags=_flags(tally, failed=failed, spread=spread, score=score, rules=rules),
        breakdown=breakdown,
        spread=spread,
        panel_scores={p: s[app] for p, s in panel_scores if app in s},
        abstentions=tally.abstentions,
        failed_gates=failed,
    )


def _failed_gates(rubric: Rubric, tally: _Tally, gate_rule: str) -> tuple[str, ...]:
    """Criteria whose gate fails: one review below it ("any"), or more than half ("majority").

    "Half" is of the counted reviews that scored the criterion.
    """
    return tuple(
        c.id
        for i, c in enumerate(rubric.criteria)
        if tally.below[i] and (gate_rule == "any" or 2 * tally.below[i] > tally.counts[i])
    )


def _flags(
    tally: _Tally,
    *,
    failed: tuple[str, ...],
    spread: float | None,
    score: float | None,
    rules: _Rules,
) -> tuple[str, ...]:
    """The row's flags, in the order of the table in docs/rubrics.md."""
    # An if per flag, not a table of (flag, condition) pairs: this runs once per
    # application and the pairs' allocations wake the garbage collector.
    reviews = len(tally.values)
    flags = []
    if failed:
        flags.append(FLAG_FAILED_GATE)
    if reviews >= 2 and spread is not None and spread > rules.disagreement_threshold:
        flags.append(FLAG_HIGH_DISAGREEMENT)
    if rules.expected_reviews is not None and reviews < rules.expected_reviews:
        flags.append(FLAG_TOO_FEW_REVIEWS)
    if rules.wanted_panels and reviews and not rules.wanted_panels <= tally.panels:
        flags.append(FLAG_MISSING_PANEL)
    if score is None:
        flags.append(FLAG_NO_REVIEWS)
    return tuple(flags)


# --------------------------------------------------------------------------- order


def _order(rows: list[RankedApplication], ranker: Ranker) -> list[RankedApplication]:
    """Scored rows in the ranker's order, ranked 1..n, then unscored rows by id, unranked.

    ValueError if the ranker drops, adds or repeats a row.
    """
    scored = [row for row in rows if row.score is not None]
    unscored = sorted((row for row in rows if row.score is None), key=lambda r: r.application)
    ordered = ranker.order(scored)
    if sorted(r.application for r in ordered) != sorted(r.application for r in scored):
        raise ValueError(f"ranker '{ranker.name}' did not return exactly the rows it was given")
    return [_with_rank(row, position) for position, row in enumerate(ordered, start=1)] + unscored


def _with_rank(row: RankedApplication, position: int) -> RankedApplication:
    # dataclasses.replace is ~5x slower; this runs 10k times in the benchmark.
    return RankedApplication(
        position,
        row.application,
        row.score,
        row.reviews,
        row.flags,
        row.breakdown,
        row.spread,
        row.panel_scores,
        row.abstentions,
        row.failed_gates,
    )
