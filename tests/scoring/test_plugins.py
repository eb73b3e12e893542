"""Plugin hooks, the shared plugin manager and entry-point discovery."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import hookspecs, plugins
from scoring.hookspecs import hookimpl
from scoring.plugins import PluginError

REPO = Path(__file__).resolve().parents[2]
PLUGIN_INSTALL = f"{REPO}/.venv/bin/pip install -e tests/plugins/example-scoring-plugin"


class Aggregator:
    name = "test-min"
    description = "smallest review value"

    def aggregate(self, values):
        out: dict[str, float] = {}
        for app, _juror, value in values:
            out[app] = min(value, out.get(app, 100.0))
        return out


class Ranker:
    name = "test-alphabetical"
    description = "by application id"

    def order(self, rows):
        return sorted(rows, key=lambda r: r.application)


@pytest.fixture
def register():
    """Register plugin objects on the global manager for one test only."""
    added = []

    def add(plugin: object) -> None:
        plugins.pm.register(plugin)
        added.append(plugin)

    yield add
    for plugin in added:
        plugins.pm.unregister(plugin)


def hook_names() -> list[str]:
    return [
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, f"{hookspecs.PROJECT}_spec")
    ]


def test_hook_register_rubrics(register, write_rubric, rubric_text):
    path = write_rubric(rubric_text.replace('id = "mini"', 'id = "from-plugin"'), "p.toml")

    class RubricPlugin:
        @hookimpl
        def register_rubrics(self):
            return [path]

    register(RubricPlugin())
    assert plugins.get_rubric("from-plugin").source == str(path)
    assert "from-plugin" in [r.id for r in plugins.list_rubrics()]


def test_hook_register_aggregators(register):
    class AggregatorPlugin:
        @hookimpl
        def register_aggregators(self):
            return {"test-min": Aggregator()}

    register(AggregatorPlugin())
    assert plugins.get_aggregator("test-min").aggregate([("A", "j", 20.0), ("A", "k", 70.0)]) == {
        "A": 20.0
    }


def test_hook_register_rankers(register):
    class RankerPlugin:
        @hookimpl
        def register_rankers(self):
            return [Ranker()]

    register(RankerPlugin())
    assert plugins.get_ranker("test-alphabetical").name == "test-alphabetical"
    assert {"standard", "gates-first", "test-alphabetical"} <= {
        r.name for r in plugins.list_rankers()
    }


def test_builtins_register_through_the_same_hooks():
    names = {plugins.pm.get_name(p) for p in plugins.pm.get_plugins()}
    assert set(plugins.DEFAULT_PLUGINS) <= names
    assert {"weighted-mean", "median", "trimmed-mean", "z-score"} <= {
        a.name for a in plugins.list_aggregators()
    }


def test_name_clash_between_plugins_is_an_error(register):
    class Clash:
        @hookimpl
        def register_aggregators(self):
            return [type("Dup", (Aggregator,), {"name": "median"})()]

    register(Clash())
    with pytest.raises(PluginError, match="aggregator 'median' is registered twice"):
        plugins.get_aggregator("median")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown aggregator 'nope' \\(known: .*weighted-mean"):
        plugins.get_aggregator("nope")


def test_every_hook_is_documented():
    doc = (REPO / "docs" / "rubrics.md").read_text(encoding="utf-8")
    assert hook_names() == ["register_aggregators", "register_rankers", "register_rubrics"]
    missing = [name for name in hook_names() if f"`{name}()`" not in doc]
    assert not missing, f"hooks not documented in docs/rubrics.md: {missing}"


def test_example_plugin_is_installed_and_found_by_entry_point():
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="grants.scoring")}
    assert found.get("example") == "grants_example_scoring_plugin", (
        f"example plugin not installed; run: {PLUGIN_INSTALL}"
    )
    assert plugins.get_aggregator("example-max").name == "example-max"
    assert plugins.get_rubric("example-quick").version == 1


def test_trace_env_var_prints_hook_calls_to_stderr():
    env = dict(os.environ, GRANTS_TRACE_HOOKS="1")
    code = "from scoring import plugins; plugins.list_aggregators()"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "register_aggregators [hook]" in proc.stderr


def test_importing_scoring_does_not_load_entry_points_or_web_stack():
    code = (
        "import sys, scoring; from scoring import plugins;"
        "assert not plugins._loaded;"
        "assert not {'starlette', 'tortoise'} & set(sys.modules), sorted(sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
