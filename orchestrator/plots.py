"""The report's figures of one experiment (and the primitives the comparison figures share), one PNG each, drawn
on matplotlib's Agg canvas (no display, no pyplot state, so no backend to choose and nothing shared between figures).

Curves over epochs come from `aggregate.epoch_curves`: a mean per epoch over an experiment's seeds, with a band
of one standard deviation when there are several. Epochs are shaded by the network that trained in them. Every
accuracy axis has a dotted line at chance (1 / classes), every loss axis one at ln(classes).
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
from PIL import Image

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


@dataclass(frozen=True)
class WrittenFigure:
    """A written figure: file name relative to the report folder, and what it shows."""

    path: str
    caption: str


def new_figure(width: float = 7.0, height: float = 4.2, ncols: int = 1):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def save_figure(fig: Figure, path: Path) -> None:
    """Write `fig` as a 256-colour palette PNG: a third of the bytes of an RGBA one (an attention picture 90 KB
    instead of 260; the published report has a 3 MB budget). Lossy only where there are more colours than that, in
    the photographs of an attention picture: median cut refined by k-means leaves 0.6 % of their pixels more than
    16/255 off in a channel, which does not show at the figure's size (octree without k-means: 4 %, visible banding)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    opaque = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")  # as a page shows it
    opaque.quantize(256, method=Image.Quantize.MEDIANCUT, kmeans=3).save(path, format="png", optimize=True)


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


def _seeds_note(curves: pd.DataFrame) -> str:
    counts = [c for c in curves.columns if c.endswith("_count")]
    n = int(curves[counts].max().max()) if counts and not curves.empty else 0
    return f"mean of {n} seeds (band: ±1 sd)" if n > 1 else "1 seed"


def chance_line(ax, chance: list[float], vertical: bool = False) -> None:
    """A dashed line at each chance accuracy (1 / classes) of the trials a figure shows."""
    for i, p in enumerate(sorted(set(chance))):
        label = f"chance (1/{round(1 / p)})" if i == 0 or len(set(chance)) > 1 else None
        style = {"color": "0.35", "ls": ":", "lw": 1.3, "zorder": 1}
        ax.axhline(p, label=label, **style)
        if vertical:
            ax.axvline(p, **style)


def _axes_legend(ax, loc: str = "best") -> None:
    ax.legend(fontsize=7, loc=loc, frameon=True, framealpha=0.8)


def _alpha_axes(ax, curves: pd.DataFrame, chance: list[float], split: str) -> None:
    """The write-up's 'argmax > 0.5' plot: share of mosaics whose largest alpha is >= 0.5, and < 0.5."""
    column = f"{split}_alpha_ge_half"
    _line(ax, curves, column, "largest alpha >= 0.5", "tab:purple")
    _line(ax, curves, column, "largest alpha < 0.5", "tab:gray", transform=lambda m: 1.0 - m, ls="--")
    ax.set_title(f"{SPLITS[split]}: largest alpha >= 0.5 or < 0.5", fontsize=9)
    ax.set_ylabel("share of mosaics")
    ax.set_ylim(-0.02, 1.02)
    _axes_legend(ax, "center right")


def _focus_axes(ax, curves: pd.DataFrame, chance: list[float], split: str) -> None:
    """The write-up's focus/prediction plot: FTPT, FFPT, FTPF, FFPF shares over epochs."""
    for f in FOCUS:
        _line(ax, curves, f"{split}_{f}", FOCUS_LABELS[f], FOCUS_COLOURS[f])
    ax.set_title(f"{SPLITS[split]}: focus and prediction", fontsize=9)
    ax.set_ylabel("share of mosaics")
    ax.set_ylim(-0.02, 1.02)
    _axes_legend(ax, "center right")


def _pass_lines(ax, curves: pd.DataFrame, metric: str) -> None:
    """One line per pass (train during training, test, validation) of `metric`."""
    _line(ax, curves, f"train_{metric}", "train (during training)", "tab:blue")
    _line(ax, curves, f"test_{metric}", "test", "tab:red")
    _line(ax, curves, f"val_{metric}", "validation", "tab:green")


def _accuracy_axes(ax, curves: pd.DataFrame, chance: list[float]) -> None:
    _pass_lines(ax, curves, "acc")
    final = curves.get("final_train_acc_mean")
    if final is not None and final.notna().any():  # the clean pass after the last epoch: the paper's train acc
        ax.plot(curves["epoch"][final.notna()], final.dropna(), "*", ms=11, color="navy", label="train, clean pass")
    chance_line(ax, chance)
    ax.set_title("accuracy", fontsize=9)
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    _axes_legend(ax, "lower right")


def _loss_axes(ax, curves: pd.DataFrame, chance: list[float]) -> None:
    _pass_lines(ax, curves, "loss")
    for i, c in enumerate(sorted({round(1 / p) for p in chance})):  # the loss of a uniform guess
        ax.axhline(np.log(c), color="0.35", ls=":", lw=1.3, label=f"ln {c} (chance)" if i == 0 else None)
    ax.set_title("cross-entropy loss", fontsize=9)
    ax.set_ylabel("loss")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    _axes_legend(ax, "lower left")


# The panels of an experiment's figure: accuracy, loss and test focus above, the write-up's other three plots
# below: (row, column, drawing function, its arguments besides ax, curves and chance).
PANELS = (
    (0, 0, _accuracy_axes, {}),
    (0, 1, _loss_axes, {}),
    (0, 2, _focus_axes, {"split": "test"}),
    (1, 0, _alpha_axes, {"split": "train"}),
    (1, 1, _focus_axes, {"split": "train"}),
    (1, 2, _alpha_axes, {"split": "test"}),
)


def experiment_plot(curves: pd.DataFrame, title: str, path: Path, chance: list[float]) -> None:
    """One figure per experiment: accuracy (chance line), loss, and the write-up's four plots (train and test
    alpha >= 0.5 share, train and test focus outcomes), epochs shaded by the network that trained."""
    fig = Figure(figsize=(15.0, 7.6), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3, sharex=True)
    phases: list[Patch] = []
    for row, col, draw, extra in PANELS:
        ax = axes[row][col]
        phases = _shade_phases(ax, curves)
        draw(ax, curves, chance, **extra)
        ax.grid(alpha=0.3)
        if row == 1:
            ax.set_xlabel("epoch")
    fig.suptitle(textwrap.fill(f"{title} ({_seeds_note(curves)})", 2 * TITLE_WIDTH), fontsize=11)
    fig.legend(handles=phases, loc="lower center", ncol=len(phases), fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.05, right=0.985, top=0.9, bottom=0.11, hspace=0.22, wspace=0.18)
    save_figure(fig, path)


CURVE_COLUMNS = [
    f"{split}_{m}" for split in ("train", "test", "val") for m in ("loss", "acc", *FOCUS, "alpha_ge_half")
] + ["final_train_acc"]


@dataclass(frozen=True)
class Job:
    """A figure to draw: `function(**kwargs)` writes it. Plain data, so a worker process can draw it."""

    function: Callable
    kwargs: dict


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
    save_figure(fig, path)
