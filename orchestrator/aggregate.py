"""From a run's Parquet rows to the numbers a report shows: plain functions over pandas DataFrames, no files.

Vocabulary:
- an *epochs* frame has one row per trial and epoch (EPOCH_SCHEMA), a *trials* frame one row per trial
  (TRIAL_SCHEMA); both may come from several runs, so a trial is keyed by (run, trial_id);
- an *experiment* is one table row run with one or more seeds: trials sharing a label and every config value
  but the seeds. Its numbers are mean and sample standard deviation over its finished trials.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from search_spaces import get_space
from trainables.config import FLAT_KEYS
from trainables.metrics import FOCUS, all_metric_names

from .results import FINISHED, PLACEMENT_KEYS

TRIAL_KEY = ["run", "trial_id"]
# The published numbers are for the paper's sizes: only rows at this scale are compared with them.
PAPER_SCALE = "paper"
SEED_KEYS = ("seed", "data_seed")
# Trials that agree on all of these (everything but the seeds) are seeds of one experiment, whichever run
# or space they come from.
SETTINGS = ["scale", "experiment", *(k for k in FLAT_KEYS if k not in SEED_KEYS)]
# Where trials ran, as the per-node table groups them (the pid is per attempt, not a place).
PLACEMENT = [k for k in PLACEMENT_KEYS if k != "pid"]
# Columns a trial takes from its last epoch row (the freshest numbers, also for trials still running).
LAST_EPOCH_METRICS = all_metric_names()


def natural_key(text: str) -> list:
    """'table1/10' after 'table1/9': digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def last_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """Each trial's last epoch row."""
    if epochs.empty:
        return epochs.copy()
    ordered = epochs.sort_values([*TRIAL_KEY, "epoch"])
    return ordered.groupby(TRIAL_KEY, sort=False).tail(1).reset_index(drop=True)


