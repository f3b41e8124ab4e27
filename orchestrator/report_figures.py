"""Which figures a report draws, as (WrittenFigure, Job) pairs for `plots.Drawer`.

As many figures as there is something to show: one per experiment (experiments with identical results share
it), per table its rows overlaid over epochs, ours against the published numbers, Table 1 against Table 2, and
for a random search accuracy against the sampled settings instead of a figure per sample (those only on request).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from . import compare_plots, plots, report_text
from .plots import Job, WrittenFigure
from .report_checks import Findings, SampledGroup, classes, off_paper, sampled_ids

PLOTS_DIR = "plots"
PUBLISHED_FIGURE = f"{PLOTS_DIR}/comparison_test_acc.png"  # the README's Results section shows it
ORDERS_FIGURE = f"{PLOTS_DIR}/orders_{{family}}.png"  # Table 1 vs Table 2; the README shows the paper tables' one


def chance_of(rows: pd.DataFrame) -> list[float]:
    """The chance accuracies (1 / classes) of some summary rows."""
    return sorted({1.0 / classes(f) for f in rows["foreground"]}) if "foreground" in rows else [1 / 3]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=_-]+", "-", text).strip("-") or "figure"


# -- one figure per experiment --------------------------------------------------------------------------------------
def experiment_figures(
    summary: pd.DataFrame,
    curves: pd.DataFrame,
    findings: Findings,
    out: Path,
    stems: dict[str, str],
    per_sample: bool,
) -> tuple[list[report_text.ExperimentSection], list[Job]]:
    """A section per experiment with its figure, and the jobs that draw them. An experiment whose results equal an
    earlier one's (with the same phases) shows that one's figure; a search's samples get none unless `per_sample`."""
    sampled = sampled_ids(findings.sampled)
    same = findings.same_results_as
    sections: dict[str, report_text.ExperimentSection] = {}
    jobs = []
    for _, row in summary.iterrows():
        exp_id = row["experiment_id"]
        section = report_text.ExperimentSection(exp_id, report_text.experiment_title(row), [])
        mine = curves[curves["experiment_id"] == exp_id]
        first = sections.get(same.get(exp_id))
        if mine.empty:
            section.note = "no epoch rows yet"
        elif exp_id in sampled and not per_sample:
            section.note = "a search sample: see the search's figures (--per-sample-figures draws one each)"
        elif first is not None and first.figures and _same_phases(curves, exp_id, first.experiment_id):
            section.figures, section.note = first.figures, f"same results as {first.experiment_id}, so its figure"
        else:
            figure = WrittenFigure(
                f"{PLOTS_DIR}/{stems[exp_id]}.png", "accuracy, loss, focus outcomes and alpha >= 0.5 over epochs"
            )
            kwargs = {
                "curves": mine,
                "title": section.title,
                "path": out / figure.path,
                "chance": chance_of(row.to_frame().T),
            }
            jobs.append(Job(plots.experiment_plot, kwargs))
            section.figures = [figure]
        sections[exp_id] = section
    return list(sections.values()), jobs


def _same_phases(curves: pd.DataFrame, a: str, b: str) -> bool:
    phases = lambda e: tuple(curves.loc[curves["experiment_id"] == e, "phase"])
    return phases(a) == phases(b)


# -- figures comparing experiments ----------------------------------------------------------------------------------
def comparison_figures(
    summary: pd.DataFrame, results: pd.DataFrame, curves: pd.DataFrame, findings: Findings, out: Path
) -> tuple[list[WrittenFigure], list[Job]]:
    """Per table: its rows' test accuracy and test FTPT over epochs; then final test accuracy against the
    published numbers; then Table 1 against Table 2."""
    plain = summary[~summary["experiment_id"].isin(sampled_ids(findings.sampled))]
    figures, jobs = [], []
    for space, parts in report_text.tables_by_space(plain):
        for name, part in parts:
            if len(part) > 1:
                _add(figures, jobs, *_overlays(space, name, part, curves, findings, out))
    published = plain[plain["ref_test_acc"].notna()]
    if not published.empty:
        figure = WrittenFigure(
            PUBLISHED_FIGURE, "final test accuracy, ours (mean ± 2 sd over seeds) against published, line y = x"
        )
        comparable = (published["scale"] == "paper").all() and off_paper(published).empty
        below = "" if comparable else " (not paper scale or settings: for orientation only)"
        # the runs with a point on it: a run of rows without a published value (Table 2) is not named
        names = ", ".join(dict.fromkeys(results.loc[results["experiment_id"].isin(published["experiment_id"]), "run"]))
        kwargs = {
            "summary": published,
            "path": out / figure.path,
            "title": f"Final test accuracy vs published ({names}){below}",
            "chance": chance_of(published),
        }
        _add(figures, jobs, [figure], [Job(compare_plots.published_plot, kwargs)])
    for family, pairs in findings.pairs.items():
        _add(figures, jobs, *_orders(family, pairs, summary, out))
    return figures, jobs


