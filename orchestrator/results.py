"""The files of a run, their schemas and names, written while it runs in atomic steps and read back by reports.

    <run>/run.json                    the run's space, scale, seeds, subset and options
    <run>/epochs/<trial_id>.parquet   one row per trial and epoch (identity, config, phase, every metric)
    <run>/trials.parquet              one row per trial (config, final metrics, status, error, placement, time)
    <run>/tune/<trial folder>/checkpoint_NNNNNN/   Ray's trial checkpoints (state.pt, history.json)

Every write goes to a hidden temporary file first and is then renamed over the old one, so a driver killed at
any moment leaves only whole files (readers of the folder skip hidden files). A trial retried from a checkpoint
re-reports epochs it had reported before; they replace the earlier rows, so there is one row per trial and epoch.

Column names are derived from their owners: config keys from `TrainConfig` (FLAT_FIELDS), metric names from
`trainables.metrics`, placement keys from the trial (`PLACEMENT_FIELDS`). A row with a key the schema lacks is
reported with an `UnknownColumnWarning` (an error in the tests), never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from trainables.config import FLAT_FIELDS
from trainables.metrics import all_metric_names
from trainables.tune_trial import MEMBERS, PLACEMENT_FIELDS, STATE_FILE, pack_of

from .errors import UsageError
from .storage import RunStorage

# -- names --------------------------------------------------------------------------------------------------------
RUN_FILE = "run.json"
EPOCHS_DIR = "epochs"
TRIALS_FILE = "trials.parquet"
TUNE_DIR = "tune"  # Ray's experiment folder (trial checkpoints, experiment state) inside the run folder
CHECKPOINT_PREFIX = "checkpoint_"
REPORT_DIR = "report"
INTERRUPTED = "INTERRUPTED"  # stopped by Ctrl+C before it ended; --resume continues it
# Ray's, plus RETRYING while recovering and INTERRUPTED
STATUSES = ("PENDING", "RUNNING", "RETRYING", "TERMINATED", "ERROR", INTERRUPTED)
FINISHED = ("completed", "early_stopped", "stopped")  # outcomes whose numbers count ("stopped": ended by ASHA)


def trial_dirname(experiment: str, seed, trial_id: str) -> str:
    """The folder of a trial under tune/: readable label and seed, and the trial ID last (see `find_final_state`)."""
    return f"{str(experiment).replace('/', '-')}-seed{seed}-{trial_id}"


def pack_dirname(members: int, trial_id: str) -> str:
    """The folder of a pack's Ray trial: its checkpoints hold members/<member trial id>.pt."""
    return f"pack{members}-{trial_id}"


# -- schema -------------------------------------------------------------------------------------------------------
ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
IDENTITY = [
    ("run", pa.string()),
    ("space", pa.string()),
    ("scale", pa.string()),
    ("experiment", pa.string()),
    ("trial_id", pa.string()),
    ("pack_id", pa.string()),  # the Ray trial that trained this configuration in a pack; null when unpacked
]
CONFIG = [(f.name, ARROW_TYPES[f.kind]) for f in FLAT_FIELDS]
PLACEMENT = [(name, ARROW_TYPES[kind]) for name, kind in PLACEMENT_FIELDS.items()]
PLACEMENT_KEYS = tuple(PLACEMENT_FIELDS)
METRIC_COLUMNS = [(name, pa.float64()) for name in all_metric_names()]
EPOCH_SCHEMA = pa.schema(
    IDENTITY
    + CONFIG
    + [("epoch", pa.int64()), ("phase", pa.string()), ("lr_what", pa.float64()), ("lr_where", pa.float64())]
    + METRIC_COLUMNS
    + [
        ("mosaics_per_s", pa.float64()),
        ("epoch_s", pa.float64()),
        ("outcome", pa.string()),
        ("time_total_s", pa.float64()),
    ]
    + PLACEMENT
)
# run.json's "published" -> "epochs" in a copy made by `python -m orchestrator.publish_run`: which epochs it kept
EPOCHS_KEPT = {
    "phase_ends": "per trial, only the last epoch of each phase and the trial's last epoch",
    "every_epoch": "every epoch of every trial (--every-epoch)",
}
TRIAL_SCHEMA = pa.schema(
    IDENTITY
    + CONFIG
    + [("status", pa.string()), ("outcome", pa.string()), ("error", pa.string()), ("epochs_completed", pa.int64())]
    + METRIC_COLUMNS
    + [
        ("ref_train_acc", pa.float64()),
        ("ref_test_acc", pa.float64()),
        ("ref_source", pa.string()),
        ("wall_s", pa.float64()),
    ]
    + PLACEMENT
)


