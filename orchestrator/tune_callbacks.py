"""Tune callbacks on the driver: Parquet rows as results arrive, and a compact live progress line."""

from __future__ import annotations

import json
import sys
import time

from ray import tune
from ray.tune.logger import TBXLoggerCallback
from ray.tune.result import AUTO_RESULT_KEYS, DONE, EXPERIMENT_TAG, SHOULD_CHECKPOINT, TRAINING_ITERATION, TRIAL_ID

from trainables.metrics import all_metric_names
from trainables.tune_trial import HISTORY_FILE, flat_config, trial_config

from .results import EPOCH_SCHEMA, PLACEMENT_KEYS, ResultsWriter, clean_error

# Keys Tune adds to every reported result; those our schema has (time_total_s, ...) are kept.
TUNE_KEYS = (set(AUTO_RESULT_KEYS) | {DONE, EXPERIMENT_TAG, SHOULD_CHECKPOINT, TRIAL_ID}) - set(EPOCH_SCHEMA.names)


def epoch_row(result: dict) -> dict:
    """A reported result as an epoch row: what the trial reported, less Tune's own bookkeeping."""
    return {k: v for k, v in result.items() if k not in TUNE_KEYS}


class ParquetCallback(tune.Callback):
    """Every reported epoch becomes a Parquet row at once; trial status changes update trials.parquet."""

    def __init__(self, writer: ResultsWriter):
        self.writer = writer
        self.started: dict[str, float] = {}

    def setup(self, **info):
        # Tune pickles callbacks with the experiment; a restored run must start from what is on disk now.
        self.writer.reload()

    def on_trial_start(self, iteration, trials, trial, **info):
        self.started.setdefault(trial.trial_id, time.time())
        self.writer.set_trial(trial.trial_id, flat_config(trial.config), "RUNNING")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.writer.add_epoch(trial.trial_id, epoch_row(result))
        if result.get("epoch") == 1 or result.get("outcome") != "running":
            self.writer.set_trial(trial.trial_id, flat_config(trial.config), "RUNNING")

    def on_trial_recover(self, iteration, trials, trial, **info):
        error = clean_error(trial.get_error()) if hasattr(trial, "get_error") else None
        self.writer.set_trial(trial.trial_id, flat_config(trial.config), "RETRYING", error=error)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._fill_gaps(trial)
        self.writer.set_trial(trial.trial_id, flat_config(trial.config), "TERMINATED", wall_s=self._wall(trial))

    def on_trial_error(self, iteration, trials, trial, **info):
        self.writer.set_trial(
            trial.trial_id,
            flat_config(trial.config),
            "ERROR",
            error=clean_error(trial.get_error()) or "trial failed",
            wall_s=self._wall(trial),
        )

    def on_experiment_end(self, trials, **info):
        # Trials that never started, or were cut off by an interrupt, still get a row with their status.
        for trial in trials:
            known = self.writer.trials.get(trial.trial_id)
            if known is None or known["status"] != trial.status:
                error = clean_error(trial.get_error()) if trial.status == "ERROR" else None
                self.writer.set_trial(trial.trial_id, flat_config(trial.config), trial.status, error=error)

    def _wall(self, trial) -> float | None:
        start = self.started.get(trial.trial_id)
        return time.time() - start if start else None

    def _fill_gaps(self, trial) -> None:
        """The final checkpoint holds the whole history: add any epoch the driver never received."""
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return
        try:
            with checkpoint.filesystem.open_input_stream(f"{checkpoint.path}/{HISTORY_FILE}") as stream:
                history = json.loads(stream.readall().decode())
        except (OSError, ValueError):
            return
        train_config, identity = trial_config(trial.config)
        last = trial.last_result or {}
        fixed = {**identity, **train_config.to_flat(), **{k: last.get(k) for k in PLACEMENT_KEYS}}
        self.writer.fill_from_history(trial.trial_id, history, fixed)


# What TensorBoard shows per trial and epoch: the metrics, not the config (that goes to TensorBoard's hparams).
TENSORBOARD_SCALARS = (*all_metric_names(), "lr_what", "lr_where", "mosaics_per_s", "epoch_s")
PHASES = ("what", "where")


class TensorBoardCallback(TBXLoggerCallback):
    """Tune's own TensorBoard logger (event files in each trial's folder under the run's tune/), given only the
    per-epoch metrics, learning rates and which network trained (phase_what / phase_where 1 or 0)."""

    def log_trial_result(self, iteration: int, trial, result: dict):
        scalars = {k: result[k] for k in TENSORBOARD_SCALARS if isinstance(result.get(k), (int, float))}
        phase = result.get("phase")
        if isinstance(phase, str):
            scalars.update({f"phase_{p}": int(phase in (p, "both")) for p in PHASES})
        super().log_trial_result(iteration, trial, {**scalars, TRAINING_ITERATION: result[TRAINING_ITERATION]})


class ProgressCallback(tune.Callback):
    """One line every `every_s` seconds and at each trial's end: trials done/running/failed, epochs, ETA, and the
    best and worst current test accuracy (with its experiment)."""

    def __init__(self, total_epochs: int, every_s: float = 10.0):
        self.total_epochs = total_epochs
        self.every_s = every_s
        self.setup()

    def setup(self, **info):
        self.start = time.time()
        self.last_print = 0.0
        self.first_epochs: int | None = None
        self.epochs: dict[str, int] = {}
        self.test_acc: dict[str, tuple[float, str]] = {}  # trial -> (current test accuracy, experiment label)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.epochs[trial.trial_id] = int(result.get("epoch", 0))
        if isinstance(result.get("test_acc"), float) and result["test_acc"] == result["test_acc"]:
            self.test_acc[trial.trial_id] = (result["test_acc"], str(result.get("experiment", trial.trial_id)))
        if self.first_epochs is None:
            self.first_epochs = sum(self.epochs.values()) - 1

    def on_step_end(self, iteration, trials, **info):
        if time.time() - self.last_print >= self.every_s:
            self.print_line(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.print_line(trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.print_line(trials)

    def print_line(self, trials) -> None:
        self.last_print = time.time()
        status = [t.status for t in trials]
        done = sum(self.epochs.values())
        elapsed = time.time() - self.start
        fresh = done - (self.first_epochs or 0)  # epochs run by this driver (a resumed run starts part-way)
        eta = "?"
        if fresh > 0 and self.total_epochs > done:
            eta = _duration(elapsed / fresh * (self.total_epochs - done))
        elif self.total_epochs <= done:
            eta = "0s"
        print(
            f"[{_duration(elapsed):>7}] trials {status.count('TERMINATED')}/{len(trials)} done, "
            f"{status.count('RUNNING')} running, {status.count('PENDING')} pending, {status.count('ERROR')} failed"
            f" | epochs {done}/{self.total_epochs} | ETA {eta}{self.accuracy_text()}",
            file=sys.stdout,
            flush=True,
        )

    def accuracy_text(self) -> str:
        """' | test acc best 0.812 (table1/1) worst 0.334 (table1/6)': the latest epoch of every trial so far."""
        if not self.test_acc:
            return ""
        (best, best_label), (worst, worst_label) = max(self.test_acc.values()), min(self.test_acc.values())
        if len(self.test_acc) == 1:
            return f" | test acc {best:.3f} ({best_label})"
        return f" | test acc best {best:.3f} ({best_label}) worst {worst:.3f} ({worst_label})"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
