"""Pieces every command's parser shares: number types for flags, the CIFAR-10 data flags and loading."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

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
    p.add_argument(
        "--data-dir",
        default=None,
        help="CIFAR-10 folder (default: for `report` and `run --resume`, the folder the run used when this machine "
        "has it; else $MOSAIC_SWEEP_DATA or ./data)",
    )
    p.add_argument("--download", action="store_true", help="let torchvision download cifar-10-batches-py")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the md5 check of the CIFAR files (for CIFAR-format data that is not the official copy)",
    )


@dataclass(frozen=True)
class DataSource:
    """Where a command takes CIFAR-10 from (see `data_source`)."""

    data_dir: str | None
    verify: bool
    download: bool = False

    def describe(self) -> str:
        return self.data_dir or "the default data folder ($MOSAIC_SWEEP_DATA or ./data)"

    def load(self) -> CifarImages:
        return load_images(self.data_dir, self.download, verify=self.verify)


def data_source(
    data_dir: str | None, no_verify: bool, download: bool = False, run_info: dict | None = None
) -> DataSource:
    """--data-dir as given; else, for a command on an existing run (`report`, `run --resume`), the run's own data
    folder (run.json) when this machine has it, with the run's --no-verify; else the default ($MOSAIC_SWEEP_DATA
    or ./data), with the run's --no-verify when the run read the default too. A run resumed where it started
    needs no data flag again."""
    if data_dir is not None:
        return DataSource(data_dir, not no_verify, download)
    options = (run_info or {}).get("options") or {}
    used, unverified = options.get("data_dir"), bool(options.get("no_verify"))
    if used and Path(used).is_dir():
        return DataSource(used, not (no_verify or unverified), download)
    return DataSource(None, not (no_verify or (used is None and unverified)), download)


def load_images(data_dir: str | None, download: bool = False, verify: bool = True) -> CifarImages:
    """CIFAR-10 as the data flags ask for it; a missing or corrupt copy raises DataError (one line)."""
    return load_cifar(data_dir, download=download, verify=verify)
