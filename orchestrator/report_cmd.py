"""`mosaic-sweep report RUN [RUN ...]`: tables, figures and attention pictures of runs, from their Parquet files.

Reads only what a run folder holds (Parquet, run.json, checkpoints for the attention pictures), never Ray, so it
works on runs made elsewhere and on runs still going or interrupted. Writes into <first run>/report/ (or --out):
report.md, summary.csv, trials.csv, index.html, plots/*.png, attention/*.png.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from search_spaces import get_space
from trainables import DataError

from . import aggregate, report_text
from .errors import UsageError
from .results import EPOCH_SCHEMA, RUN_FILE, TRIAL_SCHEMA, TRIALS_FILE, RunStorage
from .run_cmd import non_negative_int, positive_int
from .train_cmd import add_data_flags, load_images

REPORT_DIR = "report"
PLOTS_DIR = "plots"
ATTENTION_DIR = "attention"
DEFAULT_ATTENTION = 16
DEFAULT_MOSAICS = 4


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="tables, figures and attention pictures of one or more runs",
        description="Write the paper's tables next to ours, the write-up's plots per experiment, a comparison "
                    "figure and attention pictures into RUN/report/ (report.md, index.html, summary.csv, "
                    "trials.csv, plots/, attention/). Reads only the run's files; never starts Ray. Attention "
                    "pictures need the trials' checkpoints and CIFAR-10: --data-dir, else the folder the run used "
                    "(run.json) when this machine has it, else $MOSAIC_SWEEP_DATA or ./data; without the images "
                    "they are skipped with a note.")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="a run folder (path or URI), or a run name under --results-dir; several are combined")
    p.add_argument("--results-dir", "--storage", dest="results_dir", default="results",
                   help="where run names are looked up (default: results)")
    p.add_argument("--out", default=None, help="report folder (default: the first run's report/)")
    add_data_flags(p)
    p.add_argument("--attention", type=non_negative_int, default=DEFAULT_ATTENTION, metavar="N",
                   help="attention pictures for the best finished trial of each experiment, for the N experiments "
                        f"with the best test accuracy (0: none; default {DEFAULT_ATTENTION})")
    p.add_argument("--mosaics", type=positive_int, default=DEFAULT_MOSAICS,
                   help=f"test mosaics per attention picture (default {DEFAULT_MOSAICS})")
    p.set_defaults(func=run_report)


# -- reading runs -----------------------------------------------------------------------------------------------
@dataclass
class RunData:
    name: str
    storage: RunStorage
    info: dict  # run.json, or {} when it is missing
    trials: pd.DataFrame
    epochs: pd.DataFrame


def resolve_run(run: str, results_dir: str) -> RunStorage:
    """A run folder (path or URI), or a run name under results_dir."""
    if "://" in run or Path(run).is_dir() or "/" in run or run.startswith("."):
        return RunStorage(run)
    return RunStorage.child(results_dir, run)


def read_run(run: str, results_dir: str) -> RunData:
    storage = resolve_run(run, results_dir)
    if storage.fs.get_file_info(storage.root).type != pafs.FileType.Directory:
        raise UsageError(f"no run {run!r}: {storage.display} is not a folder (give a run folder, or the name of a run "
                         f"in --results-dir, here {results_dir})")
    epoch_files = storage.list_epoch_files()
    epochs = (pads.dataset(epoch_files, schema=EPOCH_SCHEMA, filesystem=storage.fs, format="parquet")
              .to_table().to_pandas() if epoch_files else EPOCH_SCHEMA.empty_table().to_pandas())
    trials = (storage.read_table(TRIALS_FILE).cast(TRIAL_SCHEMA).to_pandas() if storage.exists(TRIALS_FILE)
              else TRIAL_SCHEMA.empty_table().to_pandas())
    if epochs.empty and trials.empty:
        inside = sorted(i.base_name for i in storage.fs.get_file_info(pafs.FileSelector(storage.root))
                        if storage.exists(i.base_name, RUN_FILE))
        hint = f"; it holds the runs {', '.join(inside)}" if inside else ""
        raise UsageError(f"no results in {storage.display}: no trial in trials.parquet or epochs/*.parquet yet{hint}")
    info = storage.read_json(RUN_FILE) if storage.exists(RUN_FILE) else {}
    name = info.get("name") or storage.root.rstrip("/").rsplit("/", 1)[-1]
    return RunData(name, storage, info, trials, epochs)


def read_runs(runs: list[str], results_dir: str) -> list[RunData]:
    data = []
    for run in runs:
        d = read_run(run, results_dir)
        if any(o.storage.uri == d.storage.uri for o in data):
            raise UsageError(f"run {run!r} is given twice")
        if any(o.name == d.name for o in data):  # copies of a run keep apart: trials are keyed by (run, trial)
            d.name = f"{d.name} ({d.storage.display})"
        d.trials["run"], d.epochs["run"] = d.name, d.name
        data.append(d)
    return data


def references(results: pd.DataFrame) -> pd.DataFrame:
    """Published numbers from the search spaces (focus outcomes too), one row per experiment label."""
    rows = []
    for (space, label) in results[["space", "experiment"]].drop_duplicates().itertuples(index=False):
        try:
            ref = get_space(str(space)).reference(str(label))
        except KeyError:  # a space this version does not know: the run's own ref_* columns still count
            continue
        row = {"experiment": label, "ref_train_acc": ref.train_acc, "ref_test_acc": ref.test_acc,
               "ref_source": ref.source if ref.published else None}
        for split, focus in (("train", ref.train_focus), ("test", ref.test_focus)):
            for name, value in zip(aggregate.FOCUS, focus or ()):
                row[f"ref_{split}_{name}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


# -- the command ------------------------------------------------------------------------------------------------
def run_report(args: argparse.Namespace) -> int:
    runs = read_runs(args.runs, args.results_dir)
    first = runs[0].storage
    remote = args.out is None and first.remote
    if args.out is not None:
        out = Path(args.out)
    elif remote:
        out = Path(tempfile.mkdtemp(prefix="mosaic-sweep-report-"))
    else:
        out = Path(first.path(REPORT_DIR))
    content = write_report(runs, out, args)
    if remote:  # build locally, then put the folder next to the run's results
        target = first.path(REPORT_DIR)
        first.fs.create_dir(target, recursive=True)
        pafs.copy_files(str(out), target, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=first.fs)
        shutil.rmtree(out, ignore_errors=True)
        where = f"{first.display}/{REPORT_DIR}"
    else:
        where = str(out)
    figures = sum(len(s.figures) + (s.attention is not None) for s in content.sections) + (
        content.comparison is not None)
    print(f"mosaic-sweep: report of {', '.join(r.name for r in runs)}: {len(content.results)} trials, "
          f"{len(content.summary)} experiments, {len(content.problems)} not finished, {figures} figures -> "
          f"{where}/index.html")
    return 0


def write_report(runs: list[RunData], out: Path, args: argparse.Namespace) -> report_text.ReportContent:
    from . import plots  # matplotlib only once there is something to draw

    trials = pd.concat([r.trials for r in runs], ignore_index=True)
    epochs = pd.concat([r.epochs for r in runs], ignore_index=True)
    results = aggregate.trial_results(trials, epochs)
    summary = aggregate.experiment_summary(results, references(results))
    curves = aggregate.epoch_curves(epochs, results, plots.CURVE_COLUMNS)

    for folder in (PLOTS_DIR, ATTENTION_DIR):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob("*.png"):  # figures of an earlier report (experiments may have changed)
            old.unlink()
    stems = file_stems(summary["experiment_id"])
    sections = []
    with plots.Drawer() as drawer:
        for _, row in summary.iterrows():
            exp_curves = curves[curves["experiment_id"] == row["experiment_id"]]
            title = report_text.experiment_title(row)
            figures = (plots.experiment_figures(exp_curves, title, out, PLOTS_DIR, stems[row["experiment_id"]])
                       if not exp_curves.empty else [])
            sections.append(report_text.ExperimentSection(row["experiment_id"], title, [f for f, _ in figures]))
            drawer.submit([job for _, job in figures])
        comparison = None
        if not summary.empty:
            comparison = plots.WrittenFigure(f"{PLOTS_DIR}/comparison_test_acc.png",
                                             "final test accuracy per experiment, ours vs published")
            names = ", ".join(r.name for r in runs)
            drawer.submit([plots.Job(plots.comparison_plot, {
                "summary": summary, "path": out / comparison.path,
                "title": f"Final test accuracy per experiment ({names})"})])
        # while the workers draw: load CIFAR-10 and the checkpoints, run the networks on a few mosaics
        notes, attention_jobs = attention_pictures(runs, results, sections, stems, out, args)
        drawer.submit(attention_jobs)

    files = ["report.md", "summary.csv", "trials.csv"]
    content = report_text.ReportContent(
        runs=[{**r.info, "name": r.name, "uri": r.storage.display, "trials": int((results["run"] == r.name).sum())}
              for r in runs],
        results=results, summary=summary, problems=aggregate.problems(results),
        nodes=aggregate.trials_per_node(results), sections=sections, comparison=comparison,
        attention_notes=notes, files=files)
    summary_csv(summary).to_csv(out / "summary.csv", index=False)
    trials_csv(results).to_csv(out / "trials.csv", index=False)
    (out / "report.md").write_text(report_text.render_markdown(content))
    (out / "index.html").write_text(report_text.render_html(content))
    return content


def file_stems(experiment_ids: pd.Series) -> dict[str, str]:
    """A distinct, file-name-safe stem per experiment ('table1/3' -> 'table1-3')."""
    stems: dict[str, str] = {}
    for exp_id in experiment_ids:
        stem = re.sub(r"[^A-Za-z0-9.=_-]+", "-", str(exp_id)).strip("-") or "experiment"
        base, n = stem, 2
        while stem in stems.values():
            stem, n = f"{base}-{n}", n + 1
        stems[exp_id] = stem
    return stems


SUMMARY_COLUMNS = (
    ["space", "scale", "experiment_id", "experiment", "order", "epochs", "k", "what_lr", "where_lr", "optimizer",
     "n_train", "n_test", "protocol", "trials", "seeds", "seed_list", "not_finished",
     "train_acc_mean", "train_acc_std", "train_acc_source", "ref_train_acc", "train_acc_diff",
     "test_acc_mean", "test_acc_std", "ref_test_acc", "test_acc_diff", "ref_source"]
    + [f"{split}_{f}_{stat}" for split in ("train", "test") for f in aggregate.FOCUS for stat in ("mean", "std")]
    + [f"ref_{split}_{f}" for split in ("train", "test") for f in aggregate.FOCUS]
    + ["failures"]
)


def summary_csv(summary: pd.DataFrame) -> pd.DataFrame:
    table = summary.reindex(columns=SUMMARY_COLUMNS).copy()
    table["ref_source"] = table["ref_source"].fillna(report_text.NOT_PUBLISHED)
    return table


TRIAL_COLUMNS = (["run", "space", "scale", "experiment_id", "experiment", "trial_id", "seed", "order", "epochs", "k",
                  "what_lr", "where_lr", "status", "outcome", "finished", "error", "epochs_completed",
                  "train_acc_final", "train_acc_source", "test_acc", "train_loss", "test_loss"]
                 + [f"test_{f}" for f in aggregate.FOCUS] + ["test_alpha_ge_half", "ref_train_acc", "ref_test_acc",
                                                             "wall_s", "device", "node_id", "node_ip", "hostname"])


def trials_csv(results: pd.DataFrame) -> pd.DataFrame:
    return results.reindex(columns=TRIAL_COLUMNS)


# -- attention pictures ---------------------------------------------------------------------------------------------
def attention_pictures(runs: list[RunData], results: pd.DataFrame, sections: list, stems: dict[str, str],
                       out: Path, args: argparse.Namespace) -> tuple[list[str], list]:
    """Attention pictures of the best finished trial of each experiment (of the best --attention experiments).

    Returns notes for the report and the jobs that draw the pictures; sections get their picture."""
    if args.attention == 0:
        return ["not drawn (--attention 0)."], []
    chosen = aggregate.best_trials(results, limit=args.attention)
    if chosen.empty:
        return ["none: no trial has finished yet."], []
    skipped = len(aggregate.best_trials(results)) - len(chosen)
    unfinished = sorted(set(results["experiment_id"]) - set(results.loc[results["finished"], "experiment_id"]),
                        key=aggregate.natural_key)
    data_args = data_flags(args, runs[0].info)
    try:
        images = load_images(data_args)
    except DataError as exc:
        return [f"skipped: the CIFAR-10 images are needed to rebuild the test mosaics, and {exc}"], []

    from . import attention, plots  # torch networks only when pictures are drawn

    storage = {r.name: r.storage for r in runs}
    by_id = {s.experiment_id: s for s in sections}
    notes, jobs = [], []
    for _, trial in chosen.iterrows():
        what = f"{trial['experiment_id']} seed {int(trial['seed'])} (trial {trial['trial_id']})"
        checkpoint = attention.find_checkpoint(storage[trial["run"]], trial["trial_id"])
        if checkpoint is None:
            notes.append(f"{what}: no checkpoint found under tune/; no picture.")
            continue
        try:
            weights = attention.load_weights(storage[trial["run"]], checkpoint)
            examples = attention.attention_examples(weights, images, args.mosaics)
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            notes.append(f"{what}: checkpoint {checkpoint} unreadable ({type(exc).__name__}: {exc}); no picture.")
            continue
        fig = plots.WrittenFigure(f"{ATTENTION_DIR}/{stems[trial['experiment_id']]}.png",
                                  f"first {len(examples)} test mosaics, weights after epoch {weights.epoch}")
        title = (f"{by_id[trial['experiment_id']].title}\nseed {int(trial['seed'])}, weights after epoch "
                 f"{weights.epoch} ({weights.outcome}), test acc {trial['test_acc']:.3f}")
        jobs.append(plots.Job(plots.attention_plot, {"examples": examples, "title": title, "path": out / fig.path}))
        by_id[trial["experiment_id"]].attention = fig
    drawn = len(jobs)
    notes.insert(0, f"{drawn} pictures (in index.html and {ATTENTION_DIR}/), one per experiment: its best finished "
                    f"seed, the first {args.mosaics} test mosaics, the weights of the trial's last checkpoint.")
    if skipped > 0:
        notes.append(f"{skipped} more experiments have no picture: --attention {args.attention} draws the "
                     f"{args.attention} experiments with the best test accuracy.")
    if unfinished:
        notes.append(f"No finished trial to draw in {', '.join(unfinished)}.")
    data = data_args.data_dir or "the default data folder ($MOSAIC_SWEEP_DATA or ./data)"
    notes.append(f"Test mosaics were rebuilt from each trial's saved config with the CIFAR-10 images in {data}; "
                 f"they are the trial's own when these are the images it trained on.")
    return notes, jobs


def data_flags(args: argparse.Namespace, run_info: dict) -> argparse.Namespace:
    """--data-dir as given; else the run's own data folder (run.json) when this machine has it, with the run's
    --no-verify; else the default ($MOSAIC_SWEEP_DATA or ./data)."""
    if args.data_dir is not None:
        return args
    options = run_info.get("options") or {}
    used = options.get("data_dir")
    if used and Path(used).is_dir():
        return argparse.Namespace(data_dir=used, download=False,
                                  no_verify=args.no_verify or bool(options.get("no_verify")))
    return args
