"""Shared helpers for the scoring tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

VALID_RUBRIC = """
id = "mini"
version = 1

[title]
en = "Mini"
fr = "Mini"
ru = "Мини"

[[criteria]]
id = "needs"
weight = 2
min_to_pass = 2

[criteria.label]
en = "Needs"
fr = "Besoins"
ru = "Потребности"

[criteria.guidance]
en = "Is the need shown?"
fr = "Le besoin est-il démontré ?"
ru = "Показана ли потребность?"

[criteria.scale]
min = 0
max = 4
step = 1

[criteria.scale.anchors.0]
en = "No"
fr = "Non"
ru = "Нет"

[criteria.scale.anchors.4]
en = "Fully"
fr = "Entièrement"
ru = "Полностью"

[[criteria]]
id = "design"
weight = 1

[criteria.label]
en = "Design"
fr = "Conception"
ru = "Структура"

[criteria.guidance]
en = "Is the design sound?"
fr = "La conception est-elle solide ?"
ru = "Продумана ли структура?"

[criteria.scale]
min = 1
max = 5
step = 1

[criteria.scale.anchors.1]
en = "Poor"
fr = "Faible"
ru = "Слабо"

[criteria.scale.anchors.5]
en = "Strong"
fr = "Solide"
ru = "Сильно"
"""


@pytest.fixture(scope="session")
def rubric_text() -> str:
    """A small valid rubric: 'needs' (0..4, weight 2, gate 2) and 'design' (1..5, weight 1)."""
    return VALID_RUBRIC


@pytest.fixture
def write_rubric(tmp_path: Path):
    """Write TOML text to tmp_path/<name> and return the path."""

    def write(text: str, name: str = "mini.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