def _add(figures: list, jobs: list, more_figures: list, more_jobs: list) -> None:
    figures.extend(more_figures)
    jobs.extend(more_jobs)


def _overlays(space, name, part, curves, findings, out) -> tuple[list[WrittenFigure], list[Job]]:
    same = findings.same_results_as
    lines = []
    for exp_id in part["experiment_id"]:
        if exp_id in same:
            continue
        twins = [e for e, first in same.items() if first == exp_id]
        lines.append((exp_id, f"{exp_id} (same: {', '.join(twins)})" if twins else exp_id))
    mine = curves[curves["experiment_id"].isin(part["experiment_id"])]
    stem = _safe(f"{space}-{name.split(' ')[0]}")
    figures, jobs = [], []
    for column, what, chance in (
        ("test_acc", "test accuracy", chance_of(part)),
        ("test_ftpt", "test FTPT (focus true, prediction true)", []),
    ):
        figure = WrittenFigure(f"{PLOTS_DIR}/overlay_{stem}_{column}.png", f"{name}: {what} over epochs, every row")
        kwargs = {
            "curves": mine,
            "lines": lines,
            "column": column,
            "ylabel": what.split(" (")[0],
            "title": f"{name} ({space}): {what} over epochs",
            "path": out / figure.path,
            "chance": chance,
        }
        figures.append(figure)
        jobs.append(Job(compare_plots.overlay_plot, kwargs))
    return figures, jobs


def _orders(family: str, pairs: list, summary: pd.DataFrame, out: Path) -> tuple[list[WrittenFigure], list[Job]]:
    rows = summary.set_index("experiment_id")
    frame = []
    for pair in pairs:
        entry = {"row": pair.row, "ref_test_acc": rows.loc[pair.what_first, "ref_test_acc"]}
        for order, exp_id in (("what", pair.what_first), ("where", pair.where_first)):
            for metric in ("test_acc", "test_ftpt"):
                for stat in ("mean", "std"):
                    entry[f"{order}_{metric}_{stat}"] = rows.loc[exp_id, f"{metric}_{stat}"]
        frame.append(entry)
    both = summary[summary["experiment_id"].isin([e for p in pairs for e in (p.what_first, p.where_first)])]
    figure = WrittenFigure(
        ORDERS_FIGURE.format(family=_safe(family)),
        f"{family}1 (what first) vs {family}2 (where first), same settings side by side: final test accuracy and FTPT",
    )
    kwargs = {
        "pairs": pd.DataFrame(frame),
        "path": out / figure.path,
        "title": f"{family}1/i (what first) vs {family}2/i (where first)",
        "chance": chance_of(both),
    }
    return [figure], [Job(compare_plots.orders_plot, kwargs)]


# -- random search --------------------------------------------------------------------------------------------------
def search_figures(summary: pd.DataFrame, group: SampledGroup, out: Path) -> tuple[list[WrittenFigure], list[Job]]:
    """A search's accuracy against each sampled setting, and its parallel-coordinates plot."""
    samples = summary[summary["experiment_id"].isin(group.experiments)]
    stem = _safe(f"{group.label}-{group.scale}")
    scatter = WrittenFigure(
        f"{PLOTS_DIR}/{stem}_scatter.png", "final accuracy against each sampled setting (log axes for learning rates)"
    )
    parallel = WrittenFigure(
        f"{PLOTS_DIR}/{stem}_parallel.png", "parallel coordinates: sampled settings and accuracy, one line per sample"
    )
    common = {"samples": samples, "keys": group.keys, "log_keys": group.log_keys, "title": group.name}
    jobs = [
        Job(compare_plots.search_scatter, {**common, "path": out / scatter.path, "chance": chance_of(samples)}),
        Job(compare_plots.parallel_plot, {**common, "path": out / parallel.path}),
    ]
    return [scatter, parallel], jobs