class ResultsNotWritten(UserWarning):
    """Storage refused a write; the rows wait in memory (a warning, printed once per outage)."""


class UnknownColumnWarning(UserWarning):
    """A row carried a key its schema has no column for: a name list went out of step (tests make it an error)."""


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows to a table of exactly `schema`: missing keys become nulls; a key the schema lacks is warned about."""
    unknown = sorted({key for row in rows for key in row} - set(schema.names))
    if unknown:
        warnings.warn(
            f"columns not in the result schema, not written: {', '.join(unknown)}", UnknownColumnWarning, stacklevel=2
        )
    columns = {f.name: [_cell(row.get(f.name), f.type) for row in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A table read from an older run as `schema`: columns added since (pack_id, precision, ...) become nulls."""
    missing = [f for f in schema if f.name not in table.column_names]
    for f in missing:
        table = table.append_column(f, pa.nulls(len(table), f.type))
    return table.select(schema.names).cast(schema)


def _cell(value, kind: pa.DataType):
    if value is None:
        return None
    if pa.types.is_floating(kind):
        return float(value)
    if pa.types.is_integer(kind):
        return int(value)
    if pa.types.is_boolean(kind):
        return bool(value)
    return str(value)


# -- the writer -------------------------------------------------------------------------------------------------
class ResultsWriter:
    """Keeps each trial's epoch rows (keyed by epoch) and rewrites the trial's file after every report.

    A write that fails (a full disk, an object store that is down) never stops the sweep: the rows stay in
    memory, one warning says so, and every later write retries what is pending until storage is back
    (`pending`; `flush()` at the end tries once more)."""

    def __init__(self, storage: RunStorage, run: str, references: dict | None = None):
        self.storage = storage
        self.run = run
        self.references = references or {}  # experiment label -> Reference
        self.pending: set[str] = set()  # trial ids whose epoch file, and TRIALS_FILE, are not written yet
        self.failure: str | None = None  # the last write error, while writes fail
        self.reload()

    def reload(self) -> None:
        """Start from what is on storage (on resume: what an earlier driver wrote)."""
        self.epochs: dict[str, dict[int, dict]] = {}
        self.trials: dict[str, dict] = {}
        for path in self.storage.list_parquet_files(EPOCHS_DIR):
            rows = pq.read_table(path, filesystem=self.storage.fs).to_pylist()
            for row in rows:
                self.epochs.setdefault(row["trial_id"], {})[row["epoch"]] = row
        if self.storage.exists(TRIALS_FILE):
            for row in self.storage.read_table(TRIALS_FILE).to_pylist():
                self.trials[row["trial_id"]] = row

    def last_epochs(self) -> dict[str, int]:
        """Each trial's last epoch written so far."""
        return {trial_id: max(rows) for trial_id, rows in self.epochs.items() if rows}

    def ended_trials(self) -> set[str]:
        """Trials whose last epoch written ended them (completed, stopped early, diverged)."""
        return {t for t, rows in self.epochs.items() if rows and rows[max(rows)].get("outcome", "running") != "running"}

    def add_epoch(self, trial_id: str, row: dict) -> None:
        """A trial reports its epochs in order: a row for epoch e while later ones are stored means it restarted
        from a checkpoint (a retry, a resume, an older checkpoint when the newest was unreadable), and the later
        rows are the failed attempt's: they go, whatever the retry does next."""
        row = {**row, "run": self.run, "trial_id": trial_id}
        rows = self.epochs.setdefault(trial_id, {})
        epoch = int(row["epoch"])
        for stale in [e for e in rows if e > epoch]:
            del rows[stale]
        rows[epoch] = row
        self._write_trial_epochs(trial_id)

    def fill_from_history(self, trial_id: str, history: list[dict], fixed: dict) -> int:
        """Add epochs the driver never saw (from a checkpoint's history); returns how many were missing."""
        have = self.epochs.setdefault(trial_id, {})
        missing = [r for r in history if int(r["epoch"]) not in have]
        for r in missing:
            have[int(r["epoch"])] = {**fixed, **r, "run": self.run, "trial_id": trial_id}
        if missing:
            self._write_trial_epochs(trial_id)
        return len(missing)

    def mark_interrupted(self) -> None:
        """After Ctrl+C: Tune reported the trials it stopped as TERMINATED; those that had not ended by themselves
        are INTERRUPTED (a --resume continues them)."""
        for entry in self.trials.values():
            if entry.get("outcome") not in ("completed", "early_stopped", "diverged") and entry["status"] != "ERROR":
                entry.update(status=INTERRUPTED, outcome="running")
                self.pending.add(TRIALS_FILE)
        self.flush()

    def drop_after(self, trial_id: str, epoch: int) -> int:
        """Forget a trial's rows after `epoch` (a retry restarts from the checkpoint of that epoch, and may end
        earlier than the failed attempt got: its later rows must not stay). Returns how many were dropped."""
        rows = self.epochs.get(trial_id, {})
        stale = [e for e in rows if e > epoch]
        for e in stale:
            del rows[e]
        if stale:
            self._write_trial_epochs(trial_id)
        return len(stale)

    def _write_trial_epochs(self, trial_id: str) -> None:
        self.pending.add(trial_id)
        self.flush()

    def flush(self) -> bool:
        """Write everything pending; True when nothing is left to write."""
        for trial_id in sorted(p for p in self.pending if p != TRIALS_FILE):
            rows = [self.epochs[trial_id][e] for e in sorted(self.epochs.get(trial_id, {}))]
            if not self._try(self.storage.write_table, to_table(rows, EPOCH_SCHEMA), EPOCHS_DIR, f"{trial_id}.parquet"):
                return False
            self.pending.discard(trial_id)
        if TRIALS_FILE in self.pending:
            if not self._try(self.storage.write_table, to_table(list(self.trials.values()), TRIAL_SCHEMA), TRIALS_FILE):
                return False
            self.pending.discard(TRIALS_FILE)
        return True

    def _try(self, write, *args) -> bool:
        try:
            write(*args)
        except OSError as exc:
            if self.failure is None:
                warnings.warn(
                    f"mosaic-sweep: results could not be written to {self.storage.display} ({exc}); they are kept in "
                    f"memory and written as soon as storage works again",
                    ResultsNotWritten,
                    stacklevel=3,
                )
            self.failure = str(exc)
            return False
        if self.failure is not None:
            warnings.warn(
                f"mosaic-sweep: results written again to {self.storage.display}", ResultsNotWritten, stacklevel=3
            )
            self.failure = None
        return True

    def set_trial(
        self, trial_id: str, config: dict, status: str, error: str | None = None, wall_s: float | None = None
    ) -> None:
        """Record a trial's status; its final metrics are those of its last epoch row."""
        rows = self.epochs.get(trial_id, {})
        # a trial row takes the last epoch's metrics and placement, not its per-epoch bookkeeping (phase, lr, ...)
        last = {k: v for k, v in rows[max(rows)].items() if k in TRIAL_SCHEMA.names} if rows else {}
        ref = self.references.get(config.get("experiment"))
        outcome = last.get("outcome")
        if status == "TERMINATED" and outcome == "running":
            outcome = "stopped"  # ended by the scheduler (ASHA) before its last epoch
        entry = {
            **config,
            **last,
            "run": self.run,
            "trial_id": trial_id,
            "status": status,
            "error": error,
            "epochs_completed": max(rows) if rows else 0,
            "outcome": outcome,
            "wall_s": wall_s if wall_s is not None else self.trials.get(trial_id, {}).get("wall_s"),
        }
        if ref is not None:
            entry.update(ref_train_acc=ref.train_acc, ref_test_acc=ref.test_acc, ref_source=ref.source)
        self.trials[trial_id] = entry
        self.pending.add(TRIALS_FILE)
        self.flush()


