"""`grants rubric ...` and `grants rank`, driven as a juror secretary would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scoring.cli import main

PLUGIN_INSTALL = ".venv/bin/pip install -e tests/plugins/example-scoring-plugin"


def write_scores(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scores.csv"
    path.write_text(text, encoding="utf-8")
    return path


def read_ranking(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_rubric_list_shows_builtins(capsys):
    assert main(["rubric", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "VERSION", "CRITERIA", "TITLE"]
    assert any(line.split()[:3] == ["prevention-prize", "1", "8"] for line in out.splitlines())


def test_rubric_show_json_has_a_stable_shape(capsys):
    assert main(["rubric", "show", "edpqs", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == [
        "id",
        "version",
        "title",
        "description",
        "overall_comment",
        "criteria",
        "fingerprint",
    ]
    first = data["criteria"][0]
    assert first["id"] == "needs-assessment"
    assert first["scale"]["levels"] == [1, 2, 3, 4, 5]
    assert set(first["scale"]["anchors"]["5"]) == {"en", "fr", "ru"}


def test_rubric_show_text_in_french(capsys):
    assert main(["rubric", "show", "prevention-prize", "--lang", "fr"]) == 0
    assert "Droits humains et éthique" in capsys.readouterr().out


def test_rubric_validate_ok_and_every_error(tmp_path, write_rubric, rubric_text, capsys):
    assert main(["rubric", "validate", str(write_rubric(rubric_text))]) == 0
    assert capsys.readouterr().out.startswith("OK")
    bad = write_rubric(
        rubric_text.replace("min = 0\nmax = 4", "min = 5\nmax = 1").replace("weight = 1\n", "")
    )
    assert main(["rubric", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "mini.toml: criterion 'needs': min (5) is greater than max (1)" in err
    assert "mini.toml: criterion 'design': missing 'weight'" in err
    assert "Traceback" not in err


def test_rank_writes_the_ranking_csv(tmp_path, capsys):
    scores = write_scores(
        tmp_path,
        "application,juror,criterion,score\n"
        "p-1,ana,overall,9\np-1,ben,overall,8\n"
        "p-2,ana,overall,3\np-2,ben,overall,\n"
        "p-3,ana,overall,9\np-3,ben,overall,8\n",
    )
    out = tmp_path / "ranking.csv"
    args = ["rank", "--rubric", "simple", "--aggregator", "weighted-mean"]
    assert (
        main([*args, "--input", str(scores), "--output", str(out), "--expected-reviews", "2"]) == 0
    )
    assert read_ranking(out) == [
        {"rank": "1", "application": "p-1", "score": "83.3333", "reviews": "2", "flags": ""},
        {"rank": "2", "application": "p-3", "score": "83.3333", "reviews": "2", "flags": ""},
        {
            "rank": "3",
            "application": "p-2",
            "score": "22.2222",
            "reviews": "1",
            "flags": "too-few-reviews",
        },
    ]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("application,juror,score\nA,j,3\n", "scores.csv:1: missing column(s): criterion"),
        (
            "application,juror,criterion,score\nA,j,overall,3\nA,k,impact,3\n",
            "scores.csv:3: unknown criterion 'impact'",
        ),
        (
            "application,juror,criterion,score\nA,j,overall,0\n",
            "scores.csv:2: criterion 'overall': score 0 is outside the scale 1..10",
        ),
        (
            "application,juror,criterion,score\nA,j,overall,2.5\n",
            "scores.csv:2: criterion 'overall': score 2.5 is not on the scale's step 1",
        ),
        (
            "application,juror,criterion,score\nA,j,overall,good\n",
            "scores.csv:2: score 'good' for criterion 'overall' is not a number",
        ),
        (
            "application,juror,criterion,score\nA,j,overall,2\nA,j,overall,3\n",
            "scores.csv:3: duplicate score",
        ),
    ],
)
def test_rank_reports_bad_input_with_line_numbers(tmp_path, capsys, csv_text, message):
    scores = write_scores(tmp_path, csv_text)
    code = main(
        ["rank", "--rubric", "simple", "--input", str(scores), "--output", str(tmp_path / "r.csv")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r.csv").exists()


def test_rank_unknown_rubric_or_aggregator_exits_1(tmp_path, capsys):
    scores = write_scores(tmp_path, "application,juror,criterion,score\n")
    base = ["rank", "--input", str(scores), "--output", str(tmp_path / "r.csv")]
    assert main([*base, "--rubric", "nope"]) == 1
    assert "unknown rubric 'nope'" in capsys.readouterr().err
    assert main([*base, "--rubric", "simple", "--aggregator", "nope"]) == 1
    assert "unknown aggregator 'nope'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["rank", "--rubric", "simple"])
    assert info.value.code == 2


def test_rank_with_panels_from_a_panel_column(tmp_path):
    scores = write_scores(
        tmp_path,
        "application,juror,criterion,score,panel\n"
        "A,e,overall,10,expert\nA,y,overall,1,youth\nB,e,overall,1,expert\nB,y,overall,10,youth\n",
    )
    out = tmp_path / "r.csv"
    argv = [
        "rank",
        "--rubric",
        "simple",
        "--input",
        str(scores),
        "--output",
        str(out),
        "--panel-weights",
        "expert=3,youth=1",
    ]
    assert main(argv) == 0
    assert [(r["application"], r["score"]) for r in read_ranking(out)] == [
        ("A", "75.0000"),
        ("B", "25.0000"),
    ]


def test_example_plugin_aggregator_end_to_end(tmp_path):
    """example-max comes from the separately installed example plugin, via the real `grants` CLI."""
    from grants.cli import main as grants_main

    scores = write_scores(
        tmp_path,
        "application,juror,criterion,score\nA,j1,overall,10\nA,j2,overall,1\nB,j1,overall,7\nB,j2,overall,7\n",
    )
    out = tmp_path / "r.csv"
    code = grants_main(
        [
            "rank",
            "--rubric",
            "simple",
            "--aggregator",
            "example-max",
            "--input",
            str(scores),
            "--output",
            str(out),
        ]
    )
    assert code == 0, f"example plugin missing? run: {PLUGIN_INSTALL}"
    rows = read_ranking(out)
    assert [(r["application"], r["score"], r["flags"]) for r in rows] == [
        ("A", "100.0000", "high-disagreement"),
        ("B", "66.6667", ""),
    ]
