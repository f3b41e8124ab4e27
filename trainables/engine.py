"""The stage-wise training loop: two networks, two optimisers, one active network per epoch.

As the authors coded it, every batch runs the whole forward and backward pass and steps only the active
network's optimiser. We skip what the result does not need: the frozen network's weights get no gradient, and a
frozen WhereNet's outputs are computed once per mosaic set for as long as it stays frozen (a what phase of k epochs
reuses them k times; the values are the same). Metrics are summed on the device and read back once per pass.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from . import precision
from .cifar import CifarImages
from .config import TrainConfig
from .metrics import FIELDS, batch_counts, summarize
from .mosaics import DeviceMosaics, build_mosaic_sets
from .nets import WhatNet, WhereNet

STATE_FORMAT = 1
EVAL_BATCH = 1000


class StateMismatch(ValueError):
    """A saved training state belongs to another configuration."""


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but no CUDA GPU is visible")
    return device


class StageWiseTrainer:
    """Owns everything that changes during training; `run_epoch` advances it by one epoch."""

    def __init__(self, config: TrainConfig, images: CifarImages, device: str | torch.device = "auto"):
        self.config = config
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.dtype = getattr(torch, config.dtype)
        self.sets = self._to_device(images)

        n_classes = len(config.mosaic.foreground)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            where, what = WhereNet(), WhatNet(n_classes)
        self.nets = {
            name: net.to(self.device, self.dtype, memory_format=torch.channels_last)
            for name, net in (("where", where), ("what", what))
        }
        lrs = {"where": config.where_lr, "what": config.what_lr}
        self.optimizers = {name: self._optimizer(net, lrs[name]) for name, net in self.nets.items()}
        self.schedulers = (
            {
                name: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=5e-5)
                for name, opt in self.optimizers.items()
            }
            if config.plateau
            else {}
        )
        self.shuffle = torch.Generator().manual_seed(config.seed)
        self.epoch = 0  # epochs completed
        self.history: list[dict] = []
        self.outcome = "running"
        self._where_outputs: dict[str, tuple] = {}  # set name -> (key, weighted images, alphas): frozen_where

    # -- setup -------------------------------------------------------------------------------------------------
    def _to_device(self, images: CifarImages) -> dict[str, DeviceMosaics]:
        sets = build_mosaic_sets(self.config.mosaic, images)
        on_device = {}  # one copy of each CIFAR split on the device, shared by the sets drawn from it
        for mosaics in sets.values():
            if mosaics.split not in on_device:
                with warnings.catch_warnings():  # read-only arrays (Ray's object store) are shared, never written
                    warnings.simplefilter("ignore", UserWarning)
                    pixels = torch.as_tensor(images.split(mosaics.split)[0])
                on_device[mosaics.split] = pixels.to(self.device)
        return {name: DeviceMosaics(m, on_device[m.split], self.device, self.dtype) for name, m in sets.items()}

    def _optimizer(self, net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(net.parameters(), lr=lr)
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=self.config.momentum)

    # -- training ----------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.outcome != "running"

    def epochs(self) -> Iterator[dict]:
        """Run the remaining epochs, yielding each epoch's metrics; the last one carries the outcome."""
        while not self.done:
            yield self.run_epoch()

    def run_epoch(self) -> dict:
        if self.done:
            raise RuntimeError(f"training already ended ({self.outcome})")
        schedule = self.config.schedule
        phase = schedule.phase(self.epoch)
        active = ("where", "what") if phase == "both" else (phase,)
        lrs = {f"lr_{name}": opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}

        start = time.perf_counter()
        with precision.float32_math(self.config.precision, self.device, self.dtype):
            train = self._train_pass(active)
        train_s = time.perf_counter() - start
        self.epoch += 1
        row = {"epoch": self.epoch, "phase": phase, **lrs, **train, "mosaics_per_s": len(self.sets["train"]) / train_s}

        if not math.isfinite(train["train_loss"]):
            self.outcome = "diverged"  # the weights are no longer meaningful: no evaluation, no further epochs
        else:
            row.update(self.evaluate("test"))
            if "val" in self.sets:
                row.update(self.evaluate("val"))
                for name in active:
                    if name in self.schedulers:
                        self.schedulers[name].step(row["val_loss"])
            stop = self.config.stop_train_loss
            if stop is not None and train["train_loss"] <= stop:
                self.outcome = "early_stopped"
            elif self.epoch == schedule.epochs:
                self.outcome = "completed"
            if self.done:
                row.update(self.evaluate("train", prefix="final_train_"))
        row["outcome"] = self.outcome
        row["epoch_s"] = time.perf_counter() - start
        self.history.append(row)
        return row

    def autocast(self):
        return precision.autocast(self.config.precision, self.device, self.dtype)

    def _train_pass(self, active: tuple[str, ...]) -> dict:
        where, what = self.nets["where"], self.nets["what"]
        train_where = "where" in active
        for name, net in self.nets.items():
            net.requires_grad_(name in active)
        data = self.sets["train"]
        if train_where:
            self._where_outputs.clear()  # they are about to go stale: free them
        else:
            frozen = self.frozen_where("train", self.config.batch_size)
        order = torch.randperm(len(data), generator=self.shuffle).to(self.device)
        counts = torch.zeros(len(FIELDS), dtype=torch.float64, device=self.device)
        for idx in order.split(self.config.batch_size):
            labels, fg = data.label[idx], data.fg_slot[idx]
            with self.autocast():
                weighted, alphas = where(data.patches(idx)) if train_where else (frozen[0][idx], frozen[1][idx])
                logits = what(weighted)
            loss = F.cross_entropy(logits.to(self.dtype), labels)
            for opt in self.optimizers.values():  # both, as the original; the frozen one's grads stay None
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for name in active:
                self.optimizers[name].step()
            counts += batch_counts(logits.detach(), alphas.detach(), labels, fg, loss.detach() * len(idx))
        return summarize(counts, "train_")

    @torch.inference_mode()
    def evaluate(self, set_name: str, prefix: str | None = None) -> dict:
        """Metrics of the current weights on one mosaic set (train, test or val)."""
        data, what = self.sets[set_name], self.nets["what"]
        weighted, alphas = self.frozen_where(set_name, EVAL_BATCH)
        counts = torch.zeros(len(FIELDS), dtype=torch.float64, device=self.device)
        for idx in torch.arange(len(data), device=self.device).split(EVAL_BATCH):
            with precision.float32_math(self.config.precision, self.device, self.dtype), self.autocast():
                logits = what(weighted[idx]).to(self.dtype)
            loss_sum = F.cross_entropy(logits, data.label[idx], reduction="sum")
            counts += batch_counts(logits, alphas[idx], data.label[idx], data.fg_slot[idx], loss_sum)
        return summarize(counts, f"{set_name}_" if prefix is None else prefix)

    def frozen_where(self, set_name: str, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The where network's attention-weighted images and alphas for every mosaic of a set, in set order.

        While it is frozen they are the same every epoch: a what phase computes them once instead of k times (its
        forward pass over nine patches a mosaic is most of a what epoch on CPU). They are kept under the storage and
        version counter of each weight, which every change through autograd-visible ops bumps (the optimisers
        built here, load_state_dict, a test's fill_; not a fused optimiser or writes through `.data`, which this
        project does not use), and under `batch`: computed in batches of the pass that reads them, as before they
        were kept (a GPU picks kernels per shape; on CPU a mosaic's outputs do not depend on its batch)."""
        where, data = self.nets["where"], self.sets[set_name]
        key = (batch, tuple((p.data_ptr(), p._version) for p in where.parameters()))
        kept = self._where_outputs.get(set_name)
        if kept is not None and kept[0] == key:
            return kept[1], kept[2]
        self._where_outputs.pop(set_name, None)  # free the stale copy before making the new one
        weighted = alphas = None
        # not inference tensors (evaluate runs in inference mode): a what phase trains on them
        with torch.inference_mode(False), torch.no_grad():
            with precision.float32_math(self.config.precision, self.device, self.dtype), self.autocast():
                for idx in torch.arange(len(data), device=self.device).split(batch):
                    w, a = where(data.patches(idx))
                    if weighted is None:
                        weighted = w.new_empty((len(data), *w.shape[1:]))
                        alphas = a.new_empty((len(data), *a.shape[1:]))
                    weighted[idx], alphas[idx] = w, a
        self._where_outputs[set_name] = (key, weighted, alphas)
        return weighted, alphas

    # -- state -------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue exactly; loadable with torch.load(weights_only=True)."""
        return {
            "format": STATE_FORMAT,
            "config": self.config.to_flat(),
            "epoch": self.epoch,
            "outcome": self.outcome,
            "nets": {name: net.state_dict() for name, net in self.nets.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "shuffle_rng": self.shuffle.get_state(),
            "history": list(self.history),
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != STATE_FORMAT:
            raise StateMismatch(f"unsupported training-state format {state.get('format')!r}")
        diff = self.config.differences(state["config"])
        if diff:
            raise StateMismatch(f"training state was saved for another configuration (differs in {', '.join(diff)})")
        self._where_outputs.clear()
        for name, net in self.nets.items():
            net.load_state_dict(state["nets"][name])
            self.optimizers[name].load_state_dict(state["optimizers"][name])
            if name in self.schedulers:
                self.schedulers[name].load_state_dict(state["schedulers"][name])
        self.shuffle.set_state(state["shuffle_rng"].cpu())  # map_location may have put it on the GPU
        self.epoch = state["epoch"]
        self.outcome = state["outcome"]
        self.history = list(state["history"])

    def save(self, path) -> None:
        """Write the state atomically: a reader never sees half a file."""
        save_atomically(self.state_dict(), path)

    def load(self, path) -> None:
        self.load_state_dict(torch.load(path, map_location=self.device, weights_only=True))


def save_atomically(state: dict, path) -> None:
    """torch.save to a temporary file, flushed to disk, then renamed over `path`: a crash at any moment leaves
    the old file or the new one, never half of one."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            torch.save(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
