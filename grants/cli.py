"""The `grants` command: one sub-command per operational task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grants", description="Prevention Prize platform")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from scoring import cli as scoring_cli

    scoring_cli.register(commands)

    from grants.solver import cli as solver_cli

    solver_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
