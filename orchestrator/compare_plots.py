"""Figures that compare experiments: all rows of a table over epochs, ours against the published numbers, Table 1
against Table 2, and a random search's accuracy against the settings it sampled.

Each function draws one PNG from plain frames (rows of `aggregate.experiment_summary`, `aggregate.epoch_curves`),
so that `plots.Drawer` can draw it in a worker process. Accuracy axes carry the chance line (1 / classes).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize

from .aggregate import counted
from .plots import chance_line, new_figure, save_figure

TWO_SD = 2.0  # error bars of final accuracies: ±2 sample sd over seeds
WHAT_FIRST, WHERE_FIRST, PUBLISHED = "tab:blue", "tab:orange", "black"
PUBLISHED_TITLE_WIDTH = 80  # characters of a title line that fit the 6.8-inch comparison figure


def _colours(n: int) -> list:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _legend_outside(ax, title: str | None = None) -> None:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=title, title_fontsize=7)


def _two_sd(std: pd.Series) -> np.ndarray:
    """±2 sd error bars; none (0) where one seed gives no sd."""
    return (TWO_SD * std.astype(float)).fillna(0.0).to_numpy()


# -- a table's rows over epochs -------------------------------------------------------------------------------------
def overlay_plot(
    curves: pd.DataFrame, lines: list[tuple[str, str]], column: str, ylabel: str, title: str, path: Path, chance
) -> None:
    """One line per experiment (mean over seeds, band ±1 sd) of `column` over epochs. `lines`: (experiment_id,
    legend label); experiments with identical results come as one line whose label names them all."""
    fig, (ax,) = new_figure(width=10.0, height=4.8)
    for (exp_id, label), colour in zip(lines, _colours(len(lines))):
        rows = curves[curves["experiment_id"] == exp_id]
        mean, std = rows.get(f"{column}_mean"), rows.get(f"{column}_std")
        if mean is None or mean.isna().all():
            continue
        x = rows["epoch"].to_numpy()
        ax.plot(x, mean.to_numpy(), color=colour, lw=1.6, label=label)
        if (rows[f"{column}_count"] > 1).any():
            band = std.fillna(0.0).to_numpy()
            ax.fill_between(x, mean.to_numpy() - band, mean.to_numpy() + band, color=colour, alpha=0.15, lw=0)
    if chance:
        chance_line(ax, chance)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    _legend_outside(ax, "mean over seeds (band ±1 sd)")
    fig.subplots_adjust(left=0.07, right=0.68, top=0.9, bottom=0.11)
    save_figure(fig, path)


# -- ours vs published ----------------------------------------------------------------------------------------------
def published_plot(summary: pd.DataFrame, path: Path, title: str, chance) -> None:
    """Final test accuracy, ours (mean, ±2 sd over seeds) against the published value, with the line y = x."""
    fig, (ax,) = new_figure(width=6.8, height=6.0)
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, label="y = x (ours = published)")
    chance_line(ax, chance, vertical=True)
    x = summary["ref_test_acc"].to_numpy(float)
    y = summary["test_acc_mean"].to_numpy(float)
    ax.errorbar(
        x, y, yerr=_two_sd(summary["test_acc_std"]), fmt="o", color=WHAT_FIRST, capsize=3, label=_ours_label(summary)
    )
    _label_points(ax, x, y, summary["experiment_id"], summary["seeds"])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("published final test accuracy")
    ax.set_ylabel("our final test accuracy")
    ax.set_title(textwrap.fill(title, PUBLISHED_TITLE_WIDTH), fontsize=10)  # a title names every run: wrap it
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)


def _ours_label(summary: pd.DataFrame) -> str:
    seeds = summary["seeds"].unique()
    return "ours: mean ± 2 sd" + (f" (n={counted(seeds[0], 'seed')} each)" if len(seeds) == 1 else "")


def _label_points(ax, x: np.ndarray, y: np.ndarray, labels: pd.Series, seeds: pd.Series) -> None:
    """Each point's label, staggered above and below so that neighbours stay legible; 'n=' only when the seed
    counts differ (else the legend says it)."""
    same_n = seeds.nunique() == 1
    order = np.argsort(x, kind="stable")
    for rank, i in enumerate(order):
        if np.isnan(y[i]):
            continue
        text = str(labels.iloc[i]) + ("" if same_n else f" (n={seeds.iloc[i]})")
        offset = (6, 8 + 10 * (rank % 3)) if rank % 2 == 0 else (6, -14 - 10 * (rank % 3))
        ax.annotate(
            text,
            (x[i], y[i]),
            xytext=offset,
            textcoords="offset points",
            fontsize=7,
            arrowprops={"lw": 0.4, "arrowstyle": "-"},
        )


# -- Table 1 vs Table 2 ---------------------------------------------------------------------------------------------
def orders_plot(pairs: pd.DataFrame, path: Path, title: str, chance) -> None:
    """The same settings in both orders side by side: final test accuracy and final test FTPT per row, ±2 sd.
    `pairs` has one row per setting: row, and what_/where_ prefixed test_acc_mean/std, test_ftpt_mean/std,
    plus ref_test_acc (published, what first)."""
    fig, axes = new_figure(width=12.0, height=4.6, ncols=2)
    x = np.arange(len(pairs))
    width = 0.38
    for ax, metric, ylabel in zip(axes, ("test_acc", "test_ftpt"), ("final test accuracy", "final test FTPT")):
        for shift, order, colour, name in (
            (-width / 2, "what", WHAT_FIRST, "what first (Table 1)"),
            (width / 2, "where", WHERE_FIRST, "where first (Table 2)"),
        ):
            mean = pairs[f"{order}_{metric}_mean"].to_numpy(float)
            err = _two_sd(pairs[f"{order}_{metric}_std"])
            ax.bar(x + shift, mean, width, yerr=err, capsize=3, color=colour, label=name)
        if metric == "test_acc":
            ref = pairs["ref_test_acc"].to_numpy(float)
            if not np.isnan(ref).all():
                ax.plot(x - width / 2, ref, "_", ms=18, mew=2.5, color=PUBLISHED, label="published (what first)")
            chance_line(ax, chance)
        ax.set_xticks(x, pairs["row"], fontsize=8)
        ax.set_xlabel("row (same settings in both tables)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(title + " (bars: mean, error bars ±2 sd over seeds)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, path)


# -- random search --------------------------------------------------------------------------------------------------
def search_scatter(samples: pd.DataFrame, keys: tuple, log_keys: tuple, path: Path, title: str, chance) -> None:
    """Final test accuracy (filled) and validation accuracy (hollow) of every sample against each sampled setting;
    learning rates on log axes. Samples the scheduler stopped early are marked apart."""
    fig, axes = new_figure(width=max(6.0, 4.6 * len(keys) + 1.0), height=4.4, ncols=len(keys))
    stopped = samples["outcomes"].fillna("").str.contains("stopped")
    for ax, key in zip(axes, keys):
        values = pd.to_numeric(samples[key], errors="coerce")
        for mask, colour, name in ((~stopped, "tab:blue", "ran to the end"), (stopped, "tab:red", "stopped early")):
            if mask.any():
                ax.scatter(values[mask], samples.loc[mask, "test_acc_mean"], color=colour, s=28, label=f"test, {name}")
                if "val_acc_mean" in samples and samples.loc[mask, "val_acc_mean"].notna().any():
                    ax.scatter(
                        values[mask],
                        samples.loc[mask, "val_acc_mean"],
                        facecolors="none",
                        edgecolors=colour,
                        s=28,
                        label=f"validation, {name}",
                    )
        chance_line(ax, chance)
        if key in log_keys:
            ax.set_xscale("log")
        ax.set_xlabel(key + (" (log)" if key in log_keys else ""))
        ax.set_ylabel("final accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left", framealpha=0.8)
    fig.suptitle(f"{title}: {len(samples)} samples", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def _axis_values(samples: pd.DataFrame, column: str, log: bool) -> tuple[np.ndarray, float, float]:
    """A column scaled to [0, 1] for a parallel-coordinates axis (log10 first for log axes), with its range."""
    values = pd.to_numeric(samples[column], errors="coerce").to_numpy(float)
    shown = np.log10(values) if log else values
    low, high = np.nanmin(shown), np.nanmax(shown)
    scaled = (shown - low) / (high - low) if high > low else np.full_like(shown, 0.5)
    return scaled, (10**low if log else low), (10**high if log else high)


def parallel_plot(samples: pd.DataFrame, keys: tuple, log_keys: tuple, path: Path, title: str) -> None:
    """One line per sample through an axis per sampled setting and its final accuracies, coloured by test
    accuracy; each axis runs from its smallest to its largest value (log for learning rates)."""
    columns = list(keys) + [c for c in ("val_acc_mean", "test_acc_mean") if c in samples and samples[c].notna().any()]
    fig, (ax,) = new_figure(width=max(7.0, 2.0 * len(columns) + 2.0), height=4.8)
    scaled, ranges = [], []
    for column in columns:
        values, low, high = _axis_values(samples, column, column in log_keys)
        scaled.append(values)
        ranges.append((low, high))
    points = np.stack(scaled, axis=1)  # samples x axes
    acc = samples["test_acc_mean"].to_numpy(float)
    norm = Normalize(np.nanmin(acc), max(np.nanmax(acc), np.nanmin(acc) + 1e-3))
    segments = [np.column_stack([np.arange(len(columns)), row]) for row in points]
    lines = LineCollection(segments, cmap=colormaps["viridis"], norm=norm, lw=1.6, alpha=0.85)
    lines.set_array(acc)
    ax.add_collection(lines)
    for i, (low, high) in enumerate(ranges):
        ax.axvline(i, color="0.3", lw=0.8)
        ax.text(i, -0.06, f"{low:.3g}", ha="center", va="top", fontsize=7)
        ax.text(i, 1.06, f"{high:.3g}", ha="center", va="bottom", fontsize=7)
    names = [c.removesuffix("_mean").replace("_", " ") + (" (log)" if c in log_keys else "") for c in columns]
    ax.set_xticks(range(len(columns)), names, fontsize=8)
    ax.set_xlim(-0.3, len(columns) - 0.7)
    ax.set_ylim(-0.15, 1.15)
    ax.set_yticks([])
    fig.colorbar(lines, ax=ax, label="final test accuracy", pad=0.02)
    ax.set_title(f"{title}: {len(samples)} samples, each axis from its smallest to its largest value", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
