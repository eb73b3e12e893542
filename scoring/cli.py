"""`grants rubric ...` and `grants rank` sub-commands.

Errors are reported as messages (with the CSV line number for input problems)
and exit code 1; argparse keeps exit code 2 for usage errors. No tracebacks.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from scoring import plugins
from scoring.aggregate import Review, ScoreError
from scoring.plugins import PluginError
from scoring.rank import DEFAULT_DISAGREEMENT_THRESHOLD, GATE_RULES, rank
from scoring.rankers import RankedApplication
from scoring.rubric import (
    LANGUAGES,
    Rubric,
    RubricError,
    load_rubric_file,
    rubric_fingerprint,
    rubric_to_dict,
)

SCORE_COLUMNS = ("application", "juror", "criterion", "score")
RANKING_COLUMNS = ("rank", "application", "score", "reviews", "flags")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `rubric` and `rank` sub-commands to the `grants` command."""
    rubric = subparsers.add_parser("rubric", help="list, show and validate scoring rubrics")
    rubric_cmds = rubric.add_subparsers(dest="rubric_command", required=True, metavar="ACTION")

    p = rubric_cmds.add_parser("list", help="registered rubrics (built-in and plugins)")
    p.set_defaults(func=cmd_rubric_list)

    p = rubric_cmds.add_parser("show", help="print one rubric")
    p.add_argument("name", help="rubric id, or a path to a rubric .toml file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="language for --format text")
    p.set_defaults(func=cmd_rubric_show)

    p = rubric_cmds.add_parser("validate", help="check a rubric file, listing every problem")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_rubric_validate)

    p = subparsers.add_parser("rank", help="rank applications from a scores CSV")
    p.add_argument("--rubric", required=True, help="rubric id, or a path to a rubric .toml file")
    p.add_argument("--aggregator", default="weighted-mean", help="default: weighted-mean")
    p.add_argument("--ranker", default="standard", help="default: standard")
    p.add_argument(
        "--input", required=True, type=Path, help="CSV: application,juror,criterion,score[,panel]"
    )
    p.add_argument("--output", required=True, help="ranking CSV to write, or - for stdout")
    p.add_argument("--expected-reviews", type=int, default=None, metavar="N")
    p.add_argument(
        "--disagreement-threshold",
        type=float,
        default=DEFAULT_DISAGREEMENT_THRESHOLD,
        metavar="POINTS",
    )
    p.add_argument("--gate-rule", choices=GATE_RULES, default="majority")
    p.add_argument(
        "--panel-weights",
        default=None,
        metavar="PANEL=W,...",
        help="combine panels by weight, e.g. expert=2,youth=1 (needs a panel column)",
    )
    p.set_defaults(func=cmd_rank)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (`python -m scoring.cli`), same commands as `grants`."""
    parser = argparse.ArgumentParser(prog="grants")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _message(exc: Exception) -> str:
    # str(KeyError) quotes its message; the look-ups put a whole sentence in it.
    return exc.args[0] if isinstance(exc, KeyError) else str(exc)


def _resolve_rubric(name: str) -> Rubric:
    # A name that looks like a file is loaded directly, so editors can try drafts.
    if name.endswith(".toml") or "/" in name:
        return load_rubric_file(name)
    return plugins.get_rubric(name)


# --------------------------------------------------------------------------- rubric commands


def cmd_rubric_list(args: argparse.Namespace) -> int:
    try:
        rubrics = plugins.list_rubrics()
    except (RubricError, PluginError) as exc:
        return _fail(str(exc))
    rows = [("NAME", "VERSION", "CRITERIA", "TITLE")]
    rows += [(r.id, str(r.version), str(len(r.criteria)), r.title.en) for r in rubrics]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return 0


def cmd_rubric_show(args: argparse.Namespace) -> int:
    try:
        rubric = _resolve_rubric(args.name)
    except (KeyError, RubricError, PluginError) as exc:
        return _fail(_message(exc))
    if args.format == "json":
        data = rubric_to_dict(rubric)
        data["fingerprint"] = rubric_fingerprint(rubric)
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    lang = args.lang
    print(f"{rubric.title.get(lang)}  [{rubric.id} v{rubric.version}]")
    if rubric.description:
        print(rubric.description.get(lang))
    print(f"overall comment: {rubric.overall_comment}")
    for c in rubric.criteria:
        extras = [f"weight {c.weight}", f"scale {c.scale.min}..{c.scale.max} step {c.scale.step}"]
        if c.min_to_pass is not None:
            extras.append(f"min to pass {c.min_to_pass}")
        if c.comment_required:
            extras.append("comment required")
        print(f"\n{c.id}: {c.label.get(lang)}  ({', '.join(extras)})")
        print(f"  {c.guidance.get(lang)}")
        for level, text in c.scale.anchors:
            print(f"  {level}: {text.get(lang)}")
    return 0


def cmd_rubric_validate(args: argparse.Namespace) -> int:
    try:
        rubric = load_rubric_file(args.file)
    except RubricError as exc:
        for message in exc.errors:
            print(message, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) found", file=sys.stderr)
        return 1
    print(f"OK: {rubric.id} v{rubric.version}, {len(rubric.criteria)} criteria")
    return 0


# --------------------------------------------------------------------------- rank


def cmd_rank(args: argparse.Namespace) -> int:
    try:
        rows = _ranking(args)
    except _Failed as failed:
        for message in failed.messages:
            print(message, file=sys.stderr)
        return 1
    if args.output == "-":
        write_ranking(sys.stdout, rows)
        return 0
    try:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            write_ranking(out, rows)
    except OSError as exc:
        return _fail(f"{args.output}: {exc.strerror or exc}")
    print(f"ranked {sum(r.rank is not None for r in rows)} application(s) -> {args.output}")
    return 0


class _Failed(Exception):
    """Ends `grants rank` with exit code 1; each message goes to stderr as it is."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(*messages)
        self.messages = list(messages)

    @classmethod
    def error(cls, message: str) -> _Failed:
        return cls([f"error: {message}"])


