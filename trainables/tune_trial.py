"""The Ray Tune function trainable: a thin shell around StageWiseTrainer, or around PackedTrainer for a pack.

It builds the trial's mosaics from the CIFAR images the driver put in the object store once (numpy arrays,
shared zero-copy by every trial on a node), reports each epoch's metrics with its identity and config, saves the
full training state every `checkpoint_every` epochs and at the end (with `keep_phase_ends`, at every phase end too,
scored so that Ray keeps those), and resumes exactly from Ray's checkpoint.

A pack is one Ray trial (one GPU) training several configurations at once. Each configuration keeps a trial id of
its own (`member_trial_id`): the pack reports {"members": {member trial id: epoch row}} every epoch, and its
checkpoint holds members/<member trial id>.pt, each in StageWiseTrainer's format (resumable unpacked, too).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import socket
import tempfile
import zipfile
from pathlib import Path

import pyarrow.fs as pafs
import torch

from .cifar import CifarImages
from .config import TrainConfig
from .engine import StageWiseTrainer, StateMismatch
from .host_memory import keep_freed_memory

STATE_FILE = "state.pt"
HISTORY_FILE = "history.json"  # the epochs so far, readable by the driver without torch
IDENTITY_KEYS = ("experiment", "space", "scale", "run")
# Where a trial ran, as every result row records it (name -> Python type). Several nodes can share a host, so
# the Ray node ID is kept as well as the host. Defined here, where the values are read; result schemas derive
# from it (imports flow orchestrator -> trainables, never back).
PLACEMENT_FIELDS = {"device": str, "node_id": str, "node_ip": str, "hostname": str, "pid": int}
DEFAULT_CHECKPOINT_EVERY = 5
# Grid spaces give Ray one grid_search over whole rows, each row under this key; sampled spaces give flat keys.
ROW_KEY = "trial"
PACK_KEY = "pack"  # a pack's row: {"pack": [member rows]}
MEMBERS = "members"  # a pack's report {"members": {trial id: row}}, and its checkpoint's folder of member states
# With keep_phase_ends, every checkpoint's report carries this score; Ray keeps a trial's highest-scoring ones (and
# always its latest). A phase end outranks every other checkpoint; the others rank by epoch, so the newest of them
# stay for `restore`'s fallback. Not a result column.
KEEP_SCORE = "checkpoint_keep_score"
PHASE_END_RANK = 10**9


def member_trial_id(pack_trial_id: str, index: int) -> str:
    """The trial id of a pack's index-th configuration (Parquet files, trials.parquet and checkpoints use it)."""
    return f"{pack_trial_id}_m{index:02d}"


def pack_of(trial_id: str) -> str | None:
    """The pack trial id of a member's trial id (`member_trial_id`), or None for a trial of its own."""
    head, sep, tail = trial_id.rpartition("_m")
    return head if sep and tail.isdigit() else None


def trial_members(config: dict, trial_id: str) -> list[tuple[str, dict]]:
    """(trial id, flat row) of every configuration a Ray trial trains: its own, or each member of its pack."""
    flat = flat_config(config)
    if PACK_KEY in flat:
        return [(member_trial_id(trial_id, k), row) for k, row in enumerate(flat[PACK_KEY])]
    return [(trial_id, flat)]


def grid_rows(rows: list[dict], grid_search) -> dict:
    """The Ray param_space of a grid space: one trial per row (`grid_search` is ray.tune.grid_search)."""
    return {ROW_KEY: grid_search(rows)}


def flat_config(config: dict) -> dict:
    """A Ray trial config as one flat dict, whether it came from `grid_rows` or from samplers."""
    return {**config.get(ROW_KEY, {}), **{k: v for k, v in config.items() if k != ROW_KEY}}


def trial_config(row: dict) -> tuple[TrainConfig, dict]:
    """Split one configuration's flat row into the TrainConfig and the identity labels (experiment, space, ...)."""
    return TrainConfig.from_flat(row), {k: str(row[k]) for k in IDENTITY_KEYS if k in row}


def placement(device: torch.device) -> dict:
    """Where this trial runs (PLACEMENT_FIELDS)."""
    import ray

    ctx = ray.get_runtime_context()
    values = {
        "device": str(device) if device.type != "cuda" else f"cuda ({torch.cuda.get_device_name(device)})",
        "node_id": ctx.get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
    }
    return {key: values[key] for key in PLACEMENT_FIELDS}


