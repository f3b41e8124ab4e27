"""Mosaic construction: which CIFAR image sits in which slot, stored as indices, never as pixels.

A mosaic set is three integer arrays (slot image indices, foreground slot, label) into one CIFAR split. Batches
are gathered from the uint8 images and normalised on the device (`x / 255 * 2 - 1`, the original's
ToTensor + Normalize(0.5, 0.5)). Sets are drawn with numpy's PCG64, so a spec gives identical mosaics anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .checks import require_int
from .cifar import CLASSES, CifarImages

ALIASES = {"plane": "airplane", "car": "automobile"}
PROTOCOLS = ("paper", "heldout")
# Stream ids keep the sets independent of each other's sizes: growing n_test never changes the train mosaics.
_STREAM = {"train": 0, "test": 1, "val": 2}


def class_index(name: str | int) -> int:
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool) and 0 <= int(name) < len(CLASSES):
        return int(name)
    key = ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
    if key not in CLASSES:
        raise ValueError(f"unknown CIFAR-10 class {name!r}; classes are {', '.join(CLASSES)} (or plane, car)")
    return CLASSES.index(key)


@dataclass(frozen=True)
class MosaicSpec:
    """What mosaics to build. `foreground` accepts class names or labels; it is stored as labels."""

    foreground: tuple = (7, 8, 9)
    grid: int = 3
    n_train: int = 30_000
    n_test: int = 10_000
    n_val: int = 0
    protocol: str = "paper"
    seed: int = 0

    def __post_init__(self):
        fg = self.foreground.split(",") if isinstance(self.foreground, str) else self.foreground
        fg = tuple(class_index(c) for c in fg)
        object.__setattr__(self, "foreground", fg)
        if len(set(fg)) != len(fg) or not 2 <= len(fg) <= 9:
            raise ValueError(f"foreground classes must be 2 to 9 distinct classes, got {fg}")
        require_int(self.grid, 2, "grid must be an integer from 2 to 8 (a grid x grid mosaic)")
        if self.grid > 8:
            raise ValueError(f"grid must be an integer from 2 to 8 (a grid x grid mosaic), got {self.grid!r}")
        require_int(self.n_train, 1, "n_train must be a positive integer")
        require_int(self.n_test, 1, "n_test must be a positive integer")
        require_int(self.n_val, 0, "n_val must be a non-negative integer")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        require_int(self.seed, 0, "data seed must be a non-negative integer")

    @property
    def slots(self) -> int:
        return self.grid * self.grid

    @property
    def foreground_names(self) -> tuple[str, ...]:
        return tuple(CLASSES[c] for c in self.foreground)

    def source_split(self, set_name: str) -> str:
        """The CIFAR split a set's images come from: only held-out test mosaics use the test split."""
        return "test" if (set_name == "test" and self.protocol == "heldout") else "train"


@dataclass(frozen=True)
class MosaicSet:
    """`slots[i, s]` is the image index (into CIFAR split `split`) in slot s of mosaic i."""

    split: str
    slots: np.ndarray  # (N, S) int64
    fg_slot: np.ndarray  # (N,) int64
    label: np.ndarray  # (N,) int64, rank of the foreground class within MosaicSpec.foreground

    def __len__(self) -> int:
        return len(self.label)


def draw_mosaics(labels: np.ndarray, spec: MosaicSpec, n: int, rng: np.random.Generator, split: str) -> MosaicSet:
    """n mosaics from one split: 1 uniform foreground image, S-1 background images with replacement,
    uniform foreground slot; the other slots take the background images in order."""
    is_fg = np.isin(labels, spec.foreground)
    fg_pool, bg_pool = np.flatnonzero(is_fg), np.flatnonzero(~is_fg)
    if len(fg_pool) == 0 or len(bg_pool) == 0:
        raise ValueError(f"CIFAR {split} split has no foreground or no background images for {spec.foreground}")
    s = spec.slots
    fg = fg_pool[rng.integers(len(fg_pool), size=n)]
    bg = bg_pool[rng.integers(len(bg_pool), size=(n, s - 1))]
    pos = rng.integers(s, size=n)
    cols = np.arange(s)[None, :]
    bg_col = np.clip(cols - (cols > pos[:, None]), 0, s - 2)
    slots = np.where(cols == pos[:, None], fg[:, None], np.take_along_axis(bg, bg_col, axis=1))
    rank = np.full(10, -1, dtype=np.int64)
    rank[list(spec.foreground)] = np.arange(len(spec.foreground))
    return MosaicSet(split, slots.astype(np.int64), pos.astype(np.int64), rank[labels[fg]])


def build_mosaic_sets(spec: MosaicSpec, images: CifarImages) -> dict[str, MosaicSet]:
    """The train, test (and val, if asked for) mosaic sets of a spec. Pure: same spec -> same sets."""
    sizes = {"train": spec.n_train, "test": spec.n_test, "val": spec.n_val}
    sets = {}
    for name, n in sizes.items():
        if n == 0:
            continue
        split = spec.source_split(name)
        rng = np.random.default_rng([spec.seed, _STREAM[name]])
        sets[name] = draw_mosaics(images.split(split)[1], spec, n, rng, split)
    return sets


class DeviceMosaics:
    """One mosaic set ready on a device: the split's uint8 images plus index tensors; batches gathered on demand."""

    def __init__(self, mosaics: MosaicSet, images: torch.Tensor, device: torch.device, dtype: torch.dtype):
        self.images = images  # (N_split, 3, 32, 32) uint8 on `device`, shared by sets of the same split
        self.slots = torch.from_numpy(mosaics.slots).to(device)
        self.fg_slot = torch.from_numpy(mosaics.fg_slot).to(device)
        self.label = torch.from_numpy(mosaics.label).to(device)
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.label)

    def patches(self, idx: torch.Tensor) -> torch.Tensor:
        """(B, S, 3, 32, 32) normalised patches of mosaics `idx`."""
        return normalise(self.images[self.slots[idx]], self.dtype)


def normalise(pixels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return pixels.to(dtype).div_(127.5).sub_(1.0)