def _ranking(args: argparse.Namespace) -> list[RankedApplication]:
    """The rows `grants rank` writes; _Failed for any problem with the arguments or the input."""
    try:
        rubric = _resolve_rubric(args.rubric)
        aggregator = plugins.get_aggregator(args.aggregator)
        ranker = plugins.get_ranker(args.ranker)
    except (KeyError, RubricError, PluginError) as exc:
        raise _Failed.error(_message(exc)) from None
    if args.expected_reviews is not None and args.expected_reviews < 0:
        raise _Failed.error("--expected-reviews must be >= 0")
    panel_weights = _parse_panel_weights(args.panel_weights) if args.panel_weights else None
    reviews = _read_scores_file(args.input, rubric)
    try:
        return rank(
            rubric,
            reviews,
            aggregator=aggregator,
            ranker=ranker,
            expected_reviews=args.expected_reviews,
            disagreement_threshold=args.disagreement_threshold,
            gate_rule=args.gate_rule,
            panel_weights=panel_weights,
        )
    except (ScoreError, ValueError) as exc:
        raise _Failed.error(str(exc)) from None


def _parse_panel_weights(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        panel, sep, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not sep or not panel.strip() or not math.isfinite(weight) or weight < 0:
            raise _Failed.error(
                f"--panel-weights: expected PANEL=WEIGHT (weight >= 0), got {part!r}"
            )
        weights[panel.strip()] = weight
    return weights


def _read_scores_file(path: Path, rubric: Rubric) -> list[Review]:
    """The reviews in a scores CSV; _Failed listing every problem with its line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reviews, errors = read_scores(fh, rubric, name=str(path))
    except OSError as exc:
        raise _Failed.error(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _Failed.error(f"{path}: not valid UTF-8") from None
    if errors:
        raise _Failed(errors)
    return reviews


def read_scores(
    fh: TextIO, rubric: Rubric, *, name: str = "scores.csv"
) -> tuple[list[Review], list[str]]:
    """Parse a long-format scores CSV into reviews; return (reviews, every error with its line).

    Columns: application, juror, criterion, score (empty = not scored), optional panel.
    A juror whose scores for an application are all empty counts as abstaining.
    """
    reader = csv.DictReader(fh)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in SCORE_COLUMNS if c not in header]
    if missing:
        return [], [
            f"{name}:1: missing column(s): {', '.join(missing)} "
            f"(header must include {','.join(SCORE_COLUMNS)})"
        ]
    reader.fieldnames = header
    sheet = _ScoreSheet(rubric)
    errors: list[str] = []
    for row in reader:
        try:
            sheet.add(row, line=reader.line_num)
        except _BadRow as exc:
            errors.append(f"{name}:{reader.line_num}: {exc}")
    return sheet.reviews(), errors


class _BadRow(ValueError):
    """What is wrong with one CSV row (the row is skipped)."""


class _ScoreSheet:
    """Rows of a long-format scores CSV gathered into one review per (application, juror)."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.criteria = {c.id: c for c in rubric.criteria}
        self.scores: dict[tuple[str, str], dict[str, float | None]] = {}
        self.panels: dict[tuple[str, str], tuple[str, int]] = {}  # panel, first line
        self.first_line: dict[tuple[str, str, str], int] = {}

    def add(self, row: Mapping[str | None, object], *, line: int) -> None:
        """Take one row; _BadRow if it is malformed, off the rubric or contradicts a row above."""
        if None in row:  # DictReader's key for fields beyond the header
            raise _BadRow("too many fields")
        cells = {column: _cell(row, column) for column in ("application", "juror", "criterion")}
        empty = [column for column, value in cells.items() if not value]
        if empty:
            raise _BadRow(f"empty {', '.join(empty)}")
        app, juror, cid = cells.values()
        value = self._score(cid, _cell(row, "score"))
        if (app, juror, cid) in self.first_line:
            raise _BadRow(
                f"duplicate score for application '{app}', juror '{juror}', "
                f"criterion '{cid}' (first on line {self.first_line[(app, juror, cid)]})"
            )
        self.first_line[(app, juror, cid)] = line
        panel = _cell(row, "panel") or "default"
        first_panel, first = self.panels.setdefault((app, juror), (panel, line))
        if first_panel != panel:
            raise _BadRow(
                f"juror '{juror}' on application '{app}' is in panel '{panel}' "
                f"but in panel '{first_panel}' on line {first}"
            )
        self.scores.setdefault((app, juror), {})[cid] = value

    def _score(self, cid: str, raw: str) -> float | None:
        """The score `raw` for criterion `cid`; None if empty (not scored)."""
        criterion = self.criteria.get(cid)
        if criterion is None:
            raise _BadRow(
                f"unknown criterion '{cid}' for rubric '{self.rubric.id}' "
                f"(known: {', '.join(self.criteria)})"
            )
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise _BadRow(f"score {raw!r} for criterion '{cid}' is not a number") from None
        if problem := criterion.scale.check(value):
            raise _BadRow(f"criterion '{cid}': {problem}")
        return value

    def reviews(self) -> list[Review]:
        """One review per (application, juror), in the order they first appeared."""
        return [
            Review(application=app, juror=juror, scores=scores, panel=self.panels[(app, juror)][0])
            for (app, juror), scores in self.scores.items()
        ]


def _cell(row: Mapping[str | None, object], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def write_ranking(out: TextIO, rows: Sequence[RankedApplication]) -> None:
    """Write rank,application,score,reviews,flags (score to 4 decimals, flags joined by ';')."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RANKING_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                "" if r.rank is None else r.rank,
                r.application,
                "" if r.score is None else f"{r.score:.4f}",
                r.reviews,
                ";".join(r.flags),
            ]
        )


if __name__ == "__main__":
    sys.exit(main())
