"""The Parquet results of a run, written while it runs, in atomic steps.

    <run>/epochs/<trial_id>.parquet   one row per trial and epoch (identity, config, phase, every metric)
    <run>/trials.parquet              one row per trial (config, final metrics, status, error, placement, time)

Every write goes to a hidden temporary file first and is then renamed over the old one, so a driver killed at
any moment leaves only whole files (readers of the folder skip hidden files). A trial retried from a checkpoint
re-reports epochs it had reported before; they replace the earlier rows, so there is one row per trial and epoch.
"""

from __future__ import annotations

import json
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from trainables.metrics import metric_names

# -- schema -----------------------------------------------------------------------------------------------------
IDENTITY = [("run", pa.string()), ("space", pa.string()), ("scale", pa.string()), ("experiment", pa.string()),
            ("trial_id", pa.string())]
CONFIG = [("order", pa.string()), ("k", pa.int64()), ("epochs", pa.int64()), ("what_lr", pa.float64()),
          ("where_lr", pa.float64()), ("optimizer", pa.string()), ("momentum", pa.float64()), ("plateau", pa.bool_()),
          ("stop_train_loss", pa.float64()), ("batch_size", pa.int64()), ("dtype", pa.string()), ("seed", pa.int64()),
          ("foreground", pa.string()), ("grid", pa.int64()), ("n_train", pa.int64()), ("n_test", pa.int64()),
          ("n_val", pa.int64()), ("protocol", pa.string()), ("data_seed", pa.int64())]
PLACEMENT = [("device", pa.string()), ("node_id", pa.string()), ("node_ip", pa.string()), ("hostname", pa.string()),
             ("pid", pa.int64())]
