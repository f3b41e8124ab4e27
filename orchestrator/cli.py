"""`mosaic-sweep`: the command line. Each subcommand lives in its own module; this one only dispatches."""

from __future__ import annotations

import argparse
import sys

from trainables import DataError

from . import train_cmd
from .errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mosaic-sweep",
        description="Stage-wise where/what attention experiments on CIFAR-10 mosaics, on Ray Tune.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, DataError) as exc:
        print(f"mosaic-sweep: error: {exc}", file=sys.stderr)
        return getattr(exc, "code", 2)
    except KeyboardInterrupt:
        print("mosaic-sweep: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
