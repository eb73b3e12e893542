"""The single plugin manager `pm` and the registry look-ups built on its hooks.

Built-in rubrics, aggregators and rankers are registered through the same hooks
as third-party plugins (DEFAULT_PLUGINS). Third-party packages are discovered via
the `grants.scoring` entry-point group the first time a registry is consulted, so
importing `scoring` stays cheap and side-effect free.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pluggy

from scoring import hookspecs
from scoring.aggregate import Aggregator
from scoring.rankers import Ranker
from scoring.rubric import Rubric, RubricError, load_rubric_file

ENTRY_POINT_GROUP = "grants.scoring"
TRACE_ENV = "GRANTS_TRACE_HOOKS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "scoring.rubrics",
    "scoring.aggregate",
    "scoring.rankers",
)

pm = pluggy.PluginManager(hookspecs.PROJECT)
pm.add_hookspecs(hookspecs)
for _name in DEFAULT_PLUGINS:
    pm.register(importlib.import_module(_name), name=_name)

T = TypeVar("T")

_loaded = False
_lock = threading.Lock()


class PluginError(RuntimeError):
    """A plugin returned something unusable or a name clashes with another plugin."""


def ensure_plugins_loaded() -> None:
    """Load entry-point plugins once, and switch on tracing if GRANTS_TRACE_HOOKS=1."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        if os.environ.get(TRACE_ENV) == "1":
            pm.trace.root.setwriter(sys.stderr.write)
            pm.enable_tracing()
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        _loaded = True


# --------------------------------------------------------------------------- rubrics


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int) -> Rubric:
    # mtime is part of the key so an edited file is re-read, never served stale.
    return load_rubric_file(path)


def _rubrics() -> dict[str, Rubric]:
    ensure_plugins_loaded()
    found: dict[str, Rubric] = {}
    errors: list[str] = []
    for result in pm.hook.register_rubrics():
        for item in _as_list(result, "register_rubrics"):
            if isinstance(item, Rubric):
                rubric = item
            elif isinstance(item, str | Path):
                path = Path(item)
                try:
                    rubric = _load_cached(str(path), path.stat().st_mtime_ns)
                except FileNotFoundError:
                    errors.append(f"{path}: rubric file not found")
                    continue
                except RubricError as exc:
                    errors.extend(exc.errors)
                    continue
            else:
                raise PluginError(f"register_rubrics returned {item!r}, not a Rubric or a path")
            if rubric.id in found:
                raise PluginError(
                    f"rubric id '{rubric.id}' is registered twice "
                    f"({found[rubric.id].source or 'in code'} and {rubric.source or 'in code'})"
                )
            found[rubric.id] = rubric
    if errors:
        raise RubricError(errors)
    return found


def list_rubrics() -> list[Rubric]:
    """Every registered rubric, sorted by id."""
    return sorted(_rubrics().values(), key=lambda r: r.id)


def get_rubric(name: str) -> Rubric:
    """The rubric with id `name`; KeyError naming the known ids if absent."""
    return _pick("rubric", name, _rubrics())


# --------------------------------------------------------------------------- aggregators / rankers


def _named(hook_results: Iterable[Any], hook: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for result in hook_results:
        items = result.values() if isinstance(result, dict) else _as_list(result, hook)
        for obj in items:
            name = getattr(obj, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"{hook} returned {obj!r} without a string 'name'")
            if name in found:
                raise PluginError(f"{kind} '{name}' is registered twice")
            found[name] = obj
    return found


def _aggregators() -> dict[str, Aggregator]:
    ensure_plugins_loaded()
    return _named(pm.hook.register_aggregators(), "register_aggregators", "aggregator")


def _rankers() -> dict[str, Ranker]:
    ensure_plugins_loaded()
    return _named(pm.hook.register_rankers(), "register_rankers", "ranker")


def list_aggregators() -> list[Aggregator]:
    """Every registered aggregator, sorted by name."""
    return [a for _, a in sorted(_aggregators().items())]


def get_aggregator(name: str) -> Aggregator:
    """The aggregator called `name`; KeyError naming the known ones if absent."""
    return _pick("aggregator", name, _aggregators())


def list_rankers() -> list[Ranker]:
    """Every registered ranker, sorted by name."""
    return [r for _, r in sorted(_rankers().items())]


def get_ranker(name: str) -> Ranker:
    """The ranker called `name`; KeyError naming the known ones if absent."""
    return _pick("ranker", name, _rankers())


def _as_list(result: Any, hook: str) -> list[Any]:
    if isinstance(result, list | tuple):
        return list(result)
    raise PluginError(f"{hook} must return a list, got {type(result).__name__}")


def _pick(kind: str, name: str, found: Mapping[str, T]) -> T:
    """found[name]; KeyError naming the known ones if absent."""
    try:
        return found[name]
    except KeyError:
        known = ", ".join(sorted(found)) or "none"
        raise KeyError(f"unknown {kind} '{name}' (known: {known})") from None
