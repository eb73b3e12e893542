"""Ranking rows, their flags, and the rankers that order them (built-ins and the protocol).

A ranker only orders rows that `scoring.rank.rank` has already scored and flagged;
the built-in ones register through the `register_rankers` hook like any plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from scoring.hookspecs import hookimpl

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

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def order(self, rows: Sequence[RankedApplication]) -> list[RankedApplication]: ...


def _standard_key(row: RankedApplication) -> tuple[float, int, float, str]:
    assert row.score is not None, "rankers only see scored rows"
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
