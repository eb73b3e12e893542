"""`grants assign solve`: run the reviewer assignment on a JSON problem file.

Exit codes: 0 optimal, 1 unusable input (message on stderr), 2 infeasible (the
reasons are written to --output and printed on stdout). The JSON format is
described in docs/assignment.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from grants.solver.mincostflow import solve
from grants.solver.model import Application, Infeasible, Juror, Pair, Problem

JsonId = str | int

_TOP_KEYS = {"reviews_per_application", "jurors", "applications", "affinity", "conflicts", "pinned"}
_JUROR_KEYS = {"id", "max_load", "min_load"}


class InputError(Exception):
    """The input file cannot be turned into a `Problem`; the message says where and why."""


@dataclass(slots=True)
class IdTypes:
    """Original JSON ids, so output uses numbers where the input did."""

    jurors: dict[str, JsonId] = field(default_factory=dict)
    applications: dict[str, JsonId] = field(default_factory=dict)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `assign solve` to the project's `grants` command."""
    assign = subparsers.add_parser(
        "assign",
        help="assign jurors to applications",
        description="Reviewer assignment (min-cost flow, maximal total affinity).",
    )
    actions = assign.add_subparsers(dest="assign_command", required=True, metavar="ACTION")
    solve_parser = actions.add_parser(
        "solve",
        help="solve an assignment problem given as JSON",
        description=(
            "Read a problem JSON, write the optimal assignment or the reasons it is infeasible."
        ),
    )
    solve_parser.add_argument(
        "--input", required=True, metavar="FILE", help="problem JSON file, '-' for stdin"
    )
    solve_parser.add_argument(
        "--output", default="-", metavar="FILE", help="result JSON file, '-' for stdout (default)"
    )
    solve_parser.set_defaults(func=run_solve)


def run_solve(args: argparse.Namespace) -> int:
    """Entry point of `grants assign solve`; returns the exit code."""
    try:
        data = _read_json(args.input)
        problem, ids = parse_problem(data)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    try:
        solution = solve(problem)
    except Infeasible as exc:
        result: dict[str, Any] = {"status": "infeasible", "reasons": exc.reasons}
        text = _dumps(result)
        if args.output != "-" and not _write(args.output, text):
            return 1
        sys.stdout.write(text)
        return 2
    except OverflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    result = {
        "status": "optimal",
        "assignments": [
            [ids.jurors.get(j, j), ids.applications.get(a, a)] for j, a in solution.assignments
        ],
        "total_affinity": solution.total_affinity,
    }
    text = _dumps(result)
    if args.output == "-":
        sys.stdout.write(text)
    elif _write(args.output, text):
        print(
            f"assigned {len(solution.assignments)} reviews, total affinity "
            f"{solution.total_affinity:g} -> {args.output}",
            file=sys.stderr,
        )
    else:
        return 1
    return 0


def parse_problem(data: object) -> tuple[Problem, IdTypes]:
    """Validate decoded JSON and build a `Problem`; raises `InputError` with a precise message."""
    top = _top_level(data)
    ids = IdTypes()
    problem = Problem(
        reviews_per_application=_int(top["reviews_per_application"], "reviews_per_application"),
        jurors=tuple(_jurors(top["jurors"], ids)),
        applications=tuple(_applications(top["applications"], ids)),
        affinity=_affinity(top.get("affinity", [])),
        conflicts=_pairs(top.get("conflicts", []), "conflicts"),
        pinned=_pairs(top.get("pinned", []), "pinned"),
    )
    return problem, ids


def _top_level(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(f"the top level must be a JSON object, got {_kind(data)}")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    for key in ("reviews_per_application", "jurors", "applications"):
        if key not in data:
            raise InputError(f"missing key {key!r}")
    return data


def _jurors(value: object, ids: IdTypes) -> list[Juror]:
    """The `jurors` array; remembers each id's JSON form in `ids`."""
    jurors = []
    for i, item in enumerate(_list(value, "jurors")):
        where = f"jurors[{i}]"
        obj = _object(item, where, required=("id", "max_load"), allowed=_JUROR_KEYS)
        jid = _id(obj["id"], f"{where}.id")
        ids.jurors.setdefault(jid, obj["id"])
        jurors.append(
            Juror(
                id=jid,
                max_load=_int(obj["max_load"], f"{where}.max_load"),
                min_load=_int(obj.get("min_load", 0), f"{where}.min_load"),
            )
        )
    return jurors


def _applications(value: object, ids: IdTypes) -> list[Application]:
    """The `applications` array; remembers each id's JSON form in `ids`."""
    applications = []
    for i, item in enumerate(_list(value, "applications")):
        where = f"applications[{i}]"
        obj = _object(item, where, required=("id",), allowed={"id"})
        aid = _id(obj["id"], f"{where}.id")
        ids.applications.setdefault(aid, obj["id"])
        applications.append(Application(id=aid))
    return applications


def _affinity(value: object) -> dict[Pair, float]:
    """The `affinity` array of [juror, application, number]; a repeated pair is an error."""
    affinity: dict[Pair, float] = {}
    first_seen: dict[Pair, int] = {}
    for i, item in enumerate(_list(value, "affinity")):
        where = f"affinity[{i}]"
        if not (isinstance(item, list) and len(item) == 3):
            raise InputError(f"{where} must be [juror, application, number], got {_show(item)}")
        pair = (_id(item[0], f"{where}[0]"), _id(item[1], f"{where}[1]"))
        number = item[2]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InputError(f"{where}[2] must be a number, got {_show(number)}")
        if pair in first_seen:
            raise InputError(
                f"{where} repeats the pair ({pair[0]}, {pair[1]}) of affinity[{first_seen[pair]}]"
            )
        first_seen[pair] = i
        affinity[pair] = float(number)
    return affinity


# --------------------------------------------------------------------------- helpers


def _read_json(path: str) -> object:
    name = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {name}: {exc}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN/Infinity by default; they are not JSON and not usable.
    raise InputError(f"non-standard JSON constant {name} is not allowed")


def _write(path: str, text: str) -> bool:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {path}: {exc}", file=sys.stderr)
        return False
    return True


def _dumps(result: Mapping[str, Any]) -> str:
    """Indented JSON with one assignment pair / reason per line (diff- and grep-friendly)."""
    parts = []
    for key, value in result.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            inner = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            parts.append(f"  {name}: [\n    {inner}\n  ]")
        else:
            parts.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # Accept 3.0 (some JSON writers emit it) but nothing fractional.
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise InputError(f"{where} must be an integer, got {_show(value)}")
    return value


def _id(value: object, where: str) -> str:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise InputError(f"{where} must be a string or integer id, got {_show(value)}")


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise InputError(f"{where} must be an array, got {_kind(value)}")
    return value


def _object(
    value: object, where: str, *, required: tuple[str, ...], allowed: set[str]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be an object, got {_kind(value)}")
    for key in required:
        if key not in value:
            raise InputError(f"{where} is missing {key!r}")
    extra = sorted(set(value) - allowed)
    if extra:
        raise InputError(
            f"{where} has unknown key {extra[0]!r} (expected {', '.join(sorted(allowed))})"
        )
    return value


def _pairs(value: object, where: str) -> frozenset[Pair]:
    pairs = set()
    for i, item in enumerate(_list(value, where)):
        if not (isinstance(item, list) and len(item) == 2):
            raise InputError(f"{where}[{i}] must be [juror, application], got {_show(item)}")
        pairs.add((_id(item[0], f"{where}[{i}][0]"), _id(item[1], f"{where}[{i}][1]")))
    return frozenset(pairs)
