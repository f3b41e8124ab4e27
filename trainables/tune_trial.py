"""The Ray Tune function trainable: a thin shell around StageWiseTrainer.

It builds the trial's mosaics from the CIFAR images the driver put in the object store once (numpy arrays,
shared zero-copy by every trial on a node), reports each epoch's metrics with its identity and config, saves the
full training state every `checkpoint_every` epochs and at the end, and resumes exactly from Ray's checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
from pathlib import Path

import torch

from .cifar import CifarImages
from .config import TrainConfig
from .engine import StageWiseTrainer

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


def grid_rows(rows: list[dict], grid_search) -> dict:
    """The Ray param_space of a grid space: one trial per row (`grid_search` is ray.tune.grid_search)."""
    return {ROW_KEY: grid_search(rows)}


def flat_config(config: dict) -> dict:
    """A Ray trial config as one flat dict, whether it came from `grid_rows` or from samplers."""
    return {**config.get(ROW_KEY, {}), **{k: v for k, v in config.items() if k != ROW_KEY}}


def trial_config(config: dict) -> tuple[TrainConfig, dict]:
    """Split a Ray trial config into the TrainConfig and the identity labels (experiment, space, ...)."""
    flat = flat_config(config)
    return TrainConfig.from_flat(flat), {k: str(flat[k]) for k in IDENTITY_KEYS if k in flat}


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
    """The trial's gauges, set from each epoch row; non-finite values (a diverged loss) are left out."""

    def __init__(self, tags: dict):
        from ray.util.metrics import Gauge

        self.tags = {k: str(tags.get(k, "")) for k in GAUGE_TAGS}
        self.gauges = {
            key: Gauge(f"mosaic_sweep_{name}", description=text, tag_keys=GAUGE_TAGS)
            for name, (key, text) in GAUGES.items()
        }

    def set(self, row: dict) -> None:
        for key, gauge in self.gauges.items():
            value = row.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                gauge.set(float(value), tags=self.tags)


def train_mosaic(config: dict, images: CifarImages, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY) -> None:
    import ray
    from ray import tune

    train_config, identity = trial_config(config)
    resources = tune.get_context().get_trial_resources().required_resources
    torch.set_num_threads(max(1, int(resources.get("CPU", 1))))
    device = torch.device("cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu")

    trainer = StageWiseTrainer(train_config, images, device)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            trainer.load(Path(folder) / STATE_FILE)

    fixed = {**identity, **train_config.to_flat(), "trial_id": tune.get_context().get_trial_id(), **placement(device)}
    gauges = TrialGauges(fixed)
    for row in trainer.epochs():
        metrics = {**fixed, **row}
        gauges.set(metrics)
        if trainer.done or trainer.epoch % checkpoint_every == 0:
            with tempfile.TemporaryDirectory() as folder:
                trainer.save(Path(folder) / STATE_FILE)
                (Path(folder) / HISTORY_FILE).write_text(json.dumps(trainer.history))
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
        else:
            tune.report(metrics)