# Gauges every trial exports through Ray's metrics agent (the dashboard's Metrics view, Prometheus, Grafana):
# Prometheus name ray_mosaic_sweep_<name> -> the epoch row's key. docker/grafana/ has a dashboard for them.
GAUGES = {
    "test_accuracy": ("test_acc", "test accuracy after the epoch"),
    "train_accuracy": ("train_acc", "running training accuracy of the epoch"),
    "train_loss": ("train_loss", "mean training loss of the epoch"),
    "epoch": ("epoch", "epochs completed"),
    "mosaics_per_second": ("mosaics_per_s", "training throughput of the epoch"),
}
GAUGE_TAGS = ("run", "experiment", "trial_id")


class TrialGauges:
    """The gauges, set from each epoch row and tagged with its run, experiment and trial id; non-finite values
    (a diverged loss) are left out."""

    def __init__(self):
        from ray.util.metrics import Gauge

        self.gauges = {
            key: Gauge(f"mosaic_sweep_{name}", description=text, tag_keys=GAUGE_TAGS)
            for name, (key, text) in GAUGES.items()
        }

    def set(self, row: dict) -> None:
        tags = {k: str(row.get(k, "")) for k in GAUGE_TAGS}
        for key, gauge in self.gauges.items():
            value = row.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                gauge.set(float(value), tags=tags)


def phase_end_epochs(row: dict) -> set[int]:
    """The epochs at which a Ray trial's row (one configuration, or a pack) ends a phase of any configuration."""
    return {e for _, flat in trial_members(row, "") for e in TrainConfig.from_flat(flat).schedule.phase_ends()}


def keep_score(epoch: int, phase_end: bool) -> int:
    return epoch + (PHASE_END_RANK if phase_end else 0)


def train_mosaic(
    config: dict, images: CifarImages, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, keep_phase_ends: bool = False
) -> None:
    """The trainable: one configuration (StageWiseTrainer), or a pack of them (PackedTrainer)."""
    import ray
    from ray import tune

    context = tune.get_context()
    torch.set_num_threads(max(1, int(context.get_trial_resources().required_resources.get("CPU", 1))))
    keep_freed_memory()  # a trial's actor has its process to itself: its batches may keep the heap
    device = torch.device("cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu")
    members = trial_members(config, context.get_trial_id())
    phase_ends = phase_end_epochs(config) if keep_phase_ends else None
    if PACK_KEY in flat_config(config):
        _train_pack(members, context.get_trial_id(), images, device, checkpoint_every, phase_ends)
    else:
        _train_one(*members[0], images, device, checkpoint_every, phase_ends)


class CheckpointUnreadable(RuntimeError):
    """No checkpoint of a trial could be loaded."""


def restore(checkpoint, load) -> None:
    """`load(folder)` the trial's state from Ray's latest checkpoint or, when its files cannot be decoded (truncated,
    corrupt: a disk that filled up, a node lost mid-upload), from the older checkpoints Ray keeps beside it, newest
    first. Otherwise every retry would reload the same bad file. Errors that say nothing about the file are raised
    as they are: reading the storage (Ray retries the trial), GPU memory, a state of another configuration."""
    from ray import tune

    fs, latest = checkpoint.filesystem, checkpoint.path.rstrip("/")
    folder, name = latest.rsplit("/", 1)
    older = sorted(
        (
            i.path
            for i in fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
            if i.type == pafs.FileType.Directory and i.base_name.startswith("checkpoint_") and i.base_name < name
        ),
        reverse=True,
    )
    failures = []
    for candidate in [checkpoint, *(tune.Checkpoint(path, filesystem=fs) for path in older)]:
        with candidate.as_directory() as local:
            try:
                load(Path(local))
            except (StateMismatch, torch.OutOfMemoryError):
                raise
            except (
                RuntimeError,
                EOFError,
                ValueError,
                KeyError,
                pickle.UnpicklingError,
                zipfile.BadZipFile,
                FileNotFoundError,
            ) as exc:  # a file cut short, garbled or never written
                message = str(exc).splitlines()[0] if str(exc) else repr(exc)
                failures.append(f"{candidate.path.rsplit('/', 1)[-1]}: {message}")
                continue
        if failures:
            print(f"mosaic-sweep: restored from {candidate.path}; unreadable: {'; '.join(failures)}", flush=True)
        return
    raise CheckpointUnreadable(f"no checkpoint of this trial can be read: {'; '.join(failures)}")


