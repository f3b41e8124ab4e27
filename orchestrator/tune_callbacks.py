"""Tune callbacks on the driver: Parquet rows as results arrive, and a compact live progress line."""

from __future__ import annotations

import json
import sys
import time

from ray import tune
from ray.tune.logger import TBXLoggerCallback
from ray.tune.result import AUTO_RESULT_KEYS, DONE, EXPERIMENT_TAG, SHOULD_CHECKPOINT, TRAINING_ITERATION, TRIAL_ID

from trainables.metrics import all_metric_names
from trainables.tune_trial import (
    HISTORY_FILE,
    KEEP_SCORE,
    MEMBERS,
    PACK_KEY,
    flat_config,
    trial_config,
    trial_members,
)

from .results import EPOCH_SCHEMA, PLACEMENT_KEYS, ResultsWriter, clean_error

# Keys Tune adds to every reported result, and our checkpoint score; those our schema has (time_total_s, ...) are
# kept.
TUNE_KEYS = (set(AUTO_RESULT_KEYS) | {DONE, EXPERIMENT_TAG, SHOULD_CHECKPOINT, TRIAL_ID, KEEP_SCORE}) - set(
    EPOCH_SCHEMA.names
)


def epoch_row(result: dict) -> dict:
    """A reported result as an epoch row: what the trial reported, less Tune's own bookkeeping."""
    return {k: v for k, v in result.items() if k not in TUNE_KEYS}


def configurations(trial) -> list[tuple[str, dict]]:
    """(trial id, flat row) of each configuration a Ray trial trains; a pack's members carry its pack_id."""
    members = trial_members(trial.config, trial.trial_id)
    if PACK_KEY not in flat_config(trial.config):
        return members
    return [(trial_id, {**row, "pack_id": trial.trial_id}) for trial_id, row in members]


def epoch_rows(trial, result: dict) -> list[tuple[str, dict]]:
    """(trial id, epoch row) of each configuration in one reported result (a pack reports all its members)."""
    if MEMBERS not in result:
        return [(trial.trial_id, epoch_row(result))]
    return [
        (trial_id, {**row, "time_total_s": result.get("time_total_s")}) for trial_id, row in result[MEMBERS].items()
    ]


class ParquetCallback(tune.Callback):
    """Every reported epoch becomes a Parquet row at once (one per configuration, packed or not); trial status
    changes update trials.parquet."""

    def __init__(self, writer: ResultsWriter):
        self.writer = writer
        self.started: dict[str, float] = {}

    def setup(self, **info):
        # Tune pickles callbacks with the experiment; a restored run must start from what is on disk now.
        self.writer.reload()

    def _set(self, trial, status: str, error: str | None = None, wall_s: float | None = None) -> None:
        for trial_id, row in configurations(trial):
            self.writer.set_trial(trial_id, row, status, error=error, wall_s=wall_s)

    def on_trial_start(self, iteration, trials, trial, **info):
        self.started.setdefault(trial.trial_id, time.time())
        self._set(trial, "RUNNING")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        rows = dict(configurations(trial))
        for trial_id, row in epoch_rows(trial, result):
            self.writer.add_epoch(trial_id, row)
            if row.get("epoch") == 1 or row.get("outcome") != "running":
                self.writer.set_trial(trial_id, rows[trial_id], "RUNNING")

    def on_trial_recover(self, iteration, trials, trial, **info):
        # The retry starts from the last checkpoint: rows after it belong to the failed attempt. Drop them, or a
        # retry that ends earlier (divergence, ASHA, GPU non-determinism) would leave them behind.
        saved = self._histories(trial)
        for trial_id, _ in configurations(trial):
            history = saved.get(trial_id, [])
            self.writer.drop_after(trial_id, int(history[-1]["epoch"]) if history else 0)
        self._set(trial, "RETRYING", error=clean_error(trial.get_error()) if hasattr(trial, "get_error") else None)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._fill_gaps(trial)
        self._set(trial, "TERMINATED", wall_s=self._wall(trial))

    def on_trial_error(self, iteration, trials, trial, **info):
        self._set(trial, "ERROR", error=clean_error(trial.get_error()) or "trial failed", wall_s=self._wall(trial))

    def on_experiment_end(self, trials, **info):
        # Trials that never started, or were cut off by an interrupt, still get a row with their status.
        for trial in trials:
            for trial_id, row in configurations(trial):
                known = self.writer.trials.get(trial_id)
                if known is None or known["status"] != trial.status:
                    error = clean_error(trial.get_error()) if trial.status == "ERROR" else None
                    self.writer.set_trial(trial_id, row, trial.status, error=error)
        if not self.writer.flush():
            print(
                f"mosaic-sweep: error: results of {len(self.writer.pending)} trials could not be written "
                f"({self.writer.failure}); the checkpoints under tune/ hold every epoch: fix the storage and "
                f"continue with --resume",
                file=sys.stderr,
                flush=True,
            )

    def _wall(self, trial) -> float | None:
        """The trial's training time over every session of the run: Tune's time_total_s, which a resume or retry
        carries on from the checkpoint (so work after the last checkpoint of an interrupted session or a failed
        attempt is not counted); this session's time since the trial started, when it has no result."""
        total = (getattr(trial, "last_result", None) or {}).get("time_total_s")
        if total is not None:
            return float(total)
        start = self.started.get(trial.trial_id)
        return time.time() - start if start else None

    @staticmethod
    def _histories(trial) -> dict[str, list]:
        """{trial id: epoch rows} from the trial's last checkpoint (a pack's holds one history per member)."""
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return {}
        try:
            with checkpoint.filesystem.open_input_stream(f"{checkpoint.path}/{HISTORY_FILE}") as stream:
                saved = json.loads(stream.readall().decode())
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {trial.trial_id: saved}

    def _fill_gaps(self, trial) -> None:
        """The final checkpoint holds the whole history: add any epoch the driver never received."""
        saved = self._histories(trial)
        if not saved:
            return
        last = trial.last_result or {}
        last_rows = dict(epoch_rows(trial, last)) if last else {}
        for trial_id, row in configurations(trial):
            history = saved.get(trial_id, [])
            train_config, identity = trial_config(row)
            where = last_rows.get(trial_id, last)
            fixed = {**identity, **train_config.to_flat(), **{k: where.get(k) for k in PLACEMENT_KEYS}}
            if "pack_id" in row:
                fixed["pack_id"] = row["pack_id"]
            self.writer.fill_from_history(trial_id, history, fixed)


