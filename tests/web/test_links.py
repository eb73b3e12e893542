"""Links in mail name the app's own routes: a path is written once, where its route is declared."""

from __future__ import annotations

import ast
from pathlib import Path

from grants.app import create_app
from grants.settings import Settings

SERVICES = Path(__file__).resolve().parents[2] / "grants" / "services"


def links_named_in_services() -> list[tuple[str, frozenset[str], str]]:
    """(route name, parameter names, where) of every `links("name", ...)` call in the services."""
    found = []
    for path in sorted(SERVICES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "links"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                params = frozenset(k.arg for k in node.keywords if k.arg)
                found.append((node.args[0].value, params, f"{path.name}:{node.lineno}"))
    return found


def test_every_mail_link_names_a_route_with_its_parameters(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, secret_key="x"), manage_database=False)
    named = links_named_in_services()
    assert {name for name, _params, _where in named} >= {
        "verify",
        "reset_password",
        "invitation",
        "jury_invitation",
        "receipt",
        "jury",
    }
    for name, params, where in named:
        route = app.state.route_by_name.get(name)
        assert route is not None, f"{where}: no route named {name!r}"
        assert set(route.param_convertors) == params, where


def test_route_names_are_unique_so_every_link_finds_its_one_route(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, secret_key="x"), manage_database=False)
    names = [route.name for route in app.routes]
    assert sorted({n for n in names if names.count(n) > 1}) == []
