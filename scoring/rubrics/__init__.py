"""Built-in rubric files; registered through the `register_rubrics` hook like any plugin."""

from __future__ import annotations

from pathlib import Path

from scoring.hookspecs import hookimpl

RUBRICS_DIR = Path(__file__).parent


@hookimpl
def register_rubrics() -> list[Path]:
    """Every *.toml next to this module, in name order."""
    return sorted(RUBRICS_DIR.glob("*.toml"))