def trial_results(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per trial: status and error from `trials`, metrics from its last epoch row in `epochs`.

    The epoch rows are rewritten after every epoch and trials.parquet less often, so the last epoch row gives the
    metrics and the outcome (except "stopped", which only trials.parquet knows). A trial known only from `epochs`
    gets status "UNKNOWN"; one known only from `trials` (it failed before its first epoch) no metrics. Adds:
    - `train_acc_final`: the clean pass after the last epoch (`final_train_acc`, what the paper's train accuracy
      is), else the running `train_acc` of the last epoch; `train_acc_source` says which; the same for the
      four focus outcomes (`train_<focus>_final`);
    - `finished`: TERMINATED with a finished outcome, so its numbers count;
    - `experiment_id`: a unique name of the trial's experiment (see `experiment_ids`).
    """
    last = last_epochs(epochs).set_index(TRIAL_KEY)
    known = trials.set_index(TRIAL_KEY) if not trials.empty else pd.DataFrame(index=last.index[:0])
    index = known.index.union(last.index)
    # identity, config, status, error, references, placement: trials.parquet first, the epoch rows fill gaps
    info = known.reindex(index)
    from_rows = last.reindex(index)
    for col in from_rows.columns:
        if col not in LAST_EPOCH_METRICS and col != "outcome":
            info[col] = info[col].combine_first(from_rows[col]) if col in info else from_rows[col]
    for col in LAST_EPOCH_METRICS:
        mine = from_rows[col] if col in from_rows else pd.Series(np.nan, index)
        info[col] = mine.where(index.isin(last.index), info[col] if col in info else np.nan).astype(float)
    recorded = info["outcome"] if "outcome" in info else pd.Series(None, index, dtype=object)
    fresh = from_rows["outcome"] if "outcome" in from_rows else pd.Series(None, index, dtype=object)
    info["outcome"] = fresh.where(fresh.notna() & (recorded != "stopped"), recorded)
    info["status"] = (info["status"] if "status" in info else pd.Series(None, index, dtype=object)).fillna("UNKNOWN")
    info["error"] = info["error"] if "error" in info else None
    done_epochs = from_rows["epoch"] if "epoch" in from_rows else pd.Series(np.nan, index)
    before = info["epochs_completed"] if "epochs_completed" in info else pd.Series(0, index)
    info["epochs_completed"] = done_epochs.fillna(before).fillna(0).astype("int64")
    info = info.drop(columns=[c for c in ("epoch",) if c in info]).reset_index()
    if "precision" in info and "device" in info:
        # runs older than `precision` left it null; a CPU trial ran as fp32 does whatever it says (CPU ignores it),
        # so its seeds group with later ones; a GPU trial's stays unknown (PyTorch let convolutions use TF32)
        cpu = info["device"].astype(str).str.startswith("cpu")
        info["precision"] = info["precision"].where(info["precision"].notna() | ~cpu, "fp32")
    # the trial's time: its last epoch's time_total_s, which Tune carries on from the checkpoint over resumes and
    # retries (as wall_s does since 2026-11-27; before, wall_s counted the last session only)
    if "time_total_s" in info:
        recorded_wall = info["wall_s"] if "wall_s" in info else pd.Series(np.nan, info.index)
        info["wall_s"] = info["time_total_s"].combine_first(recorded_wall)

    has_final = info["final_train_acc"].notna()
    info["train_acc_source"] = np.where(has_final, "final_train_acc", "train_acc")
    info["train_acc_final"] = info["final_train_acc"].where(has_final, info["train_acc"])
    for f in FOCUS:
        info[f"train_{f}_final"] = info[f"final_train_{f}"].where(has_final, info[f"train_{f}"])
    info["finished"] = (info["status"] == "TERMINATED") & info["outcome"].isin(FINISHED)
    info["experiment_id"] = experiment_ids(info)
    order = info["experiment_id"].map(lambda s: tuple(natural_key(s)))
    seed = info["seed"] if "seed" in info else pd.Series(0, info.index)
    info = info.assign(_order=order, _seed=seed).sort_values(["_order", "_seed", "run"], na_position="last")
    return info.drop(columns=["_order", "_seed"]).reset_index(drop=True)


def experiment_ids(trials: pd.DataFrame) -> pd.Series:
    """A name per experiment: its label, plus the settings that tell apart experiments sharing that label
    (a random search gives every sample the same label; two runs at different scales share labels)."""
    settings = [c for c in SETTINGS if c in trials.columns]
    keys = trials[settings].map(str).agg("|".join, axis=1)
    names = trials["experiment"].astype(str).copy()
    for label, rows in trials.groupby("experiment", sort=False):
        if keys[rows.index].nunique() <= 1:
            continue
        differing = [c for c in settings if rows[c].map(str).nunique() > 1]
        names[rows.index] = [
            f"{label} [{', '.join(f'{c}={_short(r[c])}' for c in differing)}]" for _, r in rows.iterrows()
        ]
    return names


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def experiment_summary(results: pd.DataFrame, references: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per experiment: its settings, mean/std/count of the final numbers over its finished trials, the
    published numbers and our mean minus them (at paper scale only), and how many of its trials did not finish.

    `results` is `trial_results(...)`. `references` (optional) has one row per experiment label with any of
    ref_train_acc, ref_test_acc, ref_source and ref_{train,test}_{ftpt,ffpt,ftpf,ffpf}; reference values
    recorded in the trials themselves (trials.parquet) come first.
    """
    rows = []
    for exp_id, group in results.groupby("experiment_id", sort=False):
        done = group[group["finished"]]
        first = group.iloc[0]
        row = {"space": first.get("space"), **{c: first[c] for c in SETTINGS if c in group.columns}}
        row.update(
            experiment_id=exp_id,
            trials=len(group),
            seeds=len(done),
            not_finished=int((~group["finished"]).sum()),
            seed_list=",".join(str(int(s)) for s in sorted(done["seed"].dropna())),
            train_acc_source=_sources(done["train_acc_source"]),
            outcomes=_sources(done["outcome"].dropna()),
            epochs_completed=int(group["epochs_completed"].max()),
        )
        row.update(_mean_std("train_acc", done["train_acc_final"]))
        for name in ("test_acc", "val_acc", "test_fg_alpha", "test_alpha_ge_half"):
            row.update(_mean_std(name, done[name]))
        for f in FOCUS:
            row.update(_mean_std(f"train_{f}", done[f"train_{f}_final"]))
            row.update(_mean_std(f"test_{f}", done[f"test_{f}"]))
        row.update(_reference(group, references))
        comparable = row.get("scale") == PAPER_SCALE  # other scales: published values for orientation only
        row["train_acc_diff"] = row["train_acc_mean"] - row["ref_train_acc"] if comparable else math.nan
        row["test_acc_diff"] = row["test_acc_mean"] - row["ref_test_acc"] if comparable else math.nan
        row["failures"] = "; ".join(describe_problem(r) for _, r in group[~group["finished"]].iterrows())
        rows.append(row)
    return pd.DataFrame(rows)


def _sources(sources: pd.Series) -> str:
    found = sorted(set(sources))
    return "+".join(found) if found else ""


def _mean_std(name: str, values: pd.Series) -> dict:
    """Mean and sample standard deviation (NaN for one value) over the values present."""
    values = values.dropna().astype(float)
    return {
        f"{name}_mean": values.mean() if len(values) else math.nan,
        f"{name}_std": values.std(ddof=1) if len(values) > 1 else math.nan,
    }


REFERENCE_COLUMNS = ["ref_train_acc", "ref_test_acc"] + [
    f"ref_{split}_{f}" for split in ("train", "test") for f in FOCUS
]


def references(results: pd.DataFrame) -> pd.DataFrame:
    """Published numbers from the search spaces (focus outcomes too), one row per experiment label."""
    rows = []
    for space, label in results[["space", "experiment"]].drop_duplicates().itertuples(index=False):
        try:
            ref = get_space(str(space)).reference(str(label))
        except KeyError:  # a space this version does not know: the run's own ref_* columns still count
            continue
        row = {
            "experiment": label,
            "ref_train_acc": ref.train_acc,
            "ref_test_acc": ref.test_acc,
            "ref_source": ref.source if ref.published else None,
        }
        for split, focus in (("train", ref.train_focus), ("test", ref.test_focus)):
            for name, value in zip(FOCUS, focus or ()):
                row[f"ref_{split}_{name}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _reference(group: pd.DataFrame, references: pd.DataFrame | None) -> dict:
    ref = {c: math.nan for c in REFERENCE_COLUMNS}
    ref["ref_source"] = None
    if references is not None and not references.empty:
        match = references[references["experiment"] == group["experiment"].iloc[0]]
        if not match.empty:
            for c in [*REFERENCE_COLUMNS, "ref_source"]:
                if c in match.columns and pd.notna(match[c].iloc[0]):
                    ref[c] = match[c].iloc[0]
    for c in ("ref_train_acc", "ref_test_acc", "ref_source"):  # what the run itself recorded
        if c in group.columns and group[c].notna().any():
            ref[c] = group[c].dropna().iloc[0]
    if pd.isna(ref["ref_test_acc"]):
        ref["ref_source"] = None
    return ref


def describe_problem(trial: pd.Series) -> str:
    """One line on why a trial's numbers do not count."""
    seed = "" if pd.isna(trial.get("seed")) else f" seed {int(trial['seed'])}"
    what = f"{trial.get('experiment')}{seed} ({trial.get('trial_id')})"
    return f"{what}: {problem_text(trial)}"


def problem_text(trial: pd.Series) -> str:
    status, outcome, error = trial.get("status"), trial.get("outcome"), trial.get("error")
    epochs = int(trial.get("epochs_completed") or 0)
    if outcome == "diverged":
        text = f"diverged (non-finite training loss) at epoch {epochs}"
    elif status == "ERROR":
        text = f"failed after {counted(epochs, 'epoch')}"
    elif status in ("RUNNING", "PENDING", "RETRYING", "UNKNOWN") or outcome == "running":
        text = f"{str(status).lower()}: {counted(epochs, 'epoch')} so far"
    else:
        text = f"{status} / {outcome} after {counted(epochs, 'epoch')}"
    return f"{text}: {error}" if isinstance(error, str) and error else text


def problems(results: pd.DataFrame) -> pd.DataFrame:
    """Trials whose numbers do not count (failed, diverged, still running, never started), with their error."""
    bad = results[~results["finished"]].copy()
    bad["problem"] = [problem_text(r) for _, r in bad.iterrows()]
    return bad


def once_per_pack(results: pd.DataFrame) -> pd.Series:
    """wall_s for sums: the members of a pack share one Ray trial and its time, which counts once (first member)."""
    wall = results["wall_s"] if "wall_s" in results else pd.Series(np.nan, results.index)
    if "pack_id" not in results:
        return wall
    return wall.where(~results["pack_id"].fillna(results["trial_id"]).duplicated(), 0.0)


def trials_per_node(results: pd.DataFrame) -> pd.DataFrame:
    """How many trials (and epochs, and which of them finished) ran on each node, and for how long."""
    placed = results.copy()
    for col in PLACEMENT:
        if col not in placed:
            placed[col] = None
        placed[col] = placed[col].fillna("-")
    table = (
        placed.assign(wall_s=once_per_pack(results), finished=placed["finished"].astype(int))
        .groupby(PLACEMENT, sort=True)
        .agg(
            trials=("trial_id", "size"),
            finished=("finished", "sum"),
            epochs=("epochs_completed", "sum"),
            wall_s=("wall_s", "sum"),
        )
        .reset_index()
    )
    return table


def epoch_curves(epochs: pd.DataFrame, results: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per experiment and epoch: mean, std and count over its trials of each column (e.g. test_acc), and the phase.

    Every trial with rows takes part (a run in progress shows its progress), except diverged and failed trials
    when the experiment has others; an experiment with only such trials shows them.
    """
    ids = results[[*TRIAL_KEY, "experiment_id"]].assign(
        _bad=(results["outcome"] == "diverged") | (results["status"] == "ERROR")
    )
    rows = epochs.drop(columns=["experiment_id"], errors="ignore").merge(ids, on=TRIAL_KEY, how="inner")
    bad = rows["_bad"]
    has_good = (~bad).groupby(rows["experiment_id"]).transform("any")
    rows = rows[~bad | ~has_good]
    rows = rows.assign(**{c: rows[c].replace([np.inf, -np.inf], np.nan) for c in columns})  # a diverged loss
    grouped = rows.groupby(["experiment_id", "epoch"], sort=True)
    stats = grouped[columns].agg(["mean", "std", "count"])
    stats.columns = [f"{c}_{s}" for c, s in stats.columns]
    phases = grouped["phase"].agg(lambda p: p.mode().iloc[0] if p.notna().any() else None)
    return stats.join(phases).reset_index()


def phase_spans(phases: pd.Series, epochs: pd.Series) -> list[tuple[str, float, float]]:
    """Runs of consecutive epochs in one phase as (phase, start, end), epoch e covering [e - 0.5, e + 0.5]."""
    spans: list[list] = []
    for epoch, phase in zip(epochs, phases):
        if spans and spans[-1][0] == phase and spans[-1][2] == epoch - 0.5:
            spans[-1][2] = epoch + 0.5
        else:
            spans.append([phase, epoch - 0.5, epoch + 0.5])
    return [tuple(s) for s in spans]


def best_trials(results: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Each experiment's finished trial with the highest test accuracy, in report order; with `limit`, only
    the `limit` experiments whose best trials score highest (a 32-sample search shows its best 16)."""
    done = results[results["finished"] & results["test_acc"].notna()]
    best = done.sort_values("test_acc", ascending=False, kind="stable").groupby("experiment_id", sort=False).head(1)
    if limit is not None:
        best = best.head(limit)
    return best.loc[sorted(best.index)]


def counted(n: int, noun: str) -> str:
    """'1 seed', '2 seeds', '0 trials': a count with its noun in the number the count needs."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def has(n: int) -> str:
    """The verb after `counted(n, ...)`: '1 trial has', '2 trials have'."""
    return "has" if n == 1 else "have"


def format_value(value, digits: int = 3) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def format_mean_std(mean, std, n: int, digits: int = 3, show_n: bool = True) -> str:
    """'0.812' for one seed, '0.812 ± 0.010 (n=3)' for several, '-' for none."""
    if n == 0 or pd.isna(mean):
        return "-"
    if n == 1 or pd.isna(std):
        return format_value(mean, digits)
    return f"{mean:.{digits}f} ± {std:.{digits}f}" + (f" (n={n})" if show_n else "")


def format_diff(value, digits: int = 3) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:+.{digits}f}"