def clean_error(text: str | None) -> str | None:
    """The last meaningful line of a traceback: what a user needs in a table."""
    if not text:
        return None
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


# -- the reader -----------------------------------------------------------------------------------------------------
@dataclass
class RunData:
    """A run as a report sees it: run.json (or {} when missing), and its trials and epochs as DataFrames."""

    name: str
    storage: RunStorage
    info: dict
    trials: pd.DataFrame
    epochs: pd.DataFrame


def resolve_run(run: str, results_dir: str) -> RunStorage:
    """A run folder (path or URI), or a run name under results_dir."""
    if "://" in run or Path(run).is_dir() or "/" in run or run.startswith("."):
        return RunStorage(run)
    return RunStorage.child(results_dir, run)


def read_epoch_table(storage: RunStorage) -> pa.Table:
    """Every epoch row of a run as written (older files conformed to today's schema)."""
    files = storage.list_parquet_files(EPOCHS_DIR)
    if not files:
        return EPOCH_SCHEMA.empty_table()
    return pads.dataset(files, schema=EPOCH_SCHEMA, filesystem=storage.fs, format="parquet").to_table()


def read_run(run: str, results_dir: str) -> RunData:
    storage = resolve_run(run, results_dir)
    if storage.fs.get_file_info(storage.root).type != pafs.FileType.Directory:
        raise UsageError(
            f"no run {run!r}: {storage.display} is not a folder (give a run folder, or the name of a run "
            f"in --results-dir, here {results_dir})"
        )
    epochs = read_epoch_table(storage).to_pandas()
    trials = (
        conform(storage.read_table(TRIALS_FILE), TRIAL_SCHEMA).to_pandas()
        if storage.exists(TRIALS_FILE)
        else TRIAL_SCHEMA.empty_table().to_pandas()
    )
    if epochs.empty and trials.empty:
        inside = sorted(
            i.base_name
            for i in storage.fs.get_file_info(pafs.FileSelector(storage.root))
            if storage.exists(i.base_name, RUN_FILE)
        )
        hint = f"; it holds the runs {', '.join(inside)}" if inside else ""
        raise UsageError(f"no results in {storage.display}: no trial in trials.parquet or epochs/*.parquet yet{hint}")
    info = storage.read_json(RUN_FILE) if storage.exists(RUN_FILE) else {}
    name = info.get("name") or storage.root.rstrip("/").rsplit("/", 1)[-1]
    return RunData(name, storage, info, trials, epochs)


