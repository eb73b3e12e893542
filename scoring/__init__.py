"""Pluggable jury scoring: rubrics (TOML), aggregation and trustworthy ranking.

Pure Python, no web or database imports. See docs/rubrics.md.
"""

from scoring.aggregate import Aggregator, Review, ScoreError, review_value
from scoring.plugins import (
    get_aggregator,
    get_ranker,
    get_rubric,
    list_aggregators,
    list_rankers,
    list_rubrics,
    pm,
)
from scoring.rank import combine_panels, rank
from scoring.rankers import RankedApplication, Ranker
from scoring.rubric import (
    Criterion,
    Rubric,
    RubricError,
    RubricFrozenError,
    Scale,
    Text,
    check_rubric_change,
    load_rubric_file,
    load_rubric_text,
    rubric_fingerprint,
    rubric_to_dict,
)

__all__ = [
    "Aggregator",
    "Criterion",
    "RankedApplication",
    "Ranker",
    "Review",
    "Rubric",
    "RubricError",
    "RubricFrozenError",
    "Scale",
    "ScoreError",
    "Text",
    "check_rubric_change",
    "combine_panels",
    "get_aggregator",
    "get_ranker",
    "get_rubric",
    "list_aggregators",
    "list_rankers",
    "list_rubrics",
    "load_rubric_file",
    "load_rubric_text",
    "pm",
    "rank",
    "review_value",
    "rubric_fingerprint",
    "rubric_to_dict",
]