# What TensorBoard shows per trial and epoch: the metrics, not the config (that goes to TensorBoard's hparams).
TENSORBOARD_SCALARS = (*all_metric_names(), "lr_what", "lr_where", "mosaics_per_s", "epoch_s")
PHASES = ("what", "where")


def tensorboard_scalars(row: dict) -> dict:
    scalars = {k: row[k] for k in TENSORBOARD_SCALARS if isinstance(row.get(k), (int, float))}
    if isinstance(row.get("phase"), str):
        scalars.update({f"phase_{p}": int(row["phase"] in (p, "both")) for p in PHASES})
    return scalars


class TensorBoardCallback(TBXLoggerCallback):
    """Tune's own TensorBoard logger (event files in each trial's folder under the run's tune/), given only the
    per-epoch metrics, learning rates and which network trained (phase_what / phase_where 1 or 0). A pack's
    members appear as <experiment>-seed<s>/<metric> in its folder."""

    def log_trial_result(self, iteration: int, trial, result: dict):
        if MEMBERS in result:
            scalars = {
                f"{str(row.get('experiment')).replace('/', '-')}-seed{row.get('seed')}": tensorboard_scalars(row)
                for row in result[MEMBERS].values()
            }
        else:
            scalars = tensorboard_scalars(result)
        super().log_trial_result(iteration, trial, {**scalars, TRAINING_ITERATION: result[TRAINING_ITERATION]})


