"""A paper-scale run folder, made small enough to commit under results/published/ (its README: the 3 MB budget).

    python -m orchestrator.publish_run RUN_DIR [--as NAME] [--states N] [--every-epoch]

writes results/published/NAME/ (NAME: the run's name), which `mosaic-sweep report` reads like any run:

- run.json: the run's own, plus "published": what the copy left out;
- trials.parquet: the run's table (every trial's settings, outcome and final numbers), rewritten compact;
- epochs/published.parquet: per trial, the last epoch of each phase and its last epoch. Every epoch of Tables 1
  and 2 over 5 seeds is 32,400 rows, 6-8 MB of Parquet, twice the budget; the phase ends keep the staircase of
  the stage-wise curves and every final number. `--every-epoch` keeps them all, for a run of a row or two whose
  note quotes what happens inside a phase (about 200 bytes an epoch: 100 KB for a 500-epoch row);
- both Parquet files compact (`write_compact_parquet`): zstd, without the stored Arrow schema and the column
  statistics, which took about 10 KB of each file (readers conform a table to the result schemas, and nothing
  filters a published file by its statistics), and in plain encoding, no dictionary pages (at these sizes they
  cost more than they save): a one-trial folder of phase ends costs about 18 KB besides its rows instead of 41 KB;
- the final state of the best trial of each of the N (default 1) best experiments, at the path the run had it
  (tune/.../state.pt, or a pack's members/<trial>.pt): the two networks only, no optimiser state and no history, their
  weight matrices and kernels as int8 with a float32 scale per output unit, biases in float16 (0.14 MB instead of 1.1,
  0.25 in float16: every checkout travels with each GPU call, beside a 61 MiB bundle, and the budget must hold the
  Parquet of all 80 trials besides). Enough to redraw their attention pictures: `full_weights` gives them back, and
  they score the trial's final test accuracy to within 0.002 and foreground alpha to within 0.003 (tested on every
  committed state where CIFAR-10 is present). The int8 entries are named `<param>.int8` and `<param>.scale`, so that
  loading a published state without `full_weights` fails loudly instead of casting the integers.

Everything tracked under results/published/ stays under BUDGET_BYTES (its README, "Size budget": the checkout
travels with every GPU call): a copy that would take it over is refused, with what to leave out.

The copy is deterministic: publishing the same run twice gives the same bytes (with the same pyarrow and torch).
One line and exit 2 when the run is not at paper scale or changed a paper setting (a space file, --set; the
precision or dtype may differ), has no finished trial or a trial that has not ended
(a run stopped by --time-limit: finish it with --resume first, so it is published once), the destination exists
(a published run is never overwritten), or the copy would take results/published over its budget.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .aggregate import best_trials, counted, experiment_summary, has, trial_results
from .errors import UsageError
from .report_checks import change_text, mark_paper_changes, off_paper, off_paper_changes
from .results import (
    EPOCHS_DIR,
    EPOCHS_KEPT,
    RUN_FILE,
    TRIALS_FILE,
    find_final_state,
    read_epoch_table,
    read_run,
)

PUBLISHED = Path("results") / "published"
ENDED = ("TERMINATED", "ERROR")  # a trial that will not train any more; INTERRUPTED and the like go on with --resume
EPOCHS_FILE = "published.parquet"
STATE_KEYS = ("format", "config", "epoch", "outcome", "nets")  # what load_weights (attention pictures) reads
STATES_KEPT = (
    "the final networks of the best trials only, weight matrices as int8 with a float32 scale per output unit "
    "(orchestrator.publish_run.full_weights), biases in float16; no optimiser state, history or Ray experiment state"
)
HALF_MAX = 65504.0  # float16's largest finite value: a weight beyond it keeps its dtype
INT8_SUFFIX, SCALE_SUFFIX = ".int8", ".scale"  # the entries of a quantised weight: <param>.int8, <param>.scale
BUDGET_BYTES = 3_000_000  # everything tracked under results/published/


def tracked_files(root: Path) -> list[Path]:
    """What git tracks or would track under root/results/published (every file there when git cannot tell, the
    report's git-ignored files too: an over-count, never an under-count)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard", "--", PUBLISHED.as_posix()],  # -z: names unquoted
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        return [root / name for name in out.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        return [p for p in (root / PUBLISHED).rglob("*") if p.is_file()]


def published_bytes(root: Path) -> int:
    """The bytes held by the files tracked (or to be tracked) under root/results/published."""
    return sum(f.stat().st_size for f in tracked_files(root) if f.is_file())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def epochs_to_publish(epochs: pa.Table, every_epoch: bool = False) -> pa.Table:
    """The rows at the end of a phase (epoch divisible by k) and each trial's last row (every row with
    `every_epoch`), by trial and epoch."""
    trial, epoch, k = (epochs[c].to_pylist() for c in ("trial_id", "epoch", "k"))
    last: dict[str, int] = {}
    for t, e in zip(trial, epoch):
        last[t] = max(e, last.get(t, e))
    keep = [every_epoch or e % step == 0 or e == last[t] for t, e, step in zip(trial, epoch, k)]
    return epochs.filter(pa.array(keep)).sort_by([("trial_id", "ascending"), ("epoch", "ascending")])


def slim_state(state: dict) -> dict:
    """A trial's state with only what an attention picture needs, its networks' weights made compact
    (`compact_weights`)."""
    slim = {key: state[key] for key in STATE_KEYS if key in state}
    slim["nets"] = {net: compact_weights(weights) for net, weights in state["nets"].items()}
    return slim


def compact_weights(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A network's state_dict, small: each finite weight of two or more dimensions as int8 times a float32 scale
    per slice along its first dimension (a unit's weights; symmetric, largest magnitude -> 127), other floats in
    float16 (a value beyond float16's range keeps its dtype), anything else as it is."""
    clashes = [name for name in weights if name.endswith((INT8_SUFFIX, SCALE_SUFFIX))]
    if clashes:  # full_weights could not tell them from a quantised weight's entries
        raise ValueError(f"cannot make compact: parameter names end in {INT8_SUFFIX} or {SCALE_SUFFIX}: {clashes}")
    out = {}
    for name, w in weights.items():
        rows = w.detach().float().reshape(len(w), -1) if w.is_floating_point() and w.dim() >= 2 else None
        if rows is not None and rows.numel() and bool(torch.isfinite(rows).all()):
            # stored as used: a unit of all zeros gets the smallest scale and comes back as zeros
            scale = (rows.abs().amax(dim=1) / 127).clamp(min=torch.finfo(torch.float32).tiny)
            quantised = torch.round(rows / scale[:, None]).to(torch.int8)
            out[name + INT8_SUFFIX] = quantised.reshape(w.shape)
            out[name + SCALE_SUFFIX] = scale
        else:
            out[name] = _half(w)
    return out


def full_weights(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state_dict that `compact_weights` made compact, in float32 where it was quantised (a network's
    load_state_dict casts the rest); any other state_dict (a run's own) comes back as it is."""
    out = {}
    for name, w in weights.items():
        base = name.removesuffix(INT8_SUFFIX).removesuffix(SCALE_SUFFIX)
        pair = base + INT8_SUFFIX, base + SCALE_SUFFIX
        if base == name or not all(k in weights for k in pair) or weights[pair[0]].dtype != torch.int8:
            out[name] = w
        elif name == pair[0]:
            scale = weights[pair[1]]
            out[base] = w.float() * scale.reshape(-1, *[1] * (w.dim() - 1))
    return out


def _half(weight: torch.Tensor) -> torch.Tensor:
    if weight.is_floating_point() and weight.numel() and weight.abs().max() < HALF_MAX:
        return weight.to(torch.float16)
    return weight


def write_compact_parquet(table: pa.Table, path: Path) -> None:
    """`table` as a published Parquet file: zstd level 19, plain encoding, no stored Arrow schema, no statistics.

    Plain, not dictionary, encoding: at a few to a few thousand rows a column's dictionary page costs more than it
    saves (measured: one trial's row 10.9 KB -> 8.3 KB, 36 phase ends 16.4 -> 13.5 KB, 1,600 epochs 149 -> 123 KB).
    """
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=False,
        store_schema=False,
        write_statistics=False,
    )


def publish(run_dir: str, root: Path, name: str | None = None, states: int = 1, every_epoch: bool = False) -> Path:
    """Write the published copy of the run folder `run_dir` under root/results/published/; returns its folder."""
    run = read_run(run_dir, str(Path(run_dir).parent))
    if run.info.get("scale") != "paper":
        raise UsageError(f"{run_dir}: only paper-scale runs are published (this one is {run.info.get('scale')!r})")
    if states < 0:
        raise UsageError(f"--states: must be a non-negative integer, got {states}")
    results = trial_results(run.trials, run.epochs)
    summary = experiment_summary(results)
    mark_paper_changes(summary)  # as the report sees them: a search's sampled settings are not changes
    changed = off_paper(summary)
    if len(changed):
        row = changed.iloc[0]
        raise UsageError(
            f"{run_dir}: {row['experiment']} ran with {change_text(off_paper_changes(row))}: only the paper's "
            f"settings are published ({counted(len(changed), 'experiment')} off them)"
        )
    if not results["finished"].any():
        raise UsageError(f"{run_dir}: no trial has finished; publish a run with results")
    going = results[~results["status"].isin(ENDED)]
    if len(going):
        raise UsageError(
            f"{run_dir}: {counted(len(going), 'trial')} {has(len(going))} not ended ("
            f"{', '.join(sorted(set(going['status'])))}): finish "
            f"the run with mosaic-sweep run ... --resume --name {run.info.get('name', run.name)}, then publish it once"
        )
    dest = root / PUBLISHED / (name or run.name)
    if dest.exists():
        raise UsageError(f"{dest} exists: a published run is never overwritten (remove it, or use --as NAME)")

    before = published_bytes(root)  # before the temporary copy, which git would count too
    storage = run.storage
    epochs = read_epoch_table(storage)  # as written, not through pandas: every value as it was
    kept = []
    for _, trial in best_trials(results, limit=states).iterrows():
        source = find_final_state(storage, trial["trial_id"])
        if source is not None:
            kept.append((trial["trial_id"], source))

    # written beside the destination, then renamed: a failure leaves nothing half-published
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        folder = Path(tmp) / dest.name
        (folder / EPOCHS_DIR).mkdir(parents=True)
        kept_epochs = "every_epoch" if every_epoch else "phase_ends"
        published = {"epochs": EPOCHS_KEPT[kept_epochs], "states": STATES_KEPT, "state_trials": [t for t, _ in kept]}
        (folder / RUN_FILE).write_text(json.dumps({**run.info, "published": published}, indent=2) + "\n")
        rows = epochs_to_publish(epochs, every_epoch)
        write_compact_parquet(rows, folder / EPOCHS_DIR / EPOCHS_FILE)
        write_compact_parquet(storage.read_table(TRIALS_FILE), folder / TRIALS_FILE)
        for _, source in kept:
            with storage.fs.open_input_stream(source) as stream:
                state = torch.load(io.BytesIO(stream.readall()), map_location="cpu", weights_only=True)
            target = folder / Path(source).relative_to(storage.root)
            target.parent.mkdir(parents=True, exist_ok=True)  # a pack's members share one checkpoint folder
            torch.save(slim_state(state), target)
        size = folder_bytes(folder)
        if before + size >= BUDGET_BYTES:
            fewer = [f"fewer states (--states, {len(kept)} now)"] * bool(kept) + ["without --every-epoch"] * every_epoch
            raise UsageError(
                f"{run_dir}: its copy ({size:,} bytes) would take results/published to {before + size:,} bytes, over "
                f"its {BUDGET_BYTES:,}-byte budget (results/published/README.md, Size budget): "
                + (f"publish it with {' or '.join(fewer)}, or make room first" if fewer else "make room first")
            )
        folder.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.publish_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="the run folder, e.g. results/tables-paper-h100")
    parser.add_argument("--as", dest="name", default=None, help="the published folder's name (default: the run's)")
    parser.add_argument("--states", type=int, default=1, help="final states of the N best trials (default 1)")
    parser.add_argument(
        "--every-epoch", action="store_true", help="keep every epoch, not only the phase ends (about 200 bytes each)"
    )
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root (default: here)"
    )
    args = parser.parse_args(argv)
    try:
        dest = publish(args.run_dir, args.root, args.name, args.states, args.every_epoch)
    except (UsageError, OSError) as exc:
        print(f"publish_run: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    total = published_bytes(args.root)
    print(
        f"published {args.run_dir} -> {dest} ({folder_bytes(dest):,} bytes; results/published now holds "
        f"{total:,} of its {BUDGET_BYTES:,}-byte budget)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
