"""`mosaic-sweep list` and `mosaic-sweep show SPACE`: the search spaces, and one space as an editable YAML file."""

from __future__ import annotations

import argparse

from search_spaces import REGISTRY, SCALES, SpaceFileError, describe, dump_space, resolve_space

from .errors import UsageError


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list the search spaces", description="List every search space.")
    p.add_argument("--scale", choices=list(SCALES), default="paper", help="count epochs at this scale")
    p.set_defaults(func=run_list)

    p = sub.add_parser(
        "show",
        help="print a space's rows as a YAML space file",
        description="Print a space (built-in name or YAML file) as a space file that `mosaic-sweep run FILE` "
        "runs: save it, edit it, run it. With --scale, the rows show the sizes (and at smoke scale the epochs) "
        "that scale sets; run such a file at --scale paper to keep them as they are.",
    )
    p.add_argument("space", help=f"one of: {', '.join(REGISTRY)}, or a .yaml file")
    p.add_argument("--scale", choices=list(SCALES), default="paper", help="show the rows at this scale")
    p.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    print(f"{'space':<12} {'trials':>6} {'epochs':>7}  description ({args.scale} scale)")
    for space in REGISTRY.values():
        print(describe(space, args.scale))
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        space = resolve_space(args.space)
    except (KeyError, SpaceFileError) as exc:
        raise UsageError(exc.args[0]) from None
    print(dump_space(space, args.scale), end="")
    return 0
