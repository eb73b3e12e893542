# mypy: disable-error-code="empty-body"
# (A hookspec is a signature with a docstring; pluggy never runs its body.)
"""Hook specifications for scoring plugins (project name "grants.scoring").

Plugins implement these with `@hookimpl` and are discovered through the
`grants.scoring` entry-point group; see docs/rubrics.md and
tests/plugins/example-scoring-plugin/ for a complete example.
"""

from __future__ import annotations

import pluggy

PROJECT = "grants.scoring"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_rubrics() -> list[object]:
    """Called the first time rubrics are listed or looked up (get_rubric, list_rubrics).

    Return a list whose items are `scoring.Rubric` objects or paths (str or
    pathlib.Path) to rubric TOML files. Files are validated on load; rubric ids must
    be unique across all plugins.
    """


@hookspec
def register_aggregators() -> list[object] | dict[str, object]:
    """Called whenever aggregators are listed or looked up (get_aggregator, list_aggregators).

    Return a list of aggregator objects, or a dict {name: aggregator}. An aggregator
    has `name: str`, `description: str` and
    `aggregate(values: Sequence[tuple[application, juror, value]]) -> dict[application, score]`
    with values and scores on 0..100. Names must be unique across all plugins.
    """


@hookspec
def register_rankers() -> list[object] | dict[str, object]:
    """Called whenever rankers are listed or looked up (get_ranker, list_rankers).

    Return a list of ranker objects, or a dict {name: ranker}. A ranker has
    `name: str`, `description: str` and
    `order(rows: Sequence[RankedApplication]) -> list[RankedApplication]` returning
    the scored rows best first; it must be deterministic (total order). Names must
    be unique across all plugins.
    """