def read_runs(runs: list[str], results_dir: str) -> list[RunData]:
    """Several runs for one report; trials stay keyed by (run, trial_id), so copies of a run keep apart."""
    data = []
    for run in runs:
        d = read_run(run, results_dir)
        if any(o.storage.uri == d.storage.uri for o in data):
            raise UsageError(f"run {run!r} is given twice")
        if any(o.name == d.name for o in data):
            d.name = f"{d.name} ({d.storage.display})"
        d.trials["run"], d.epochs["run"] = d.name, d.name
        data.append(d)
    return data


def find_final_state(storage: RunStorage, trial_id: str) -> str | None:
    """The state file of the trial's newest checkpoint, or None: tune/<trial folder>/checkpoint_NNNNNN/state.pt,
    or for a configuration trained in a pack, <pack folder>/checkpoint_NNNNNN/members/<trial_id>.pt (both in
    StageWiseTrainer's format). A checkpoint_NNNNNN/history.json beside it holds the epochs so far."""
    pack_id = pack_of(trial_id)
    folder_id, state = (trial_id, STATE_FILE) if pack_id is None else (pack_id, f"{MEMBERS}/{trial_id}.pt")
    trial_dirs = [
        i
        for i in _children(storage.fs, storage.path(TUNE_DIR))
        if i.type == pafs.FileType.Directory and i.base_name.rsplit("-", 1)[-1] == folder_id
    ]
    checkpoints = [
        i
        for d in trial_dirs
        for i in _children(storage.fs, d.path)
        if i.type == pafs.FileType.Directory
        and i.base_name.startswith(CHECKPOINT_PREFIX)
        and i.base_name[len(CHECKPOINT_PREFIX) :].isdigit()
    ]
    states = [f"{c.path}/{state}" for c in checkpoints]
    states = [s for s in states if storage.fs.get_file_info(s).type == pafs.FileType.File]
    if not states:
        return None
    return max(states, key=lambda s: int(s.split(CHECKPOINT_PREFIX)[-1].split("/")[0]))


def _children(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    return fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