def _checkpoint_due(epoch: int, checkpoint_every: int, phase_ends: set[int] | None) -> bool:
    """Every `checkpoint_every` epochs and, where phase ends are kept, at each of them (the trial's end is always)."""
    return epoch % checkpoint_every == 0 or epoch in (phase_ends or ())


def _checkpointed(metrics: dict, epoch: int, phase_ends: set[int] | None) -> dict:
    """A checkpoint's report; where phase ends are kept (`phase_ends` given), scored for Ray's retention."""
    return metrics if phase_ends is None else {**metrics, KEEP_SCORE: keep_score(epoch, epoch in phase_ends)}


def _train_one(
    trial_id: str,
    row: dict,
    images: CifarImages,
    device: torch.device,
    checkpoint_every: int,
    phase_ends: set[int] | None,
) -> None:
    from ray import tune

    train_config, identity = trial_config(row)
    trainer = StageWiseTrainer(train_config, images, device)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        restore(checkpoint, lambda folder: trainer.load(folder / STATE_FILE))

    fixed = {**identity, **train_config.to_flat(), "trial_id": trial_id, **placement(device)}
    gauges = TrialGauges()
    for row in trainer.epochs():
        metrics = {**fixed, **row}
        gauges.set(metrics)
        if trainer.done or _checkpoint_due(trainer.epoch, checkpoint_every, phase_ends):
            with tempfile.TemporaryDirectory() as folder:
                trainer.save(Path(folder) / STATE_FILE)
                (Path(folder) / HISTORY_FILE).write_text(json.dumps(trainer.history))
                saved = tune.Checkpoint.from_directory(folder)
                tune.report(_checkpointed(metrics, trainer.epoch, phase_ends), checkpoint=saved)
        else:
            tune.report(metrics)


def _train_pack(
    members: list[tuple[str, dict]],
    pack_id: str,
    images: CifarImages,
    device: torch.device,
    checkpoint_every: int,
    phase_ends: set[int] | None,
) -> None:
    from ray import tune

    from .packed import PackedTrainer

    configs = [trial_config(row) for _, row in members]
    trainer = PackedTrainer([c for c, _ in configs], images, device, precision=configs[0][0].precision)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:

        def load(folder: Path) -> None:
            for k, (trial_id, _) in enumerate(members):
                state = torch.load(folder / MEMBERS / f"{trial_id}.pt", map_location="cpu", weights_only=True)
                trainer.load_member_state_dict(k, state)

        restore(checkpoint, load)

    where = placement(device)
    fixed = [
        {**identity, **config.to_flat(), "trial_id": trial_id, "pack_id": pack_id, **where}
        for (trial_id, _), (config, identity) in zip(members, configs)
    ]
    gauges = TrialGauges()
    for rows in trainer.epochs():
        reported = {members[k][0]: {**fixed[k], **row} for k, row in rows.items()}
        for row in reported.values():
            gauges.set(row)
        metrics = {MEMBERS: reported, "epoch": max(row["epoch"] for row in reported.values())}
        ended = any(row["outcome"] != "running" for row in reported.values())
        epoch = metrics["epoch"]
        if trainer.done or ended or _checkpoint_due(epoch, checkpoint_every, phase_ends):
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / MEMBERS).mkdir()
                for k, (trial_id, _) in enumerate(members):
                    torch.save(trainer.member_state_dict(k), Path(folder) / MEMBERS / f"{trial_id}.pt")
                histories = {trial_id: trainer.members[k].history for k, (trial_id, _) in enumerate(members)}
                (Path(folder) / HISTORY_FILE).write_text(json.dumps(histories))
                saved = tune.Checkpoint.from_directory(folder)
                tune.report(_checkpointed(metrics, epoch, phase_ends), checkpoint=saved)
        else:
            tune.report(metrics)
