"""`mosaic-sweep`: the command line. Each subcommand lives in its own module; this one only dispatches."""

from __future__ import annotations

import argparse
import os
import sys

from trainables import DataError

from . import report_cmd, run_cmd, spaces_cmd, train_cmd
from .errors import RunFailed, UsageError
from .storage import redact_text


class OneLineParser(argparse.ArgumentParser):
    """Bad flags get one line (and exit 2), like every other error of this command. No abbreviated flags:
    `--stor` must not silently mean `--storage` in a script that outlives a new flag."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mosaic-sweep",
        description="Stage-wise where/what attention experiments on CIFAR-10 mosaics, on Ray Tune.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    spaces_cmd.add_parsers(sub)
    run_cmd.add_parser(sub)
    train_cmd.add_parser(sub)
    report_cmd.add_parser(sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse like argparse, but an unknown argument is reported by the subcommand's parser (whose --help lists the
    flags that exist), and a command with several positional runs (`report A --out y B`) takes them anywhere."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    command = parser._subparsers._group_actions[0].choices[args.command]
    if extra and isinstance(getattr(args, "runs", None), list):
        args.runs += [e for e in extra if not e.startswith("-")]
        extra = [e for e in extra if e.startswith("-")]
    if extra:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return args.func(args)
    except (UsageError, RunFailed, DataError) as exc:
        print(f"mosaic-sweep: error: {redact_text(str(exc))}", file=sys.stderr)  # no credential of a URI
        return getattr(exc, "code", 2)
    except BrokenPipeError:  # `mosaic-sweep list | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # storage or data that cannot be reached or read: one line, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mosaic-sweep: error: {redact_text(first)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mosaic-sweep: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
