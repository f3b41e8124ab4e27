"""Pieces every command's parser shares: number types for flags, the CIFAR-10 data flags and loading."""

from __future__ import annotations

import argparse

from trainables import CifarImages, load_cifar


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text}") from None


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="CIFAR-10 folder (default: $MOSAIC_SWEEP_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="let torchvision download cifar-10-batches-py")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the md5 check of the CIFAR files (for CIFAR-format data that is not the official copy)",
    )


def load_images(data_dir: str | None, download: bool = False, verify: bool = True) -> CifarImages:
    """CIFAR-10 as the data flags ask for it; a missing or corrupt copy raises DataError (one line)."""
    return load_cifar(data_dir, download=download, verify=verify)
