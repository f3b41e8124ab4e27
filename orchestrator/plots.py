"""The report's figures, one PNG each, drawn on matplotlib's Agg canvas (no display, no pyplot state, so no
backend to choose and nothing shared between figures).

Curves over epochs come from `aggregate.epoch_curves`: a mean per epoch over an experiment's seeds, with a band
of one standard deviation when there are several. Epochs are shaded by the network that trained in them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg  # every figure gets its own Agg canvas: no display
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from trainables.metrics import FOCUS

from .aggregate import phase_spans

DPI = 100
PHASE_COLOURS = {"what": "#d6e6f5", "where": "#fbe3c8", "both": "#e4f2e0"}
PHASE_LABELS = {"what": "what network trains", "where": "where network trains", "both": "both train"}
FOCUS_COLOURS = {"ftpt": "tab:green", "ffpt": "tab:orange", "ftpf": "tab:blue", "ffpf": "tab:red"}
SPLITS = {"train": "train mosaics (during training)", "test": "test mosaics"}
FOCUS_LABELS = {
    "ftpt": "FTPT: focus T, prediction T",
    "ffpt": "FFPT: focus F, prediction T",
    "ftpf": "FTPF: focus T, prediction F",
    "ffpf": "FFPF: focus F, prediction F",
}
TITLE_WIDTH = 100  # characters of a figure title line
MARGINS = {"left": 0.09, "right": 0.71, "top": 0.85, "bottom": 0.12}  # room for a two-line title and the legend


@dataclass(frozen=True)
class WrittenFigure:
    """A written figure: file name relative to the report folder, and what it shows."""

    path: str
    caption: str


def _new(width: float = 7.0, height: float = 4.2, ncols: int = 1):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _save(fig: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")


def _shade_phases(ax, curves: pd.DataFrame) -> list[Patch]:
    """Shade each run of epochs by the network that trained; legend handles for the phases present."""
    spans = phase_spans(curves["phase"], curves["epoch"])
    for phase, start, end in spans:
        ax.axvspan(start, end, color=PHASE_COLOURS.get(phase, "#eeeeee"), lw=0, zorder=0)
    present = list(dict.fromkeys(p for p, _, _ in spans))
    return [Patch(color=PHASE_COLOURS.get(p, "#eeeeee"), label=PHASE_LABELS.get(p, str(p))) for p in present]


def _line(ax, curves: pd.DataFrame, column: str, label: str, colour=None, transform=None, **style) -> bool:
    """Mean over seeds, with a +-1 sd band where several seeds ran; False when the column has no values."""
    mean = curves.get(f"{column}_mean")
    if mean is None or mean.isna().all():
        return False
    std = curves[f"{column}_std"].fillna(0.0)
    if transform is not None:
        mean = transform(mean)
    x = curves["epoch"].to_numpy()
    (line,) = ax.plot(
        x, mean.to_numpy(), label=label, color=colour, lw=1.8, marker="o" if len(x) <= 30 else None, ms=3, **style
    )
    if (curves[f"{column}_count"] > 1).any():
        ax.fill_between(x, (mean - std).to_numpy(), (mean + std).to_numpy(), color=line.get_color(), alpha=0.2, lw=0)
    return True


def _finish(
    fig, ax, title: str, subtitle: str, ylabel: str, phases: list[Patch], seeds: str, ylim=(-0.02, 1.02)
) -> None:
    title = textwrap.fill(title, TITLE_WIDTH)  # long settings (a search sample, RMSprop + plateau) wrap
    fig.suptitle(title, fontsize=10)
    ax.set_title(subtitle, fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + phases,
        fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
        title=seeds,
        title_fontsize=8,
        alignment="left",
    )
    # fixed, not tight_layout: the same layout for every figure, at a third of the cost
    fig.subplots_adjust(**{**MARGINS, "top": MARGINS["top"] - 0.045 * title.count("\n")})


def _seeds_note(curves: pd.DataFrame) -> str:
    counts = [c for c in curves.columns if c.endswith("_count")]
    n = int(curves[counts].max().max()) if counts and not curves.empty else 0
    return f"mean of {n} seeds\n(band: ±1 sd)" if n > 1 else "1 seed"


def alpha_plot(curves: pd.DataFrame, split: str, title: str, path: Path) -> None:
    """The write-up's 'argmax > 0.5' plot: share of mosaics whose largest alpha is >= 0.5, and < 0.5."""
    fig, (ax,) = _new()
    phases = _shade_phases(ax, curves)
    column = f"{split}_alpha_ge_half"
    _line(ax, curves, column, "largest alpha >= 0.5", "tab:purple")
    _line(ax, curves, column, "largest alpha < 0.5", "tab:gray", transform=lambda m: 1.0 - m, ls="--")
    _finish(
        fig,
        ax,
        title,
        f"{SPLITS[split]}: largest alpha >= 0.5 or < 0.5",
        "share of mosaics",
        phases,
        _seeds_note(curves),
    )
    _save(fig, path)


