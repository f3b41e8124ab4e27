"""What a trained trial attends to: its final checkpoint's networks run on a few of its own test mosaics.

Mosaics are stored as CIFAR indices, so the pictures need the CIFAR images as well as the checkpoint; the
trial's config (saved in its state) rebuilds exactly the test mosaics it was evaluated on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from trainables import CifarImages, DataError, TrainConfig, WhatNet, WhereNet, build_mosaic_sets
from trainables.mosaics import normalise

from . import aggregate
from .cli_args import DataSource
from .publish_run import full_weights
from .results import RunData, find_final_state
from .storage import RunStorage

ATTENTION_DIR = "attention"


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


def load_weights(storage: RunStorage, checkpoint: str) -> TrialWeights:
    """The networks of a saved state (`find_final_state`), on the CPU, in the dtype the trial trained in."""
    with storage.fs.open_input_stream(checkpoint) as stream:
        state = torch.load(io.BytesIO(stream.readall()), map_location="cpu", weights_only=True)
    config = TrainConfig.from_flat(state["config"])
    dtype = getattr(torch, config.dtype)
    where, what = WhereNet(), WhatNet(n_classes=len(config.mosaic.foreground))
    # published states are compact (int8 x scale); a run's own state passes through unchanged
    where.load_state_dict(full_weights(state["nets"]["where"]))
    what.load_state_dict(full_weights(state["nets"]["what"]))
    return TrialWeights(
        config, where.to(dtype).eval(), what.to(dtype).eval(), int(state["epoch"]), str(state["outcome"]), checkpoint
    )


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
        examples.append(
            AttentionExample(
                index=int(i),
                grid=spec.grid,
                mosaic=tile(pixels[test.slots[i]], spec.grid),
                alphas=alphas[row].double().numpy(),
                fg_slot=fg_slot,
                weighted=((weighted[row].double() + 1.0) / 2.0).clamp(0, 1).numpy(),  # undo normalise()
                foreground=pixels[test.slots[i, fg_slot]],
                predicted=names[int(predicted[row])],
                true_class=names[int(test.label[i])],
            )
        )
    return examples


def tile(patches: np.ndarray, grid: int) -> np.ndarray:
    """(S, 3, 32, 32) slot images as one (3, 32 * grid, 32 * grid) mosaic, slot i at row i // grid, column
    i % grid: torchvision's make_grid without padding (tested against it), without importing torchvision (1.5 s)
    for a reshape."""
    s, c, h, w = patches.shape
    return patches.reshape(grid, grid, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, grid * h, grid * w)


# -- which pictures a report draws ----------------------------------------------------------------------------------
def plan_pictures(
    runs: list[RunData],
    results: pd.DataFrame,
    sections: list,
    stems: dict[str, str],
    out: Path,
    source: DataSource,
    limit: int,
    mosaics: int,
    skip: dict[str, str] | None = None,
) -> tuple[list[str], list]:
    """Attention pictures of the best finished trial of each experiment (of the `limit` best experiments whose best
    trial left its final state: a published copy may keep none), except the experiments in `skip` (experiment_id ->
    why: same results as another, a search's other samples).

    Returns notes for the report and the jobs that draw the pictures; sections get their picture."""
    if limit == 0:
        return ["not drawn (--attention 0)."], []
    skip = skip or {}
    best = aggregate.best_trials(results[~results["experiment_id"].isin(skip)])
    if best.empty:
        return ["none: no trial has finished yet."], []
    storage = {r.name: r.storage for r in runs}
    states = {i: find_final_state(storage[t["run"]], t["trial_id"]) for i, t in best.iterrows()}
    stateless = [t["experiment_id"] for i, t in best.iterrows() if states[i] is None]
    chosen = aggregate.best_trials(best[[states[i] is not None for i in best.index]], limit=limit)
    skipped = len(best) - len(stateless) - len(chosen)
    unfinished = sorted(
        set(results["experiment_id"]) - set(results.loc[results["finished"], "experiment_id"]),
        key=aggregate.natural_key,
    )
    # what the report says besides the pictures, drawn or not
    tail = []
    if skipped > 0:
        tail.append(
            f"{aggregate.counted(skipped, 'more experiment')} {aggregate.has(skipped)} no picture: "
            f"--attention {limit} draws the {aggregate.counted(limit, 'experiment')} with the "
            "best test accuracy (of those with a final state)."
        )
    if stateless:
        tail.append(f"No final state of the best seed under tune/ for {', '.join(stateless)}; no picture.")
    if unfinished:
        tail.append(f"No finished trial to draw in {', '.join(unfinished)}.")
    tail += [f"No picture of its own for {', '.join(ids)}: {reason}." for reason, ids in _by_reason(skip).items()]
    if chosen.empty:  # nothing to draw: no need of the images (nor of a failure to read them)
        return tail, []
    try:
        images = source.load()
    except DataError as exc:
        return [f"skipped: the CIFAR-10 images are needed to rebuild the test mosaics, and {exc}", *tail], []

    from . import plots  # matplotlib only once there is something to draw

    by_id = {s.experiment_id: s for s in sections}
    notes, jobs = [], []
    for index, trial in chosen.iterrows():
        what = f"{trial['experiment_id']} seed {int(trial['seed'])} (trial {trial['trial_id']})"
        checkpoint = states[index]
        try:
            weights = load_weights(storage[trial["run"]], checkpoint)
            examples = attention_examples(weights, images, mosaics)
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            notes.append(f"{what}: checkpoint {checkpoint} unreadable ({type(exc).__name__}: {exc}); no picture.")
            continue
        fig = plots.WrittenFigure(
            f"{ATTENTION_DIR}/{stems[trial['experiment_id']]}.png",
            f"first {len(examples)} test mosaics, weights after epoch {weights.epoch}",
        )
        title = (
            f"{by_id[trial['experiment_id']].title}\nseed {int(trial['seed'])}, weights after epoch "
            f"{weights.epoch} ({weights.outcome}), test acc {trial['test_acc']:.3f}"
        )
        jobs.append(plots.Job(plots.attention_plot, {"examples": examples, "title": title, "path": out / fig.path}))
        by_id[trial["experiment_id"]].attention = fig
    intro = (
        f"{aggregate.counted(len(jobs), 'picture')} (in index.html and {ATTENTION_DIR}/), one per "
        "experiment: its best "
        f"finished seed, the first {mosaics} test mosaics, the weights of the trial's last checkpoint."
    )
    rebuilt = (
        f"Test mosaics were rebuilt from each trial's saved config with the CIFAR-10 images in "
        f"{source.describe()}; they are the trial's own when these are the images it trained on."
    )
    return [intro, *notes, *tail, rebuilt], jobs


def _by_reason(skip: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for exp_id, reason in skip.items():
        out.setdefault(reason, []).append(exp_id)
    return out