PASSES = ("train_", "test_", "val_", "final_train_")
METRIC_COLUMNS = [(name, pa.float64()) for prefix in PASSES for name in metric_names(prefix)]
EPOCH_SCHEMA = pa.schema(
    IDENTITY + CONFIG
    + [("epoch", pa.int64()), ("phase", pa.string()), ("lr_what", pa.float64()), ("lr_where", pa.float64())]
    + METRIC_COLUMNS
    + [("mosaics_per_s", pa.float64()), ("epoch_s", pa.float64()), ("outcome", pa.string()),
       ("time_total_s", pa.float64())]
    + PLACEMENT
)
TRIAL_SCHEMA = pa.schema(
    IDENTITY + CONFIG
    + [("status", pa.string()), ("outcome", pa.string()), ("error", pa.string()),
       ("epochs_completed", pa.int64())]
    + METRIC_COLUMNS
    + [("ref_train_acc", pa.float64()), ("ref_test_acc", pa.float64()), ("ref_source", pa.string()),
       ("wall_s", pa.float64())]
    + PLACEMENT
)
EPOCHS_DIR = "epochs"
TRIALS_FILE = "trials.parquet"
RUN_FILE = "run.json"


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows to a table of exactly `schema`: missing keys become nulls, extra keys are dropped."""
    columns = {f.name: [_cell(row.get(f.name), f.type) for row in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


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


# -- storage ------------------------------------------------------------------------------------------------------
class RunStorage:
    """A run folder on a local disk, NFS or an object store (any pyarrow filesystem URI, e.g.
    `s3://bucket/prefix?region=eu-west-1` or `s3://KEY:SECRET@bucket/prefix?endpoint_override=host:9000`)."""

    def __init__(self, uri: str):
        self.uri = uri if "://" in uri else os.path.abspath(uri)
        self.fs, self.root = pafs.FileSystem.from_uri(self.uri)
        self.root = self.root.rstrip("/")
        self.remote = not isinstance(self.fs, pafs.LocalFileSystem)
        self.atomic_rename = not self.remote  # object-store puts are atomic already

    @classmethod
    def child(cls, base: str, name: str) -> "RunStorage":
        """The run `name` inside the results folder or URI `base` (query parameters stay at the end)."""
        if "://" not in base:
            return cls(os.path.join(base, name))
        parts = urlsplit(base)
        return cls(urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{name}")))

    @property
    def display(self) -> str:
        """The location without credentials or options: safe to print and to record."""
        return redact(self.uri) if self.remote else self.root

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def _write_atomically(self, write, *parts: str) -> None:
        """`write(path)` into a hidden temporary file, then rename it over the final one (local disks); object
        stores get the final path directly, their puts are atomic already."""
        final = self.path(*parts)
        folder, name = final.rsplit("/", 1)
        self.fs.create_dir(folder, recursive=True)
        if not self.atomic_rename:
            write(final)
            return
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        write(tmp)
        self.fs.move(tmp, final)

    def write_table(self, table: pa.Table, *parts: str) -> None:
        self._write_atomically(lambda path: pq.write_table(table, path, filesystem=self.fs), *parts)

    def read_table(self, *parts: str) -> pa.Table:
        return pq.read_table(self.path(*parts), filesystem=self.fs)

    def write_json(self, data: dict, *parts: str) -> None:
        def write(path: str) -> None:
            with self.fs.open_output_stream(path) as out:
                out.write(json.dumps(data, indent=2).encode())

        self._write_atomically(write, *parts)

    def read_json(self, *parts: str) -> dict:
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return json.loads(stream.readall().decode())

    def list_epoch_files(self) -> list[str]:
        selector = pafs.FileSelector(self.path(EPOCHS_DIR), allow_not_found=True)
        return sorted(i.path for i in self.fs.get_file_info(selector)
                      if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
                      and not i.base_name.startswith((".", "_")))


def redact(uri: str) -> str:
    """A URI without user info (credentials) and query (options): what logs and run.json may hold."""
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


# -- the writer -------------------------------------------------------------------------------------------------
class ResultsWriter:
    """Keeps each trial's epoch rows (keyed by epoch) and rewrites the trial's file after every report."""

    def __init__(self, storage: RunStorage, run: str, references: dict | None = None):
        self.storage = storage
        self.run = run
        self.references = references or {}  # experiment label -> Reference
        self.reload()

    def reload(self) -> None:
        """Start from what is on storage (on resume: what an earlier driver wrote)."""
        self.epochs: dict[str, dict[int, dict]] = {}
        self.trials: dict[str, dict] = {}
        for path in self.storage.list_epoch_files():
            rows = pq.read_table(path, filesystem=self.storage.fs).to_pylist()
            for row in rows:
                self.epochs.setdefault(row["trial_id"], {})[row["epoch"]] = row
        if self.storage.exists(TRIALS_FILE):
            for row in self.storage.read_table(TRIALS_FILE).to_pylist():
                self.trials[row["trial_id"]] = row

    def add_epoch(self, trial_id: str, row: dict) -> None:
        row = {**row, "run": self.run, "trial_id": trial_id}
        self.epochs.setdefault(trial_id, {})[int(row["epoch"])] = row
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

    def _write_trial_epochs(self, trial_id: str) -> None:
        rows = [self.epochs[trial_id][e] for e in sorted(self.epochs[trial_id])]
        self.storage.write_table(to_table(rows, EPOCH_SCHEMA), EPOCHS_DIR, f"{trial_id}.parquet")

    def set_trial(self, trial_id: str, config: dict, status: str, error: str | None = None,
                  wall_s: float | None = None) -> None:
        """Record a trial's status; its final metrics are those of its last epoch row."""
        rows = self.epochs.get(trial_id, {})
        last = rows[max(rows)] if rows else {}
        ref = self.references.get(config.get("experiment"))
        outcome = last.get("outcome")
        if status == "TERMINATED" and outcome == "running":
            outcome = "stopped"  # ended by the scheduler (ASHA) before its last epoch
        entry = {**config, **last, "run": self.run, "trial_id": trial_id, "status": status, "error": error,
                 "epochs_completed": max(rows) if rows else 0, "outcome": outcome,
                 "wall_s": wall_s if wall_s is not None else self.trials.get(trial_id, {}).get("wall_s")}
        if ref is not None:
            entry.update(ref_train_acc=ref.train_acc, ref_test_acc=ref.test_acc, ref_source=ref.source)
        self.trials[trial_id] = entry
        self.storage.write_table(to_table(list(self.trials.values()), TRIAL_SCHEMA), TRIALS_FILE)


def clean_error(text: str | None) -> str | None:
    """The last meaningful line of a traceback: what a user needs in a table."""
    if not text:
        return None
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None