def focus_plot(curves: pd.DataFrame, split: str, title: str, path: Path) -> None:
    """The write-up's focus/prediction plot: FTPT, FFPT, FTPF, FFPF shares over epochs."""
    fig, (ax,) = _new()
    phases = _shade_phases(ax, curves)
    for f in FOCUS:
        _line(ax, curves, f"{split}_{f}", FOCUS_LABELS[f], FOCUS_COLOURS[f])
    _finish(
        fig,
        ax,
        title,
        f"{SPLITS[split]}: focus and prediction, true or false",
        "share of mosaics",
        phases,
        _seeds_note(curves),
    )
    _save(fig, path)


def _pass_lines(ax, curves: pd.DataFrame, metric: str) -> None:
    """One line per pass (train during training, test, validation) of `metric`."""
    _line(ax, curves, f"train_{metric}", "train (during training)", "tab:blue")
    _line(ax, curves, f"test_{metric}", "test", "tab:red")
    _line(ax, curves, f"val_{metric}", "validation", "tab:green")


def accuracy_plot(curves: pd.DataFrame, title: str, path: Path) -> None:
    fig, (ax,) = _new()
    phases = _shade_phases(ax, curves)
    _pass_lines(ax, curves, "acc")
    final = curves.get("final_train_acc_mean")
    if final is not None and final.notna().any():  # the clean pass after the last epoch: the paper's train acc
        ax.plot(
            curves["epoch"][final.notna()],
            final.dropna(),
            "*",
            ms=12,
            color="navy",
            label="train, clean pass at the end",
        )
    _finish(fig, ax, title, "accuracy", "accuracy", phases, _seeds_note(curves))
    _save(fig, path)


def loss_plot(curves: pd.DataFrame, title: str, path: Path) -> None:
    fig, (ax,) = _new()
    phases = _shade_phases(ax, curves)
    _pass_lines(ax, curves, "loss")
    _finish(fig, ax, title, "cross-entropy loss", "loss", phases, _seeds_note(curves), ylim=None)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    _save(fig, path)


# The per-experiment figures, in the write-up's order (its four plots), then accuracy and loss:
# (file suffix, caption, drawing function, its arguments besides curves, title and path).
EXPERIMENT_FIGURES = (
    ("train_alpha", "train: largest alpha >= 0.5 vs < 0.5", alpha_plot, {"split": "train"}),
    ("train_focus", "train: FTPT / FFPT / FTPF / FFPF", focus_plot, {"split": "train"}),
    ("test_alpha", "test: largest alpha >= 0.5 vs < 0.5", alpha_plot, {"split": "test"}),
    ("test_focus", "test: FTPT / FFPT / FTPF / FFPF", focus_plot, {"split": "test"}),
    ("accuracy", "accuracy over epochs", accuracy_plot, {}),
    ("loss", "loss over epochs", loss_plot, {}),
)
CURVE_COLUMNS = [
    f"{split}_{m}" for split in ("train", "test", "val") for m in ("loss", "acc", *FOCUS, "alpha_ge_half")
] + ["final_train_acc"]


@dataclass(frozen=True)
class Job:
    """A figure to draw: `function(**kwargs)` writes it. Plain data, so a worker process can draw it."""

    function: Callable
    kwargs: dict


def experiment_figures(
    curves: pd.DataFrame, title: str, report_dir: Path, folder: str, stem: str
) -> list[tuple[WrittenFigure, Job]]:
    """One experiment's figures, report_dir/folder/<stem>_<kind>.png, with the jobs that draw them."""
    out = []
    for kind, caption, function, extra in EXPERIMENT_FIGURES:
        figure = WrittenFigure(f"{folder}/{stem}_{kind}.png", caption)
        out.append(
            (figure, Job(function, {**extra, "curves": curves, "title": title, "path": report_dir / figure.path}))
        )
    return out


