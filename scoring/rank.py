"""Ranking: review values -> aggregated scores, flags, breakdowns and a deterministic order.

Rules (missing scores, abstentions, gates, panels, tie-breaks, flags) are stated
in docs/rubrics.md; the code comments point at the reason for each choice.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from scoring.aggregate import Aggregator, Review, ReviewValue, ScoreError
from scoring.hookspecs import hookimpl
from scoring.rubric import Rubric

DEFAULT_DISAGREEMENT_THRESHOLD = 30.0
GATE_RULES = ("majority", "any")

FLAG_FAILED_GATE = "failed-gate"
FLAG_HIGH_DISAGREEMENT = "high-disagreement"
FLAG_TOO_FEW_REVIEWS = "too-few-reviews"
FLAG_MISSING_PANEL = "missing-panel"
FLAG_NO_REVIEWS = "no-reviews"

# Scores are compared after rounding so float noise (e.g. z-score vs mean) cannot
# reorder applications that are equal for every practical purpose.
_TIE_DIGITS = 9


@dataclass(frozen=True, slots=True)
class RankedApplication:
    """One row of a ranking. Values are on 0..100; `breakdown` holds raw criterion means."""

    rank: int | None
    application: str
    score: float | None
    reviews: int
    flags: tuple[str, ...]
    breakdown: Mapping[str, float | None]
    spread: float | None
    panel_scores: Mapping[str, float] = field(default_factory=dict)
    abstentions: int = 0
    failed_gates: tuple[str, ...] = ()


@runtime_checkable
class Ranker(Protocol):
    """Orders scored rows best first; must be a total, deterministic order."""

    name: str
    description: str

    def order(self, rows: Sequence[RankedApplication]) -> list[RankedApplication]: ...


def _standard_key(row: RankedApplication) -> tuple[float, int, float, str]:
    assert row.score is not None
    spread = row.spread if row.spread is not None else 0.0
    return (
        -round(row.score, _TIE_DIGITS),
        -row.reviews,
        round(spread, _TIE_DIGITS),
        row.application,
    )


@dataclass(frozen=True, slots=True)
class StandardRanker:
    """Higher score, then more reviews, then lower spread, then application id ascending."""

    name: str = "standard"
    description: str = "score desc, reviews desc, spread asc, application id asc"

    def order(self, rows: Sequence[RankedApplication]) -> list[RankedApplication]:
        return sorted(rows, key=_standard_key)


@dataclass(frozen=True, slots=True)
class GatesFirstRanker:
    """Applications that pass every gate first, each group in the standard order."""

    name: str = "gates-first"
    description: str = "passing gates first, then the standard order"

    def order(self, rows: Sequence[RankedApplication]) -> list[RankedApplication]:
        return sorted(rows, key=lambda r: (FLAG_FAILED_GATE in r.flags, *_standard_key(r)))


BUILTIN_RANKERS: tuple[Ranker, ...] = (StandardRanker(), GatesFirstRanker())


@hookimpl
def register_rankers() -> list[Ranker]:
    """Built-in rankers go through the same hook as third-party ones."""
    return list(BUILTIN_RANKERS)


# --------------------------------------------------------------------------- ranking


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
    if gate_rule not in GATE_RULES:
        raise ValueError(f"gate_rule must be one of {GATE_RULES}, got {gate_rule!r}")
    if panel_weights is not None:
        _check_panel_weights(panel_weights)
    if isinstance(aggregator, str) or isinstance(ranker, str):
        from scoring import plugins  # late import: plugins imports this module

        if isinstance(aggregator, str):
            aggregator = plugins.get_aggregator(aggregator)
        if isinstance(ranker, str):
            ranker = plugins.get_ranker(ranker)

    criteria = rubric.criteria
    ncrit = len(criteria)
    # Per criterion: index, min, span, weight, gate (or None), allowed levels.
    compiled = {
        c.id: (
            i,
            c.scale.min,
            c.scale.max - c.scale.min,
            c.weight,
            c.min_to_pass,
            frozenset(c.scale.levels),
        )
        for i, c in enumerate(criteria)
    }
    by_panel: dict[str, list[ReviewValue]] = defaultdict(list)
    app_values: dict[str, list[float]] = {}
    # Per application: [sum_0, count_0, sum_1, count_1, ...] for the raw breakdown.
    app_crit: dict[str, list[float]] = {}
    # Per application: [below_gate_0, scored_0, ...] counts.
    app_gate: dict[str, list[int]] = {}
    abstentions: dict[str, int] = defaultdict(int)
    apps_panels: dict[str, set[str]] = defaultdict(set)
    seen: set[tuple[str, str]] = set()
    errors: list[str] = []

    for review in reviews:
        app = review.application
        key = (app, review.juror)
        if key in seen:
            errors.append(f"application '{app}', juror '{review.juror}': more than one review")
            continue
        seen.add(key)
        if app not in app_crit:
            app_values[app] = []
            app_crit[app] = [0.0] * (2 * ncrit)
            app_gate[app] = [0] * (2 * ncrit)
        if review.abstain:
            abstentions[app] += 1
            continue
        num = den = 0.0
        crit_acc = app_crit[app]
        gate_acc = app_gate[app]
        for cid, s in review.scores.items():
            info = compiled.get(cid)
            if info is None:
                errors.append(
                    f"application '{app}', juror '{review.juror}': unknown criterion '{cid}'"
                )
                continue
            if s is None:
                continue
            i, lo, span, w, gate, levels = info
            if s not in levels:
                problem = rubric.criteria[i].scale.check(s)
                if problem:
                    errors.append(
                        f"application '{app}', juror '{review.juror}', criterion '{cid}': {problem}"
                    )
                    continue
            num += w * (s - lo) / span
            den += w
            crit_acc[2 * i] += s
            crit_acc[2 * i + 1] += 1
            if gate is not None:
                gate_acc[2 * i + 1] += 1
                if s < gate:
                    gate_acc[2 * i] += 1
        if den == 0.0:
            # Nothing scored: the rule treats this review as an abstention.
            abstentions[app] += 1
            continue
        value = 100.0 * num / den
        app_values[app].append(value)
        by_panel[review.panel].append((app, review.juror, value))
        apps_panels[app].add(review.panel)

    if errors:
        raise ScoreError(errors)

    panel_scores: dict[str, dict[str, float]] = {}
    if panel_weights is None and len(by_panel) <= 1:
        all_values = next(iter(by_panel.values()), [])
        pooled = aggregator.aggregate(all_values)
        for panel in by_panel:
            panel_scores[panel] = pooled
    else:
        for panel, values in by_panel.items():
            panel_scores[panel] = aggregator.aggregate(values)
        if panel_weights is None:
            # Several panels but no weights: pool everyone, as if one panel.
            pooled = aggregator.aggregate([v for vals in by_panel.values() for v in vals])
        else:
            unknown = sorted(set(by_panel) - set(panel_weights))
            if unknown:
                raise ValueError(
                    f"reviews from panel(s) without a weight: {', '.join(unknown)}; "
                    f"panel_weights has {', '.join(sorted(panel_weights))}"
                )
            pooled = combine_panels(panel_scores, panel_weights)

    wanted_panels = (
        {p for p, w in panel_weights.items() if w > 0} if panel_weights is not None else set()
    )
    scored: list[RankedApplication] = []
    unscored: list[RankedApplication] = []
    for app, values in app_values.items():
        crit_acc = app_crit[app]
        gate_acc = app_gate[app]
        breakdown = {
            c.id: (crit_acc[2 * i] / crit_acc[2 * i + 1] if crit_acc[2 * i + 1] else None)
            for i, c in enumerate(criteria)
        }
        failed = []
        for i, c in enumerate(criteria):
            below, n = gate_acc[2 * i], gate_acc[2 * i + 1]
            if below and (gate_rule == "any" or 2 * below > n):
                failed.append(c.id)
        flags = []
        if failed:
            flags.append(FLAG_FAILED_GATE)
        spread = (max(values) - min(values)) if values else None
        if spread is not None and len(values) >= 2 and spread > disagreement_threshold:
            flags.append(FLAG_HIGH_DISAGREEMENT)
        if expected_reviews is not None and len(values) < expected_reviews:
            flags.append(FLAG_TOO_FEW_REVIEWS)
        if wanted_panels and values and not wanted_panels <= apps_panels[app]:
            flags.append(FLAG_MISSING_PANEL)
        score = pooled.get(app)
        if score is None:
            flags.append(FLAG_NO_REVIEWS)
        row = RankedApplication(
            rank=None,
            application=app,
            score=score,
            reviews=len(values),
            flags=tuple(flags),
            breakdown=breakdown,
            spread=spread,
            panel_scores={p: s[app] for p, s in sorted(panel_scores.items()) if app in s},
            abstentions=abstentions.get(app, 0),
            failed_gates=tuple(failed),
        )
        (scored if score is not None else unscored).append(row)

    ordered = ranker.order(scored)
    if sorted(r.application for r in ordered) != sorted(r.application for r in scored):
        raise ValueError(f"ranker '{ranker.name}' did not return exactly the rows it was given")
    result = [_with_rank(row, position) for position, row in enumerate(ordered, start=1)]
    result.extend(sorted(unscored, key=lambda r: r.application))
    return result


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
