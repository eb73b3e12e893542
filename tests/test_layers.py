"""Every import points down: web → services → models; scoring/ and the solver stay pure.

Read from the source, so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What may load Starlette: the web layer and what assembles or serves it.
ABOVE_SERVICES = ("grants.web", "grants.app", "grants.cli", "grants.serve")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, as absolute dotted names."""
    names: set[str] = set()
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules(*folders: str) -> list[tuple[str, set[str]]]:
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                found.append((module_name(path), imports_of(path)))
    return found


def importing(imports: set[str], *prefixes: str) -> list[str]:
    return sorted(i for i in imports if any(i == p or i.startswith(p + ".") for p in prefixes))


def test_nothing_below_the_web_layer_imports_starlette_or_the_web_layer():
    below = [
        (name, found)
        for name, found in modules("grants")
        if not any(name == top or name.startswith(top + ".") for top in ABOVE_SERVICES)
    ]
    assert len(below) > 30  # the check reads the real tree
    broken = {
        name: importing(found, "starlette", "grants.web")
        for name, found in below
        if importing(found, "starlette", "grants.web")
    }
    assert broken == {}


def test_models_do_not_import_services():
    models = modules("grants/models")
    assert models
    broken = {
        name: importing(found, "grants.services", "grants.web")
        for name, found in models
        if importing(found, "grants.services", "grants.web")
    }
    assert broken == {}


@pytest.mark.parametrize("folder", ["scoring", "grants/solver"])
def test_scoring_and_the_solver_are_pure(folder):
    pure = modules(folder)
    assert pure
    broken = {
        name: importing(
            found, "starlette", "tortoise", "grants.web", "grants.services", "grants.models"
        )
        for name, found in pure
        if importing(
            found, "starlette", "tortoise", "grants.web", "grants.services", "grants.models"
        )
    }
    assert broken == {}


def test_the_checks_see_a_broken_rule(tmp_path):
    """The reader itself: a lazy, relative import of the web layer is found."""
    module = ROOT / "grants" / "services" / "_layer_probe.py"
    try:
        module.write_text(
            "def later():\n    from ..web import common\n    import starlette.requests\n"
        )
        found = imports_of(module)
    finally:
        module.unlink()
    assert importing(found, "starlette", "grants.web") == [
        "grants.web",
        "grants.web.common",
        "starlette.requests",
    ]