class ProgressCallback(tune.Callback):
    """One line every `every_s` seconds and at each trial's end: trials done/running/failed, epochs, ETA, and the
    best and worst current test accuracy (with its experiment).

    The ETA weighs the epochs left by the time this session's epochs of each phase took: a what epoch reuses the
    frozen WhereNet's outputs and can cost a tenth of a where epoch, so counting epochs alike would promise a
    what-first run's end far too early."""

    def __init__(
        self,
        total_epochs: int,
        every_s: float = 10.0,
        written: dict[str, int] | None = None,
        ended: set[str] | None = None,
    ):
        self.total_epochs = total_epochs
        self.every_s = every_s
        self.written = written or {}  # a resumed run: each configuration's last epoch already in the results
        self.ended_before = ended or set()  # ... and those whose last epoch ended them (in a pack still running)
        self.setup()

    def setup(self, **info):
        self.start = time.time()
        self.last_print = 0.0
        self.first_epochs: int | None = None
        self.epochs: dict[str, int] = dict(self.written)  # trials that finished before a resume report nothing
        self.test_acc: dict[str, tuple[float, str]] = {}  # trial -> (current test accuracy, experiment label)
        self.ended: set[str] = set(self.ended_before)  # configurations whose last epoch has been reported
        self.phase_s: dict[str, list[float]] = {}  # phase -> [seconds, epochs] trained by this session

    def on_trial_result(self, iteration, trials, trial, result, **info):
        rows = epoch_rows(trial, result)  # per configuration: a pack counts all its members
        for trial_id, row in rows:
            self.epochs[trial_id] = int(row.get("epoch", 0))
            if row.get("outcome") != "running":
                self.ended.add(trial_id)
            if isinstance(row.get("test_acc"), float) and row["test_acc"] == row["test_acc"]:
                self.test_acc[trial_id] = (row["test_acc"], str(row.get("experiment", trial_id)))
            if isinstance(row.get("epoch_s"), float) and row.get("phase"):
                spent = self.phase_s.setdefault(str(row["phase"]), [0.0, 0])
                spent[0], spent[1] = spent[0] + row["epoch_s"], spent[1] + 1
        if self.first_epochs is None:
            self.first_epochs = sum(self.epochs.values()) - len(rows)

    def on_step_end(self, iteration, trials, **info):
        if time.time() - self.last_print >= self.every_s:
            self.print_line(trials)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.print_line(trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.print_line(trials)

    def print_line(self, trials) -> None:
        self.last_print = time.time()
        # per configuration (a pack's members count one by one); a member that ended is done while its pack runs
        status = [
            "TERMINATED" if t.status == "RUNNING" and trial_id in self.ended else t.status
            for t in trials
            for trial_id, _ in configurations(t)
        ]
        done = sum(self.epochs.values())
        elapsed = time.time() - self.start
        # epochs run by this driver (a resumed run starts part-way); none before its first result
        fresh = done - self.first_epochs if self.first_epochs is not None else 0
        eta = self.priced_eta(trials, elapsed)
        if eta is None:  # no per-phase times or no schedules: count the epochs alike
            eta = "?"
            if fresh > 0 and self.total_epochs > done:
                eta = _duration(elapsed / fresh * (self.total_epochs - done))
            elif self.total_epochs <= done:
                eta = "0s"
        print(
            f"[{_duration(elapsed):>7}] trials {status.count('TERMINATED')}/{len(status)} done, "
            f"{status.count('RUNNING')} running, {status.count('PENDING')} pending, {status.count('ERROR')} failed"
            f" | epochs {done}/{self.total_epochs} | ETA {eta}{self.accuracy_text()}",
            file=sys.stdout,
            flush=True,
        )

    def priced_eta(self, trials, elapsed: float) -> str | None:
        """The epochs left, each at the mean time of its phase so far, scaled by the pace of this session (several
        trials at once train several epochs a second). '?' while a phase left has not been timed (a what-first run's
        where epochs cost several of its what epochs); None when there is nothing to price with."""
        spent = sum(seconds for seconds, _ in self.phase_s.values())
        left = self.epochs_left(trials)
        if left is None or spent <= 0:
            return None
        left, unlisted = left
        cost = {phase: seconds / n for phase, (seconds, n) in self.phase_s.items()}
        if left.keys() - cost.keys():
            return "?"
        # configurations Ray has not created yet (--max-concurrent): alternating, so what and where alike
        work = sum(n * cost[phase] for phase, n in left.items()) + unlisted * sum(cost.values()) / len(cost)
        return _duration(elapsed / spent * work)

    def epochs_left(self, trials) -> tuple[dict[str, int], int] | None:
        """Epochs still to train per phase over the configurations that have not ended, and those of configurations
        not among `trials` yet; None when a configuration's schedule is not in its config."""
        left: dict[str, int] = {}
        listed = 0
        for t in trials:
            for trial_id, row in configurations(t):
                if not {"order", "k", "epochs"} <= row.keys():
                    return None
                schedule = trial_config(row)[0].schedule
                listed += schedule.epochs
                if trial_id in self.ended or t.status in ("TERMINATED", "ERROR"):
                    continue
                for epoch in range(min(self.epochs.get(trial_id, 0), schedule.epochs), schedule.epochs):
                    phase = schedule.phase(epoch)
                    left[phase] = left.get(phase, 0) + 1
        return left, max(0, self.total_epochs - listed)

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
