"""Example scoring plugin: an aggregator `example-max` and a rubric `example-quick`.

Installed with `pip install -e tests/plugins/example-scoring-plugin`; found by the
`grants.scoring` entry-point group declared in this package's pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring import load_rubric_text
from scoring.hookspecs import hookimpl

QUICK_RUBRIC = """
id = "example-quick"
version = 1

[title]
en = "Quick check"
fr = "Contrôle rapide"
ru = "Быстрая проверка"

[[criteria]]
id = "relevance"
weight = 1

[criteria.label]
en = "Relevance"
fr = "Pertinence"
ru = "Актуальность"

[criteria.guidance]
en = "Is the project relevant to drug prevention?"
fr = "Le projet est-il pertinent pour la prévention des drogues ?"
ru = "Актуален ли проект для профилактики наркомании?"

[criteria.scale]
min = 0
max = 2
step = 1

[criteria.scale.anchors.0]
en = "No"
fr = "Non"
ru = "Нет"

[criteria.scale.anchors.2]
en = "Yes"
fr = "Oui"
ru = "Да"
"""


class MaxAggregator:
    """Application score = the best review value (optimistic; for demonstration)."""

    name = "example-max"
    description = "maximum of the review values"

    def aggregate(self, values: Sequence[tuple[str, str, float]]) -> dict[str, float]:
        best: dict[str, float] = {}
        for application, _juror, value in values:
            if value > best.get(application, -1.0):
                best[application] = value
        return best


@hookimpl
def register_aggregators() -> list[MaxAggregator]:
    return [MaxAggregator()]


@hookimpl
def register_rubrics() -> list[object]:
    return [load_rubric_text(QUICK_RUBRIC, name="example-quick")]
