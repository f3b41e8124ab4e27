"""What a trained trial attends to: its final checkpoint's networks run on a few of its own test mosaics.

Mosaics are stored as CIFAR indices, so the pictures need the CIFAR images as well as the checkpoint; the
trial's config (saved in its state) rebuilds exactly the test mosaics it was evaluated on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow.fs as pafs
import torch

from trainables import CifarImages, TrainConfig, WhatNet, WhereNet, build_mosaic_sets
from trainables.mosaics import normalise
from trainables.tune_trial import STATE_FILE

from .results import RunStorage

TUNE_DIR = "tune"
CHECKPOINT_PREFIX = "checkpoint_"


@dataclass(frozen=True)
class TrialWeights:
    """A trial's networks as saved in one checkpoint."""

    config: TrainConfig
    where: WhereNet
    what: WhatNet
    epoch: int
    outcome: str
    checkpoint: str


@dataclass(frozen=True)
class AttentionExample:
    """One test mosaic as the networks saw it."""

    index: int  # position in the trial's test set
    grid: int
    mosaic: np.ndarray  # uint8 (3, 32 * grid, 32 * grid)
    alphas: np.ndarray  # (grid * grid,)
    fg_slot: int
    weighted: np.ndarray  # float (3, 32, 32) in [0, 1]: the attention-weighted image the what network classifies
    foreground: np.ndarray  # uint8 (3, 32, 32)
    predicted: str
    true_class: str


def find_checkpoint(storage: RunStorage, trial_id: str) -> str | None:
    """The trial's newest checkpoint folder (highest checkpoint_NNNNNN under tune/<...>-<trial_id>/), or None."""
    trial_dirs = [i for i in _children(storage.fs, storage.path(TUNE_DIR))
                  if i.type == pafs.FileType.Directory and i.base_name.endswith(f"-{trial_id}")]
    checkpoints = [i for d in trial_dirs for i in _children(storage.fs, d.path)
                   if i.type == pafs.FileType.Directory and i.base_name.startswith(CHECKPOINT_PREFIX)
                   and i.base_name[len(CHECKPOINT_PREFIX):].isdigit()]
    checkpoints = [c for c in checkpoints
                   if storage.fs.get_file_info(f"{c.path}/{STATE_FILE}").type == pafs.FileType.File]
    if not checkpoints:
        return None
    return max(checkpoints, key=lambda i: int(i.base_name[len(CHECKPOINT_PREFIX):])).path


def _children(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    return fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))


def load_weights(storage: RunStorage, checkpoint: str) -> TrialWeights:
    """The networks of a checkpoint, on the CPU, in the dtype the trial trained in."""
    with storage.fs.open_input_stream(f"{checkpoint}/{STATE_FILE}") as stream:
        state = torch.load(io.BytesIO(stream.readall()), map_location="cpu", weights_only=True)
    config = TrainConfig.from_flat(state["config"])
    dtype = getattr(torch, config.dtype)
    where, what = WhereNet(), WhatNet(n_classes=len(config.mosaic.foreground))
    where.load_state_dict(state["nets"]["where"])
    what.load_state_dict(state["nets"]["what"])
    return TrialWeights(config, where.to(dtype).eval(), what.to(dtype).eval(), int(state["epoch"]),
                        str(state["outcome"]), checkpoint)


def attention_examples(weights: TrialWeights, images: CifarImages, count: int) -> list[AttentionExample]:
    """The first `count` test mosaics of the trial (the same mosaics for every trial with the same data seed)."""
    spec = weights.config.mosaic
    test = build_mosaic_sets(spec, images)["test"]
    pixels = images.split(test.split)[0]
    picked = np.arange(min(count, len(test)))
    patches = torch.as_tensor(pixels[test.slots[picked]])  # (B, S, 3, 32, 32) uint8
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few mosaics: more threads only wait on each other (40x slower on a busy host)
    try:
        with torch.inference_mode():
            weighted, alphas = weights.where(normalise(patches, getattr(torch, weights.config.dtype)))
            predicted = weights.what(weighted).argmax(1)
    finally:
        torch.set_num_threads(threads)
    names = spec.foreground_names
    examples = []
    for row, i in enumerate(picked):
        fg_slot = int(test.fg_slot[i])
        examples.append(AttentionExample(
            index=int(i), grid=spec.grid,
            mosaic=tile(pixels[test.slots[i]], spec.grid),
            alphas=alphas[row].double().numpy(), fg_slot=fg_slot,
            weighted=((weighted[row].double() + 1.0) / 2.0).clamp(0, 1).numpy(),  # undo normalise()
            foreground=pixels[test.slots[i, fg_slot]],
            predicted=names[int(predicted[row])], true_class=names[int(test.label[i])],
        ))
    return examples


def tile(patches: np.ndarray, grid: int) -> np.ndarray:
    """(S, 3, 32, 32) slot images as one (3, 32 * grid, 32 * grid) mosaic, slot i at row i // grid, column
    i % grid: what trainables.render_mosaic draws, without importing torchvision (1.5 s) for a reshape."""
    s, c, h, w = patches.shape
    return patches.reshape(grid, grid, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, grid * h, grid * w)
