"""`mosaic-sweep report RUN [RUN ...]`: tables, figures and attention pictures of runs, from their Parquet files.

Reads only what a run folder holds (Parquet, run.json, checkpoints for the attention pictures), never Ray, so it
works on runs made elsewhere and on runs still going or interrupted. Writes into <first run>/report/ (or --out):
report.md, summary.csv, trials.csv, index.html, plots/*.png, attention/*.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pandas as pd
import pyarrow.fs as pafs

from . import aggregate, report_checks, report_html, report_text
from .cli_args import add_data_flags, data_source, non_negative_int, positive_int
from .results import REPORT_DIR, RunData, read_runs

PLOTS_DIR = "plots"
DEFAULT_ATTENTION = 16
DEFAULT_MOSAICS = 4


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="tables, figures and attention pictures of one or more runs",
        description="Write the paper's tables next to ours (with a banner below paper scale or off the paper "
        "settings, and flags for trials that never left chance, whose attention collapsed, and for identical results), "
        "a figure per experiment, "
        "figures comparing "
        "experiments (a search: accuracy against the sampled settings) and attention pictures into RUN/report/ "
        "(index.html, report.md, summary.csv, trials.csv, plots/, attention/). Reads only the run's files; never "
        "starts Ray. Attention "
        "pictures need the trials' checkpoints and CIFAR-10: --data-dir, else the folder the run used "
        "(run.json) when this machine has it, else $MOSAIC_SWEEP_DATA or ./data; without the images "
        "they are skipped with a note.",
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="a run folder (path or URI), or a run name under --results-dir; several are combined",
    )
    p.add_argument(
        "--results-dir",
        "--storage",
        dest="results_dir",
        default="results",
        help="where run names are looked up (default: results)",
    )
    p.add_argument("--out", default=None, help="report folder (default: the first run's report/)")
    add_data_flags(p)
    p.add_argument(
        "--attention",
        type=non_negative_int,
        default=DEFAULT_ATTENTION,
        metavar="N",
        help="attention pictures for the best finished trial of each experiment, for the N experiments "
        "with the best test accuracy whose best trial left its final state (0: none; default "
        f"{DEFAULT_ATTENTION})",
    )
    p.add_argument(
        "--per-sample-figures",
        action="store_true",
        help="also draw the curves and attention picture of every sample of a random search (default: the "
        "search's scatter and parallel-coordinates plots, and the best sample's attention picture)",
    )
    p.add_argument(
        "--mosaics",
        type=positive_int,
        default=DEFAULT_MOSAICS,
        help=f"test mosaics per attention picture (default {DEFAULT_MOSAICS})",
    )
    p.set_defaults(func=run_report)


# -- the command ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportOptions:
    """What `mosaic-sweep report` is asked for (and the Python API's `report()`)."""

    runs: tuple[str, ...]  # run folders, URIs or names under results_dir
    results_dir: str = "results"
    out: str | None = None  # default: the first run's report/
    data_dir: str | None = None
    download: bool = False
    no_verify: bool = False
    attention: int = DEFAULT_ATTENTION
    mosaics: int = DEFAULT_MOSAICS
    per_sample_figures: bool = False


def run_report(args: argparse.Namespace) -> int:
    options = ReportOptions(**{f.name: getattr(args, f.name) for f in fields(ReportOptions) if hasattr(args, f.name)})
    make_report(replace(options, runs=tuple(args.runs)))
    return 0


def make_report(options: ReportOptions) -> str:
    """Write the report of `options.runs`; returns where it is (a local folder, or the run's URI for remote runs)."""
    runs = read_runs(list(options.runs), options.results_dir)
    first = runs[0].storage
    remote = options.out is None and first.remote
    if options.out is not None:
        out = Path(options.out)
    elif remote:
        out = Path(tempfile.mkdtemp(prefix="mosaic-sweep-report-"))
    else:
        out = Path(first.path(REPORT_DIR))
    content = write_report(runs, out, options)
    if remote:  # build locally, then put the folder next to the run's results
        target = first.path(REPORT_DIR)
        first.fs.create_dir(target, recursive=True)
        pafs.copy_files(str(out), target, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=first.fs)
        shutil.rmtree(out, ignore_errors=True)
        where = f"{first.display}/{REPORT_DIR}"
    else:
        where = str(out)
    found = content.findings
    flagged = "".join(f"{len(found.dated[flag.prefix])} {flag.words}, " for flag in report_checks.DATED_FLAGS)
    counted = aggregate.counted
    print(
        f"mosaic-sweep: report of {', '.join(r.name for r in runs)}: {counted(len(content.results), 'trial')}, "
        f"{counted(len(content.summary), 'experiment')}, {len(content.problems)} not finished, "
        f"{len(found.chance_trials)} never left chance, {flagged}{counted(count_figures(out), 'figure')} -> "
        f"{where}/index.html"
    )
    return where


@dataclass
class Analysis:
    """The runs' rows aggregated and checked: what the figures and the text are made from."""

    results: pd.DataFrame  # one row per trial, annotated by report_checks
    summary: pd.DataFrame  # one row per experiment, with report_checks' columns
    findings: report_checks.Findings
    curves: pd.DataFrame  # per experiment and epoch: mean, sd, count over seeds
    run_info: list[dict]


def analyse(runs: list[RunData], curve_columns: list[str]) -> Analysis:
    trials = pd.concat([r.trials for r in runs], ignore_index=True)
    epochs = pd.concat([r.epochs for r in runs], ignore_index=True)
    results = report_checks.annotate(aggregate.trial_results(trials, epochs), epochs)
    summary = aggregate.experiment_summary(results, aggregate.references(results))
    run_info = [{**r.info, "name": r.name, "uri": shown_location(r.storage)} for r in runs]
    findings = report_checks.findings(results, epochs, summary, run_info)
    return Analysis(results, summary, findings, aggregate.epoch_curves(epochs, results, curve_columns), run_info)


def write_report(runs: list[RunData], out: Path, args: ReportOptions) -> report_text.ReportContent:
    from . import attention, plots, report_figures  # matplotlib only once there is something to draw

    data = analyse(runs, plots.CURVE_COLUMNS)
    per_sample = args.per_sample_figures
    clear_figures(out, (PLOTS_DIR, attention.ATTENTION_DIR))
    stems = report_text.file_stems(data.summary["experiment_id"])
    with plots.Drawer() as drawer:
        sections, jobs = report_figures.experiment_figures(
            data.summary, data.curves, data.findings, out, stems, per_sample
        )
        drawer.submit(jobs)
        comparisons, jobs = report_figures.comparison_figures(
            data.summary, data.results, data.curves, data.findings, out
        )
        drawer.submit(jobs)
        searches = []
        for group in data.findings.sampled:
            figures, jobs = report_figures.search_figures(data.summary, group, out)
            drawer.submit(jobs)
            searches.append(report_text.SearchBlock(group, figures))
        # while the workers draw: load CIFAR-10 and the checkpoints, run the networks on a few mosaics
        source = data_source(args.data_dir, args.no_verify, args.download, runs[0].info)
        skip = attention_skips(data.summary, data.findings, per_sample)
        notes, jobs = attention.plan_pictures(
            runs, data.results, sections, stems, out, source, args.attention, args.mosaics, skip
        )
        drawer.submit(jobs)
    share_attention(sections, data.findings.same_results_as)

    content = report_text.ReportContent(
        runs=[{**info, "trials": int((data.results["run"] == info["name"]).sum())} for info in data.run_info],
        results=data.results,
        summary=data.summary,
        problems=aggregate.problems(data.results),
        nodes=aggregate.trials_per_node(data.results),
        sections=sections,
        findings=data.findings,
        comparisons=comparisons,
        searches=searches,
        attention_notes=notes,
        files=["report.md", "summary.csv", "trials.csv"],
    )
    write_files(content, out)
    return content


def write_files(content: report_text.ReportContent, out: Path) -> None:
    report_text.summary_csv(content.summary).to_csv(out / "summary.csv", index=False)
    report_text.trials_csv(content.results).to_csv(out / "trials.csv", index=False)
    (out / "report.md").write_text(report_text.render_markdown(content))
    (out / "index.html").write_text(report_html.render_html(content))


def clear_figures(out: Path, folders: tuple[str, ...]) -> None:
    """Empty figure folders: figures of an earlier report would be stale (its experiments may have changed)."""
    for folder in folders:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob("*.png"):
            old.unlink()


def count_figures(out: Path) -> int:
    return sum(1 for folder in (PLOTS_DIR, "attention") for _ in (out / folder).glob("*.png"))


def attention_skips(summary: pd.DataFrame, findings: report_checks.Findings, per_sample: bool) -> dict[str, str]:
    """Experiments that get no attention picture of their own: those with the same results as an earlier one
    (they share its picture), all but the best of those that never left chance (uniform attention looks the same
    everywhere) and, unless `per_sample`, every sample of a search but its best."""
    skip = {e: f"same results as {first} (its picture, where drawn)" for e, first in findings.same_results_as.items()}
    at_chance = summary[summary["at_chance"] & ~summary["experiment_id"].isin(skip)]
    if len(at_chance) > 1:
        shown = _best(at_chance)
        reason = f"never left chance: its attention is uniform, as in the picture of {shown}"
        skip.update({e: reason for e in at_chance["experiment_id"] if e != shown})
    if per_sample:
        return skip
    for group in findings.sampled:
        samples = summary[summary["experiment_id"].isin(group.experiments) & ~summary["experiment_id"].isin(skip)]
        if samples.empty:
            continue
        best = _best(samples)
        reason = f"a sample of {group.name}; only its best sample is drawn (--per-sample-figures draws every one)"
        skip.update({e: reason for e in group.experiments if e != best and e not in skip})
    return skip


def _best(rows: pd.DataFrame) -> str:
    """The experiment with the best final test accuracy (the first in report order among equals)."""
    return rows.sort_values("test_acc_mean", ascending=False, na_position="last", kind="stable").iloc[0][
        "experiment_id"
    ]


def share_attention(sections: list[report_text.ExperimentSection], same_results_as: dict[str, str]) -> None:
    """An experiment with the same results as an earlier one shows that one's attention picture."""
    by_id = {s.experiment_id: s for s in sections}
    for exp_id, first in same_results_as.items():
        if by_id[exp_id].attention is None and by_id[first].attention is not None:
            by_id[exp_id].attention = by_id[first].attention


def shown_location(storage) -> str:
    """A run's location as the report shows it: relative to the working folder when inside it (a report committed
    with its runs names no machine's paths), else as it is."""
    if storage.remote:
        return storage.display
    relative = os.path.relpath(storage.root)
    return storage.display if relative.startswith("..") else relative
