"""`mosaic-sweep list`: the search spaces, their trial counts and epochs."""

from __future__ import annotations

import argparse

from search_spaces import REGISTRY, SCALES, describe


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list the search spaces", description="List every search space.")
    p.add_argument("--scale", choices=list(SCALES), default="paper", help="count epochs at this scale")
    p.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    print(f"{'space':<12} {'trials':>6} {'epochs':>7}  description ({args.scale} scale)")
    for space in REGISTRY.values():
        print(describe(space, args.scale))
    return 0
