"""`mosaic-sweep report RUN [RUN ...]`: tables, figures and attention pictures of runs, from their Parquet files.

Reads only what a run folder holds (Parquet, run.json, checkpoints for the attention pictures), never Ray, so it
works on runs made elsewhere and on runs still going or interrupted. Writes into <first run>/report/ (or --out):
report.md, summary.csv, trials.csv, index.html, plots/*.png, attention/*.png.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.fs as pafs

from . import aggregate, report_text
from .cli_args import add_data_flags, non_negative_int, positive_int
from .results import REPORT_DIR, RunData, read_runs

PLOTS_DIR = "plots"
DEFAULT_ATTENTION = 16
DEFAULT_MOSAICS = 4


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="tables, figures and attention pictures of one or more runs",
        description="Write the paper's tables next to ours, the write-up's plots per experiment, a comparison "
        "figure and attention pictures into RUN/report/ (report.md, index.html, summary.csv, "
        "trials.csv, plots/, attention/). Reads only the run's files; never starts Ray. Attention "
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
        f"with the best test accuracy (0: none; default {DEFAULT_ATTENTION})",
    )
    p.add_argument(
        "--mosaics",
        type=positive_int,
        default=DEFAULT_MOSAICS,
        help=f"test mosaics per attention picture (default {DEFAULT_MOSAICS})",
    )
    p.set_defaults(func=run_report)


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
        content.comparison is not None
    )
    print(
        f"mosaic-sweep: report of {', '.join(r.name for r in runs)}: {len(content.results)} trials, "
        f"{len(content.summary)} experiments, {len(content.problems)} not finished, {figures} figures -> "
        f"{where}/index.html"
    )
    return 0


def write_report(runs: list[RunData], out: Path, args: argparse.Namespace) -> report_text.ReportContent:
    from . import attention, plots  # matplotlib only once there is something to draw

    trials = pd.concat([r.trials for r in runs], ignore_index=True)
    epochs = pd.concat([r.epochs for r in runs], ignore_index=True)
    results = aggregate.trial_results(trials, epochs)
    summary = aggregate.experiment_summary(results, aggregate.references(results))
    curves = aggregate.epoch_curves(epochs, results, plots.CURVE_COLUMNS)

    for folder in (PLOTS_DIR, attention.ATTENTION_DIR):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob("*.png"):  # figures of an earlier report (experiments may have changed)
            old.unlink()
    stems = report_text.file_stems(summary["experiment_id"])
    sections = []
    with plots.Drawer() as drawer:
        for _, row in summary.iterrows():
            exp_curves = curves[curves["experiment_id"] == row["experiment_id"]]
            title = report_text.experiment_title(row)
            figures = (
                plots.experiment_figures(exp_curves, title, out, PLOTS_DIR, stems[row["experiment_id"]])
                if not exp_curves.empty
                else []
            )
            sections.append(report_text.ExperimentSection(row["experiment_id"], title, [f for f, _ in figures]))
            drawer.submit([job for _, job in figures])
        comparison = None
        if not summary.empty:
            comparison = plots.WrittenFigure(
                f"{PLOTS_DIR}/comparison_test_acc.png", "final test accuracy per experiment, ours vs published"
            )
            names = ", ".join(r.name for r in runs)
            drawer.submit(
                [
                    plots.Job(
                        plots.comparison_plot,
                        {
                            "summary": summary,
                            "path": out / comparison.path,
                            "title": f"Final test accuracy per experiment ({names})",
                        },
                    )
                ]
            )
        # while the workers draw: load CIFAR-10 and the checkpoints, run the networks on a few mosaics
        source = attention.image_source(args.data_dir, args.no_verify, runs[0].info)
        notes, attention_jobs = attention.plan_pictures(
            runs, results, sections, stems, out, source, limit=args.attention, mosaics=args.mosaics
        )
        drawer.submit(attention_jobs)

    files = ["report.md", "summary.csv", "trials.csv"]
    content = report_text.ReportContent(
        runs=[
            {**r.info, "name": r.name, "uri": r.storage.display, "trials": int((results["run"] == r.name).sum())}
            for r in runs
        ],
        results=results,
        summary=summary,
        problems=aggregate.problems(results),
        nodes=aggregate.trials_per_node(results),
        sections=sections,
        comparison=comparison,
        attention_notes=notes,
        files=files,
    )
    report_text.summary_csv(summary).to_csv(out / "summary.csv", index=False)
    report_text.trials_csv(results).to_csv(out / "trials.csv", index=False)
    (out / "report.md").write_text(report_text.render_markdown(content))
    (out / "index.html").write_text(report_text.render_html(content))
    return content
