"""Reviews, review values and the built-in aggregators.

A review's *value* is a number on 0..100: the weighted mean of its normalised
criterion scores. An *aggregator* turns review values into one score per
application. Formulas and edge-case rules are in docs/rubrics.md.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from scoring.hookspecs import hookimpl
from scoring.rubric import Rubric

#: (application, juror, value on 0..100) — plain tuples keep 50k reviews cheap.
ReviewValue = tuple[str, str, float]


class ScoreError(ValueError):
    """Scores do not fit the rubric; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True, slots=True)
class Review:
    """One juror's scores for one application; None (or absent) = criterion not scored."""

    application: str
    juror: str
    scores: Mapping[str, float | None]
    abstain: bool = False
    panel: str = "default"


@runtime_checkable
class Aggregator(Protocol):
    """Turns review values into one score (0..100) per application."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def aggregate(self, values: Sequence[ReviewValue]) -> dict[str, float]:
        """Score every application that appears in `values` (never empty per application)."""
        ...


def review_value(rubric: Rubric, scores: Mapping[str, float | None]) -> float | None:
    """100 × Σ w·norm / Σ w over the criteria scored; None if nothing is scored (abstention).

    Raises ScoreError for unknown criteria or scores off the scale.
    """
    errors = rubric.score_errors(scores)
    if errors:
        raise ScoreError(errors)
    num = den = 0.0
    for c in rubric.criteria:
        s = scores.get(c.id)
        if s is None:
            continue
        num += c.weight * c.scale.normalise(s)
        den += c.weight
    return 100.0 * num / den if den else None


# --------------------------------------------------------------------------- aggregators


@dataclass(frozen=True, slots=True)
class PerApplication:
    """An aggregator that looks only at each application's own review values."""

    name: str
    func: Callable[[list[float]], float]
    description: str = ""

    def aggregate(self, values: Sequence[ReviewValue]) -> dict[str, float]:
        groups: dict[str, list[float]] = defaultdict(list)
        for app, _juror, value in values:
            groups[app].append(value)
        func = self.func
        return {app: func(vals) for app, vals in groups.items()}


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _trimmed_mean(values: list[float]) -> float:
    # One highest and one lowest value go when there are at least three.
    if len(values) < 3:
        return _mean(values)
    ordered = sorted(values)
    return _mean(ordered[1:-1])


@dataclass(frozen=True, slots=True)
class ZScore:
    """Standardise each juror's values, map back with the overall mean and pooled sd.

    adjusted = M + S · (v − mean_j) / sd_j, clamped to 0..100, where M is the mean of
    all review values and S the pooled within-juror sd (√(Σ n_j·var_j / Σ n_j) over
    jurors with ≥ 2 reviews). A juror with a single review keeps the raw value (no
    basis to correct it); a juror with ≥ 2 identical values gets M (offset removed,
    no spread to scale). The application score is the mean of adjusted values.
    """

    name: str = "z-score"
    description: str = "juror-standardised mean: lenient and strict jurors count alike"

    def aggregate(self, values: Sequence[ReviewValue]) -> dict[str, float]:
        if not values:
            return {}
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for _app, juror, v in values:
            sums[juror] += v
            counts[juror] += 1
        means = {j: sums[j] / counts[j] for j in sums}
        sq: dict[str, float] = defaultdict(float)
        for _app, juror, v in values:
            d = v - means[juror]
            sq[juror] += d * d
        overall_mean = math.fsum(v for _a, _j, v in values) / len(values)
        pooled_ss = pooled_n = 0.0
        sds: dict[str, float] = {}
        for juror, n in counts.items():
            var = sq[juror] / n
            # Relative tolerance: identical floats can leave ~1e-13 residue after division.
            sds[juror] = math.sqrt(var) if n >= 2 and var > 1e-18 else 0.0
            if sds[juror]:
                pooled_ss += sq[juror]
                pooled_n += n
        pooled_sd = math.sqrt(pooled_ss / pooled_n) if pooled_n else 0.0

        app_sums: dict[str, float] = defaultdict(float)
        app_counts: dict[str, int] = defaultdict(int)
        for app, juror, v in values:
            sd = sds[juror]
            if counts[juror] == 1:
                adjusted = v
            elif sd == 0.0:
                adjusted = overall_mean
            else:
                adjusted = overall_mean + pooled_sd * (v - means[juror]) / sd
                adjusted = 0.0 if adjusted < 0.0 else 100.0 if adjusted > 100.0 else adjusted
            app_sums[app] += adjusted
            app_counts[app] += 1
        return {app: app_sums[app] / app_counts[app] for app in app_sums}


WEIGHTED_MEAN = PerApplication(
    "weighted-mean", _mean, "arithmetic mean of review values (each a weighted mean of criteria)"
)
MEDIAN = PerApplication("median", statistics.median, "median of review values")
TRIMMED_MEAN = PerApplication(
    "trimmed-mean", _trimmed_mean, "mean after dropping the highest and lowest value (>= 3 reviews)"
)
Z_SCORE = ZScore()

BUILTIN_AGGREGATORS: tuple[Aggregator, ...] = (WEIGHTED_MEAN, MEDIAN, TRIMMED_MEAN, Z_SCORE)


@hookimpl
def register_aggregators() -> list[Aggregator]:
    """Built-in aggregators go through the same hook as third-party ones."""
    return list(BUILTIN_AGGREGATORS)