class Drawer:
    """Draws jobs as they are submitted, in worker processes where the platform forks cheaply (Linux).

    matplotlib draws on one core and a report has many small figures: two cores halve the time. Workers are
    forked, so they start at once with everything imported; they only run matplotlib. Leaving the `with`
    block waits for every figure and raises the first error."""

    MAX_WORKERS = 8  # a report has about a hundred figures; more processes only cost memory

    def __init__(self, workers: int | None = None):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.workers = workers or min(cores, self.MAX_WORKERS)
        self.pool = None
        self.pending = []

    def __enter__(self) -> Drawer:
        forks = "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
        if self.workers > 1 and forks:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        return self

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            if self.pool is None:
                _run(job)
            else:
                self.pending.append(self.pool.submit(_run, job))

    def __exit__(self, *exc) -> None:
        if self.pool is None:
            return
        try:
            for future in self.pending:
                if exc[0] is None:
                    future.result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _run(job: Job) -> None:
    job.function(**job.kwargs)


def comparison_plot(summary: pd.DataFrame, path: Path, title: str) -> None:
    """Final test accuracy per experiment: ours (mean, error bar = sd over seeds) next to the published value."""
    n = len(summary)
    fig, (ax,) = _new(width=max(7.0, 0.55 * n + 2.5), height=4.6)
    x = np.arange(n)
    ours = summary["test_acc_mean"].to_numpy(float)
    spread = summary["test_acc_std"].to_numpy(float)  # NaN (one seed): no error bar
    paper = summary["ref_test_acc"].to_numpy(float)
    width = 0.4
    ax.bar(
        x - width / 2, ours, width, yerr=spread, capsize=3, color="tab:blue", label="ours (error bar: sd over seeds)"
    )
    ax.bar(x + width / 2, paper, width, color="0.65", label="published")
    for xi, value in zip(x, paper):
        if np.isnan(value):
            ax.text(
                xi + width / 2, 0.02, "not published", rotation=90, ha="center", va="bottom", fontsize=7, color="0.4"
            )
    labels = [f"{e} (n={s})" for e, s in zip(summary["experiment_id"], summary["seeds"])]
    ax.set_xticks(x, labels, rotation=60 if n > 8 else 0, ha="right" if n > 8 else "center", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("final test accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    _save(fig, path)


def attention_plot(examples: list, title: str, path: Path) -> None:
    """One row per mosaic: the mosaic with each slot's alpha (foreground slot outlined in green, the argmax slot
    in orange dashes when it is elsewhere), the attention-weighted image the what network sees, the true
    foreground image. `examples` are `attention.AttentionExample`s."""
    rows = len(examples)
    height = 3.2 * rows + 1.0
    fig = Figure(figsize=(9.0, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 3, squeeze=False, gridspec_kw={"width_ratios": [3, 1.4, 1.4]})
    for ax_row, ex in zip(axes, examples):
        mosaic_ax, weighted_ax, fg_ax = ax_row
        mosaic_ax.imshow(ex.mosaic.transpose(1, 2, 0), interpolation="nearest")
        g = ex.grid
        focus = int(np.argmax(ex.alphas))
        for slot, alpha in enumerate(ex.alphas):
            r, c = divmod(slot, g)
            # in the slot's corner, so that the picture itself stays visible
            mosaic_ax.text(
                c * 32 + 2,
                r * 32 + 2,
                f"{alpha:.2f}",
                ha="left",
                va="top",
                fontsize=8,
                color="white",
                fontweight="bold" if slot == focus else "normal",
                bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.0, "lw": 0},
            )
        r, c = divmod(ex.fg_slot, g)
        mosaic_ax.add_patch(Rectangle((c * 32 - 0.5, r * 32 - 0.5), 32, 32, fill=False, ec="lime", lw=2.5))
        if focus != ex.fg_slot:
            r, c = divmod(focus, g)
            mosaic_ax.add_patch(Rectangle((c * 32 + 1, r * 32 + 1), 30, 30, fill=False, ec="orange", lw=2, ls="--"))
        verdict = "focus true" if focus == ex.fg_slot else "focus false: largest alpha in orange"
        mosaic_ax.set_title(f"test mosaic {ex.index}, alpha per slot\n(green: foreground; {verdict})", fontsize=9)
        weighted_ax.imshow(ex.weighted.transpose(1, 2, 0), interpolation="nearest")
        ok = "correct" if ex.predicted == ex.true_class else "wrong"
        weighted_ax.set_title(f"what net sees\npredicted: {ex.predicted} ({ok})", fontsize=9)
        fg_ax.imshow(ex.foreground.transpose(1, 2, 0), interpolation="nearest")
        fg_ax.set_title(f"true foreground\nclass: {ex.true_class}", fontsize=9)
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.15 / height, bottom=0.1 / height, hspace=0.45, wspace=0.1)
    _save(fig, path)
