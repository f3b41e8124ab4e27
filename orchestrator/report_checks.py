"""What a report's numbers mean: checks over the aggregated frames that a reader should see before any number.

- scale: a run below paper scale cannot be compared with the published numbers (they are for the paper's sizes);
- chance: a trial whose test accuracy stayed within a binomial band of 1 / classes at every epoch, whose loss
  stayed near ln(classes) and whose attention stayed uniform learned nothing;
- collapsed attention: a trial whose attention became exactly uniform and stayed so to its end, through a phase
  that trained the where network (a where network whose score no longer depends on the tile, as when the ReLUs of
  a hidden layer are all dead, which no gradient can revive) ends with a what network trained on plain averages;
- saturated attention: a trial whose where network came to put most of its attention on one tile of every test
  mosaic, the foreground tile no more often than a little above chance, and stayed so to its end, through a where
  phase (a softmax saturated this far passes almost no gradient back: Table 1 row 5, seed 1; Table 2 row 5, seed 0);
- fell back to chance: a trial that left chance and came back to it for good, its test accuracy in the chance
  band and its test loss near ln(classes) from some epoch to its last (a what network whose every unit of a hidden
  layer is dead predicts one class whatever the mosaic: Table 2 row 5, seed 0);
- identical results: trials whose every metric at every epoch is equal (a scale can collapse several table
  rows onto one configuration, or a setting can have had no effect);
- settings: which of a row's paper settings the scale (or an override) changed;
- sampled spaces: which settings a random search sampled, so that the report plots accuracy against them;
- Table 1 vs Table 2: the same settings in both orders, so that they can be shown side by side.

Plain functions over pandas frames (`aggregate.trial_results`, `aggregate.experiment_summary`), no files.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from search_spaces import SCALES, get_space
from trainables import TrainConfig
from trainables.metrics import all_metric_names
from trainables.precision import MEANINGS

from .aggregate import PAPER_SCALE, SETTINGS, TRIAL_KEY, counted

# Settings a trial has besides the seeds, as the report compares them (scale and label are not settings).
SETTING_COLUMNS = [k for k in SETTINGS if k not in ("scale", "experiment")]
TABLE_SETTINGS = ("epochs", "k", "what_lr", "where_lr")  # the paper's table columns
SETTING_NAMES = {"epochs": "total epochs", "what_lr": "what lr", "where_lr": "where lr"}

# Chance: z binomial standard deviations around 1 / classes (per epoch, so a wide band: few false alarms over
# hundreds of epochs), the loss within LOSS_TOLERANCE nats of ln(classes), and uniform attention: the mean alpha
# on the foreground tile within ALPHA_TOLERANCE (relative) of 1 / tiles and almost no mosaic with an alpha >= 0.5.
CHANCE_Z = 3.0
LOSS_TOLERANCE = 0.05
ALPHA_TOLERANCE = 0.1
ALPHA_GE_HALF_MAX = 0.01
FINGERPRINT_DECIMALS = 10  # metrics equal to this many decimals count as identical
# Collapse: a mean foreground alpha within COLLAPSE_TOLERANCE of 1 / tiles and no mosaic with an alpha >= 0.5,
# from some epoch to the last, through at least one epoch that trained the where network (a frozen one keeps its
# initial near-uniform attention). A WhereNet with no live unit gives every tile the same score: exactly 1 / tiles
# up to rounding (~1e-9); a freshly initialised one is ~2e-5 away (Table 1 row 5, seed 0).
COLLAPSE_TOLERANCE = 1e-6
# A where network with a few live units left scores almost every tile alike, and its later where phases move nothing
# (Table 1 row 6, seeds 3 and 4: mean foreground alpha 0.111105 and 0.111556, a largest alpha >= 0.5 in 0 and 0.0005
# of the test mosaics, the same through two more where phases). Attention within NEAR_COLLAPSE_TOLERANCE of 1 / tiles
# with at most NEAR_COLLAPSE_GE_HALF_MAX of the mosaics at an alpha >= 0.5 counts as collapsed too, but only after a
# foreground alpha of at least ATTENDED_TIMES / tiles: a where network that never attended (Table 1 row 3) ends that
# near uniform without having collapsed.
NEAR_COLLAPSE_TOLERANCE = 1e-3
NEAR_COLLAPSE_GE_HALF_MAX = 1e-3
ATTENDED_TIMES = 2.0
# Saturation: a largest alpha >= 0.5 in at least SATURATED_SHARE of the test mosaics while the mean alpha on the
# foreground tile is at most SATURATED_FG_TIMES / tiles, from some epoch to the last, through a where epoch. In the
# published runs working attention reached at most 0.982 of the mosaics (a foreground alpha >= 0.545 wherever it was
# above 0.9); the saturated epochs measured 1.000 with a foreground alpha of 0.104-0.116 (3x3: the bound is 0.222).
SATURATED_SHARE = 0.99
SATURATED_FG_TIMES = 2.0
SATURATED_FG_MAX = 0.25  # and never above a 2x2 grid's uniform share: 2/4 would flag working attention there


# -- scale ----------------------------------------------------------------------------------------------------------
def is_paper_scale(scale) -> bool:
    return str(scale) == PAPER_SCALE


def scale_banner(summary: pd.DataFrame, runs: list[dict]) -> list[str]:
    """Sentences for the banner of a report with rows below paper scale, or at paper scale with settings other
    than the paper's (`off_paper`); [] when every row is the paper's experiment."""
    below = summary[~summary["scale"].map(is_paper_scale)]
    lines = []
    for scale, rows in below.groupby("scale", sort=False):
        names = [r["name"] for r in runs if r.get("scale") == scale]
        who = f"run {', '.join(f'`{n}`' for n in names)}" if names else counted(len(rows), "experiment")
        known = SCALES.get(str(scale))
        rule = f" (scale `{scale}`: {known.description})" if known else f" (scale `{scale}`)"
        lines.append(f"Not paper scale: {who} ran with {_sizes(rows)}{rule}.")
    for _, row in off_paper(summary).iterrows():
        changes = change_text(off_paper_changes(row))
        lines.append(f"Not the paper's settings: `{row['experiment']}` ran at scale paper with {changes}.")
    if not lines:
        return []
    lines.append(
        f"The published numbers are for the paper's settings at paper scale ({SCALES[PAPER_SCALE].description}). "
        "They are shown for orientation only; no difference to them is computed for these rows."
    )
    return lines


# How float32 math is done on a GPU, not which experiment ran: a row that changed only these still compares.
NUMERICS = ("precision", "dtype")


def off_paper_changes(row: pd.Series) -> list[tuple[str, object, object]]:
    changed = row.get("changed")
    return [c for c in changed if c[0] not in NUMERICS] if isinstance(changed, list) else []


def off_paper(summary: pd.DataFrame) -> pd.DataFrame:
    """The experiments at paper scale whose settings differ from the paper's (a space file, --set): another
    experiment than the published one, however it is labelled."""
    at_paper = summary[summary["scale"].map(is_paper_scale)]
    return at_paper[[bool(off_paper_changes(r)) for _, r in at_paper.iterrows()]]


def _sizes(rows: pd.DataFrame) -> str:
    def values(column: str) -> str:
        found = sorted({int(v) for v in rows[column].dropna()}) if column in rows else []
        return "/".join(f"{v:,}" for v in found) or "?"

    return f"{values('n_train')} train / {values('n_test')} test mosaics, batch {values('batch_size')}"


# -- chance ---------------------------------------------------------------------------------------------------------
def classes(foreground) -> int:
    """How many classes a trial told apart: its foreground classes ('horse,ship,truck' -> 3)."""
    return len([c for c in str(foreground).split(",") if c.strip()]) if isinstance(foreground, str) else 3


def chance_band(n_classes: int, n_test) -> tuple[float, float]:
    """(1 / classes, half width): CHANCE_Z binomial standard deviations of an accuracy over n_test mosaics."""
    p = 1.0 / n_classes
    n = float(n_test) if n_test and not pd.isna(n_test) and n_test > 0 else math.nan
    return p, CHANCE_Z * math.sqrt(p * (1 - p) / n)


def chance_checks(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per trial (same index as `results`): chance_acc, chance_half_width, never_left_chance and the evidence.

    A trial never left chance when its test accuracy stayed in the band at every epoch, its last test loss is
    within LOSS_TOLERANCE of ln(classes) and its attention is uniform (where recorded)."""
    test_acc = epochs.groupby(TRIAL_KEY)["test_acc"].agg(["min", "max", "count"]) if not epochs.empty else None
    rows = []
    for _, trial in results.iterrows():
        rows.append(_chance_of_trial(trial, _acc_range(test_acc, trial)))
    return pd.DataFrame(rows, index=results.index)


def _acc_range(test_acc: pd.DataFrame | None, trial: pd.Series) -> tuple[float, float]:
    key = (trial["run"], trial["trial_id"])
    if test_acc is None or key not in test_acc.index or not test_acc.loc[key, "count"]:
        return math.nan, math.nan
    return float(test_acc.loc[key, "min"]), float(test_acc.loc[key, "max"])


def _chance_of_trial(trial: pd.Series, acc_range: tuple[float, float]) -> dict:
    n_classes = classes(trial.get("foreground"))
    p, half = chance_band(n_classes, trial.get("n_test"))
    low, high = acc_range
    acc_in_band = bool(not math.isnan(low) and not math.isnan(half) and p - half <= low and high <= p + half)
    loss = trial.get("test_loss")
    loss_at_chance = bool(pd.notna(loss) and abs(loss - math.log(n_classes)) <= LOSS_TOLERANCE)
    alphas = _alphas(trial)
    never_left = acc_in_band and loss_at_chance and alphas != "not uniform"
    evidence = ""
    if never_left:
        evidence = (
            f"test acc {_range_text(low, high)} within 1/{n_classes} ± {half:.3f} ({CHANCE_Z:g} binomial sd, "
            f"n={int(trial['n_test'])}) at every epoch; test loss {loss:.3f} ≈ ln {n_classes} = "
            f"{math.log(n_classes):.3f}; {alphas}"
        )
    return {"chance_acc": p, "chance_half_width": half, "never_left_chance": never_left, "chance_evidence": evidence}


def _alphas(trial: pd.Series) -> str:
    """'alphas uniform (...)', 'not uniform', or 'alphas not recorded' for a trial's last test pass."""
    grid = trial.get("grid")
    tiles = int(grid) ** 2 if pd.notna(grid) else 9
    fg_alpha, ge_half = trial.get("test_fg_alpha"), trial.get("test_alpha_ge_half")
    if pd.isna(fg_alpha) or pd.isna(ge_half):
        return "alphas not recorded"
    if abs(fg_alpha - 1 / tiles) <= ALPHA_TOLERANCE / tiles and ge_half <= ALPHA_GE_HALF_MAX:
        return (
            f"alphas uniform (foreground alpha {fg_alpha:.3f} ≈ 1/{tiles}, largest alpha >= 0.5 in {ge_half:.0%} "
            "of mosaics)"
        )
    return "not uniform"


def collapse_checks(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per trial (same index as `results`): `collapsed_at`, the first recorded epoch from which its test attention
    stayed uniform (NEAR_COLLAPSE_TOLERANCE; exactly, COLLAPSE_TOLERANCE, at the last or else after attending) to its
    last (NA when it did not collapse); `collapsed_after`, the recorded epoch before it (a copy with phase ends only:
    the collapse came in between); and `collapse_evidence`."""
    needed = {"test_fg_alpha", "test_alpha_ge_half", "epoch", "test_acc"}
    return _tail_checks(results, epochs, needed, _collapse_of_trial, "collapsed", "collapse_evidence")


def _tail_checks(results, epochs, needed: set[str], of_trial, name: str, evidence: str) -> pd.DataFrame:
    """Per trial (same index as `results`): `<name>_at`, `<name>_after` and `evidence` as `of_trial(curve, trial)`
    finds them on the trial's epochs in order (None: not flagged, NA and ''); none flagged without `needed`."""
    empty = {f"{name}_at": pd.NA, f"{name}_after": pd.NA, evidence: ""}
    rows = {index: dict(empty) for index in results.index}
    if not epochs.empty and needed <= set(epochs.columns):
        by_trial = dict(tuple(epochs.sort_values("epoch").groupby(TRIAL_KEY)))
        for index, trial in results.iterrows():
            curve = by_trial.get((trial["run"], trial["trial_id"]))
            if curve is not None:
                rows[index] = of_trial(curve, trial) or dict(empty)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(empty))
    return out.astype({f"{name}_at": "Int64", f"{name}_after": "Int64", evidence: str})


def collapse_window(at: int, after) -> tuple[int, int]:
    """The epochs a collapse recorded at epoch `at` may have come at: (after + 1, at) when the recorded epoch before
    it, `after`, is further back (a copy with phase ends only); (at, at) when it is the epoch before or none."""
    return (int(after) + 1, at) if pd.notna(after) and int(after) < at - 1 else (at, at)


def _collapse_of_trial(curve: pd.DataFrame, trial: pd.Series) -> dict | None:
    tiles = _tiles(trial)
    off = np.abs(curve["test_fg_alpha"].to_numpy(dtype=float) - 1 / tiles)
    ge_half = curve["test_alpha_ge_half"].to_numpy(dtype=float)
    exact = (off <= COLLAPSE_TOLERANCE) & (ge_half == 0)
    near = (off <= NEAR_COLLAPSE_TOLERANCE) & (ge_half <= NEAR_COLLAPSE_GE_HALF_MAX)
    start = _tail_start(near)
    if start is None:
        return None
    attended = (curve["test_fg_alpha"].iloc[:start] >= ATTENDED_TIMES / tiles).any()  # NaN: not attended
    if not (exact[-1] or attended):
        return None

    def state(end: pd.Series) -> str:
        if exact[-1]:
            return (
                f"test attention uniform (mean foreground alpha {end['test_fg_alpha']:.6f} = 1/{tiles} to within "
                f"{COLLAPSE_TOLERANCE:g}, no mosaic with an alpha >= 0.5)"
            )
        return (
            f"test attention uniform to within {NEAR_COLLAPSE_TOLERANCE:g} (mean foreground alpha "
            f"{end['test_fg_alpha']:.6f}, 1/{tiles} = {1 / tiles:.6f}; a largest alpha >= 0.5 in "
            f"{end['test_alpha_ge_half']:.4f} of the mosaics)"
        )

    return _attention_tail(curve, near, "collapsed", "collapse_evidence", state)


def saturation_checks(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per trial (same index as `results`): `saturated_at`, the first recorded epoch from which its test attention
    stayed saturated away from the foreground (SATURATED_SHARE, SATURATED_FG_TIMES) to its last (NA when it did not);
    `saturated_after`, the recorded epoch before it; and `saturation_evidence`."""
    needed = {"test_fg_alpha", "test_alpha_ge_half", "epoch", "test_acc"}
    return _tail_checks(results, epochs, needed, _saturation_of_trial, "saturated", "saturation_evidence")


def _saturation_of_trial(curve: pd.DataFrame, trial: pd.Series) -> dict | None:
    tiles = _tiles(trial)
    alpha = curve["test_fg_alpha"].to_numpy(dtype=float)
    sharp = curve["test_alpha_ge_half"].to_numpy(dtype=float) >= SATURATED_SHARE
    saturated = sharp & (alpha <= saturation_bound(tiles))

    def state(end: pd.Series) -> str:
        return (
            f"test attention on one tile away from the foreground (a largest alpha >= 0.5 in "
            f"{end['test_alpha_ge_half']:.3f} of the mosaics, mean foreground alpha {end['test_fg_alpha']:.3f}; "
            f"uniform: 1/{tiles} = {1 / tiles:.3f})"
        )

    return _attention_tail(curve, saturated, "saturated", "saturation_evidence", state)


def saturation_bound(tiles: int) -> float:
    """The largest mean foreground alpha that counts as attention away from the foreground."""
    return min(SATURATED_FG_TIMES / tiles, SATURATED_FG_MAX)


def _tiles(trial: pd.Series) -> int:
    grid = trial.get("grid")
    return int(grid) ** 2 if pd.notna(grid) else 9


def _attention_tail(curve: pd.DataFrame, flags: np.ndarray, name: str, evidence: str, state) -> dict | None:
    """`<name>_at`, `<name>_after` and `evidence` for the attention states `flags` (per recorded epoch) that end
    the curve, through at least one where epoch (a frozen where network changes nothing); None when there are none.
    `state(last epoch)` says what the attention is."""
    start = _tail_start(flags)
    if start is None:
        return None
    tail, before = curve.iloc[start:], curve.iloc[:start]
    if "phase" in curve and not (tail["phase"] != "what").any():
        return None
    epoch, end = int(tail["epoch"].iloc[0]), tail.iloc[-1]
    after = int(before["epoch"].iloc[-1]) if len(before) else None
    text = f"{state(end)} {_when(epoch, after)} to {int(end['epoch'])}"
    if before["test_fg_alpha"].notna().any():
        peak = before.loc[before["test_fg_alpha"].idxmax()]
        text += f", after a foreground alpha of {peak['test_fg_alpha']:.3f} at epoch {int(peak['epoch'])}"
    if after is not None and pd.notna(before["test_acc"].iloc[-1]):
        text += f"; test acc {before['test_acc'].iloc[-1]:.3f} at epoch {after}, {end['test_acc']:.3f} at the end"
    return {f"{name}_at": epoch, f"{name}_after": after if after is not None else pd.NA, evidence: text}


def _tail_start(flags: np.ndarray) -> int | None:
    """The index of the first of the True values that end `flags` (a boolean per recorded epoch, in order); None when
    its last value is False."""
    if not len(flags) or not flags[-1]:
        return None
    return len(flags) - int(np.argmin(flags[::-1])) if not flags.all() else 0


def _when(epoch: int, after) -> str:
    """'from epoch E', or 'from between epochs A and E' when the recorded epoch before it, `after`, is further back."""
    if after is None:
        return f"from its first recorded epoch ({epoch})"
    first, _ = collapse_window(epoch, after)
    return f"from epoch {epoch}" if first == epoch else f"from between epochs {first} and {epoch}"


def fall_checks(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per trial (same index as `results`): `fell_at`, the first recorded epoch from which its test accuracy stayed in
    the chance band (`chance_band`) and its test loss within LOSS_TOLERANCE of ln(classes) to its last, when an
    earlier epoch's test accuracy was above the band (NA otherwise: a trial that never left chance is
    `chance_checks`' case); `fell_after`, the recorded epoch before it; and `fall_evidence`."""
    return _tail_checks(results, epochs, {"epoch", "test_acc", "test_loss"}, _fall_of_trial, "fell", "fall_evidence")


def _fall_of_trial(curve: pd.DataFrame, trial: pd.Series) -> dict | None:
    n_classes = classes(trial.get("foreground"))
    p, half = chance_band(n_classes, trial.get("n_test"))
    if math.isnan(half):
        return None
    acc, loss = curve["test_acc"].to_numpy(dtype=float), curve["test_loss"].to_numpy(dtype=float)
    start = _tail_start((np.abs(acc - p) <= half) & (np.abs(loss - math.log(n_classes)) <= LOSS_TOLERANCE))
    if not start:  # not at chance at the end (None), or at chance throughout (0: chance_checks' case)
        return None
    before = curve.iloc[:start]
    if not (before["test_acc"] > p + half).any():
        return None
    tail, peak = curve.iloc[start:], before.loc[before["test_acc"].idxmax()]
    epoch, after = int(tail["epoch"].iloc[0]), int(before["epoch"].iloc[-1])
    evidence = (
        f"test acc {_range_text(tail['test_acc'].min(), tail['test_acc'].max())} within 1/{n_classes} ± {half:.3f} "
        f"and test loss within {LOSS_TOLERANCE:g} of ln {n_classes} = {math.log(n_classes):.3f} "
        f"{_when(epoch, after)} to {int(tail['epoch'].iloc[-1])}, after a test acc of {peak['test_acc']:.3f} at "
        f"epoch {int(peak['epoch'])}"
    )
    return {"fell_at": epoch, "fell_after": after, "fall_evidence": evidence}


def _range_text(low: float, high: float) -> str:
    return f"{low:.3f}" if abs(high - low) < 5e-4 else f"{low:.3f}-{high:.3f}"


# -- identical results ----------------------------------------------------------------------------------------------
def fingerprints(epochs: pd.DataFrame) -> pd.Series:
    """A digest per trial ((run, trial_id) index) of every metric at every epoch: equal digests, equal results."""
    if epochs.empty:
        return pd.Series(dtype=object)
    metrics = [c for c in all_metric_names() if c in epochs.columns]
    ordered = epochs.sort_values([*TRIAL_KEY, "epoch"])
    out = {}
    for key, rows in ordered.groupby(TRIAL_KEY, sort=False):
        values = np.round(rows[["epoch", *metrics]].to_numpy(dtype=float), FINGERPRINT_DECIMALS)
        values = np.where(np.isnan(values), -1.0, values) + 0.0  # NaN as a value; -0.0 and 0.0 alike
        out[key] = hashlib.sha1(values.tobytes()).hexdigest()[:16]
    return pd.Series(out)


def identical_trials(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.Series:
    """Per trial (index of `results`): 'table1/1 seed 0', the first trial (report order) whose results equal its
    own, for every trial of a group of two or more; None for a trial whose results are its own."""
    prints = fingerprints(epochs)
    keys = [prints.get((r, t)) for r, t in zip(results["run"], results["trial_id"])]
    keys = pd.Series(keys, index=results.index, dtype=object)
    out = pd.Series(None, index=results.index, dtype=object)
    for _, members in keys.dropna().groupby(keys.dropna(), sort=False):
        if len(members) > 1:
            first = results.loc[members.index[0]]
            out[members.index] = trial_name(first)
    return out


def trial_name(trial: pd.Series) -> str:
    seed = "" if pd.isna(trial.get("seed")) else f" seed {int(trial['seed'])}"
    return f"{trial['experiment_id']}{seed}"


def experiment_fingerprints(results: pd.DataFrame, epochs: pd.DataFrame) -> dict[str, str | None]:
    """experiment_id -> a digest of its trials' results (None when no trial has rows)."""
    prints = fingerprints(epochs)
    out = {}
    for exp_id, group in results.groupby("experiment_id", sort=False):
        found = sorted(str(prints.get((r, t))) for r, t in zip(group["run"], group["trial_id"]) if (r, t) in prints)
        out[exp_id] = hashlib.sha1("|".join(found).encode()).hexdigest()[:16] if found else None
    return out


@dataclass(frozen=True)
class IdenticalGroup:
    """Experiments whose results are equal, metric by metric and epoch by epoch."""

    experiments: tuple[str, ...]
    differing: tuple[str, ...]  # settings that differ between them (none: a scale made them one configuration)


def identical_experiments(summary: pd.DataFrame, prints: dict[str, str | None]) -> list[IdenticalGroup]:
    groups: dict[str, list[str]] = {}
    for exp_id in summary["experiment_id"]:
        if prints.get(exp_id):
            groups.setdefault(prints[exp_id], []).append(exp_id)
    out = []
    rows = summary.set_index("experiment_id")
    for members in groups.values():
        if len(members) < 2:
            continue
        part = rows.loc[members]
        differing = tuple(c for c in SETTING_COLUMNS if c in part and part[c].map(str).nunique() > 1)
        out.append(IdenticalGroup(tuple(members), differing))
    return out


def same_results_as(groups: list[IdenticalGroup]) -> dict[str, str]:
    """experiment_id -> the first experiment of its identical group, for every member but the first."""
    return {member: g.experiments[0] for g in groups for member in g.experiments[1:]}


# -- paper settings -------------------------------------------------------------------------------------------------
def paper_settings(space, label) -> dict | None:
    """The full flat config an experiment has at paper scale (the search spaces know it); None if unknown."""
    try:
        found = [e for e in get_space(str(space)).experiments if e.label == str(label)]
    except KeyError:
        return None
    if not found:
        return None
    try:
        return TrainConfig.from_flat(SCALES[PAPER_SCALE].apply(found[0].values)).to_flat()
    except (ValueError, TypeError, KeyError):
        return None


def settings_changes(summary: pd.DataFrame, sampled: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Per experiment (index of `summary`): paper_<key> for the table's settings, and `changed`: [(key, paper,
    ran)] for every setting that differs from the paper's (sampled settings of a search do not count)."""
    rows = []
    for _, r in summary.iterrows():
        paper = paper_settings(r.get("space"), r.get("experiment"))
        skip = set(sampled.get(r["experiment_id"], ()))
        row = {f"paper_{k}": (paper or {}).get(k, math.nan) for k in TABLE_SETTINGS}
        row["changed"] = [] if paper is None else _changes(r, paper, skip)
        rows.append(row)
    return pd.DataFrame(rows, index=summary.index)


def mark_paper_changes(summary: pd.DataFrame, sampled: list | None = None) -> None:
    """`summary` gains paper_<key> and `changed` (the settings a search sampled do not count), in place; rows off
    the paper's settings (`off_paper`) lose their difference to the published numbers."""
    changes = settings_changes(summary, sampled_ids(sampled_groups(summary) if sampled is None else sampled))
    for column in changes.columns:
        summary[column] = changes[column]
    summary.loc[off_paper(summary).index, ["train_acc_diff", "test_acc_diff"]] = math.nan


def _changes(row: pd.Series, paper: dict, skip: set[str]) -> list[tuple[str, object, object]]:
    """Settings whose value differs from the paper's; one the run did not record (a column older runs lack, such
    as `precision`) is unknown, not changed."""
    out = []
    for key in SETTING_COLUMNS:
        if key in skip or key not in paper or key not in row.index:
            continue
        if _missing(row[key]) and not _missing(paper[key]):
            continue
        if not _same(paper[key], row[key]):
            out.append((key, paper[key], row[key]))
    return out


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _same(a, b) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return str(a) == str(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def format_setting(value) -> str:
    """A setting as a person reads it: '30,000', '0.01', '0.0006227', 'what_first'."""
    if isinstance(value, (bool, np.bool_, str)) or value is None:
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not pd.isna(value):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}"
    return str(value)


def change_text(changes: list[tuple[str, object, object]]) -> str:
    """'batch_size 100 (paper 250), n_train 400 (paper 30,000)'."""
    return ", ".join(f"{key} {format_setting(ran)} (paper {format_setting(paper)})" for key, paper, ran in changes)


# -- precision and schedulers ---------------------------------------------------------------------------------------
def precision_text(results: pd.DataFrame) -> str:
    """The arithmetic the trials used: dtype, the recorded `precision` (fp32 / tf32 / bf16) where the runs have
    that column, and the device; e.g. 'float32 on cpu (16 trials)'."""
    if results.empty:
        return "no trials"
    frame = pd.DataFrame(
        {
            "dtype": results["dtype"].fillna("?") if "dtype" in results else "?",
            "precision": results["precision"] if "precision" in results else None,
            "device": results["device"].fillna("?") if "device" in results else "?",
        }
    )
    # counted by what it says: a run without the precision column and an fp32 one on CPU did the same arithmetic
    said = [_arithmetic(*row) for row in frame.itertuples(index=False)]
    counts = pd.Series(said).value_counts(sort=False).sort_index()
    return "; ".join(f"{text} ({counted(n, 'trial')})" for text, n in counts.items())


def _arithmetic(dtype, precision, device) -> str:
    on = f" on {device}"
    recorded = precision if isinstance(precision, str) and precision else None
    if dtype == "float64":
        return "float64" + on
    if str(device).startswith("cuda"):
        if recorded:  # worded as for CPU, whose float32 is strict fp32
            return f"{dtype} ({MEANINGS.get(recorded, 'precision ' + recorded)}){on}"
        return f"{dtype}{on} (TF32 use not recorded: this run has no `precision` column)"
    if recorded and recorded != "fp32":  # the precision setting applies on CUDA only
        return f"{dtype} (strict fp32; precision {recorded} applies on CUDA only){on}"
    return f"{dtype} (strict fp32){on}"


def plateau_text(summary: pd.DataFrame) -> str:
    used = summary[summary["plateau"].fillna(False).astype(bool)] if "plateau" in summary else summary.iloc[:0]
    which = (
        f"{len(used)} of {len(summary)} experiments use it ({', '.join(used['experiment_id'])})"
        if len(used)
        else "no experiment here uses it"
    )
    return (
        "The plateau schedule (ReduceLROnPlateau on validation loss, factor 0.5, patience 2) is stepped only for "
        "the network that trained in that epoch (both when training simultaneously); the frozen network's "
        f"learning rate waits: {which}."
    )


# -- sampled spaces -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampledGroup:
    """The samples of a random search: one experiment per sample, the settings it sampled, which to plot on a
    log axis."""

    space: str
    scale: str
    label: str
    experiments: tuple[str, ...]
    keys: tuple[str, ...]
    log_keys: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.label} ({self.space}, {self.scale})"


def sampled_groups(summary: pd.DataFrame) -> list[SampledGroup]:
    """Experiments sharing a label whose settings differ: a search space's samples. Spaces this version knows
    and that are not searches (several runs with different settings) do not count."""
    out = []
    for (space, scale, label), rows in summary.groupby(["space", "scale", "experiment"], sort=False, dropna=False):
        searcher = _searcher(space)
        if len(rows) < 2 or searcher is False:
            continue
        keys = tuple(c for c in SETTING_COLUMNS if c in rows and rows[c].map(str).nunique() > 1)
        if not keys:
            continue
        log_keys = tuple(k for k in keys if _log_axis(k, rows[k], searcher))
        out.append(SampledGroup(str(space), str(scale), str(label), tuple(rows["experiment_id"]), keys, log_keys))
    return out


def _searcher(space):
    """The space's searcher; None when the space is unknown here (it may still be a search); False when the
    space is known and is not a search."""
    try:
        searcher = get_space(str(space)).searcher
    except KeyError:
        return None
    return searcher if searcher is not None else False


def _log_axis(key: str, values: pd.Series, searcher) -> bool:
    """Learning rates, and whatever the searcher samples log-uniformly, go on a log axis."""
    sample = getattr(searcher, "sample", None)
    if isinstance(sample, dict) and key in sample:
        return str(sample[key][0]).startswith("log")
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return key.endswith("_lr") and not numbers.empty and (numbers > 0).all()


def sampled_ids(groups: list[SampledGroup]) -> dict[str, tuple[str, ...]]:
    """experiment_id -> the keys its search sampled."""
    return {exp_id: g.keys for g in groups for exp_id in g.experiments}


# -- Table 1 vs Table 2 ---------------------------------------------------------------------------------------------
ORDER_LABEL = re.compile(r"^(?P<family>.*?table)(?P<table>[12])/(?P<row>\d+)(?P<rest>.*)$")


@dataclass(frozen=True)
class OrderPair:
    """One setting run in both orders: Table 1's row (what first) and Table 2's (where first)."""

    family: str  # 'table', 'heldout-table'
    row: str  # '3', plus whatever else tells runs apart
    what_first: str  # experiment_id
    where_first: str


def order_pairs(summary: pd.DataFrame) -> dict[str, list[OrderPair]]:
    """family -> pairs (table1/i, table2/i) of the same scale, in row order; families with no pair are left out."""
    found: dict[tuple, dict[str, str]] = {}
    for _, r in summary.iterrows():
        match = ORDER_LABEL.match(str(r["experiment_id"]))
        if not match or r.get("order") not in ("what_first", "where_first"):
            continue
        key = (match["family"], str(r["scale"]), match["row"], match["rest"])
        found.setdefault(key, {})[r["order"]] = r["experiment_id"]
    out: dict[str, list[OrderPair]] = {}
    for (family, _, row, rest), ids in found.items():  # summary order: rows in natural order
        if {"what_first", "where_first"} <= set(ids):
            out.setdefault(family, []).append(OrderPair(family, row + rest, ids["what_first"], ids["where_first"]))
    return out


# -- everything a report says before its numbers --------------------------------------------------------------------
def experiments_flagged(summary: pd.DataFrame, results: pd.DataFrame, column: str) -> pd.Series:
    """Per experiment (index of `summary`): how many of its finished trials have a `column` (`collapsed_at`: whose
    attention collapsed; `saturated_at`: whose attention saturated; `fell_at`: that fell back to chance)."""
    done = results[results["finished"]]
    counts = done.groupby("experiment_id")[column].count()
    return summary["experiment_id"].map(counts).fillna(0).astype(int)


def experiments_at_chance(summary: pd.DataFrame, results: pd.DataFrame) -> pd.Series:
    """Per experiment (index of `summary`): every finished trial (at least one) never left chance."""
    done = results[results["finished"]]
    at_chance = done.groupby("experiment_id")["never_left_chance"].all()
    return summary["experiment_id"].map(at_chance).fillna(False).astype(bool)


def identical_seeds(results: pd.DataFrame) -> dict[str, list[str]]:
    """experiment_id -> its trials (names) whose results equal those of another seed of the same experiment."""
    out: dict[str, list[str]] = {}
    for _, group in results[results["identical_to"].notna()].groupby("identical_to", sort=False):
        for exp_id, trials in group.groupby("experiment_id", sort=False):
            if trials["seed"].nunique() > 1:  # one seed run twice is meant to repeat itself
                out.setdefault(exp_id, []).extend(trial_name(t) for _, t in trials.iterrows())
    return out


def repeated_seeds(results: pd.DataFrame) -> dict[str, list[str]]:
    """experiment_id -> 'seed S (runs a, b)' for each seed with more than one finished trial (runs that combine
    without --first-seed): its mean and sd count that seed once per trial."""
    done = results[results["finished"] & results["seed"].notna()]
    out: dict[str, list[str]] = {}
    for (exp_id, seed), trials in done.groupby(["experiment_id", "seed"], sort=False):
        if len(trials) > 1:
            out.setdefault(exp_id, []).append(
                f"seed {int(seed)} ({'runs' if trials['run'].nunique() > 1 else 'run'} "
                f"{', '.join(dict.fromkeys(trials['run']))})"
            )
    return out


@dataclass
class Findings:
    """What a report says before its numbers, and how it groups experiments for its figures."""

    banner: list[str]  # empty at paper scale
    chance_trials: pd.DataFrame  # finished trials that never left chance (rows of results)
    dated: dict[str, pd.DataFrame]  # per DATED_FLAGS prefix, the finished trials it flagged (rows of results)
    finished: int
    identical: list[IdenticalGroup]
    same_seeds: dict[str, list[str]]
    repeated_seeds: dict[str, list[str]]
    sampled: list[SampledGroup]
    pairs: dict[str, list[OrderPair]]
    precision: str
    plateau: str

    @property
    def same_results_as(self) -> dict[str, str]:
        return same_results_as(self.identical)


@dataclass(frozen=True)
class DatedFlag:
    """A check that dates a trial's breakdown, and the names every output gives it: the columns the check adds to a
    trial (`<prefix>_at`, `<prefix>_after`, both in trials.csv, and `evidence`, the example the report quotes), the
    summary column counting the seeds it flagged, the words of the tables' flags column and of the console, and the
    report's flag paragraph (`heading`: `became`)."""

    check: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]
    prefix: str
    evidence: str
    column: str
    words: str
    heading: str
    became: str


DATED_FLAGS = (
    DatedFlag(
        collapse_checks,
        "collapsed",
        "collapse_evidence",
        "collapsed",
        "attention collapsed",
        "Attention collapsed",
        "ended with a where network that scores every tile (almost) alike; their final numbers are a what network's "
        "on averages of the tiles, not the method's.",
    ),
    DatedFlag(
        saturation_checks,
        "saturated",
        "saturation_evidence",
        "saturated",
        "attention saturated",
        "Attention saturated",
        "ended with a where network that puts most of its attention on one tile of every mosaic, seldom the "
        "foreground tile; their final numbers are a what network's on mostly wrong tiles, not the method's.",
    ),
    DatedFlag(
        fall_checks,
        "fell",
        "fall_evidence",
        "fell_to_chance",
        "fell back to chance",
        "Fell back to chance",
        "learned, then ended at chance; their final numbers say the networks stopped working, not what the method "
        "reaches.",
    ),
)


def dated_checks(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """The checks of DATED_FLAGS side by side (same index as `results`)."""
    return pd.concat([flag.check(results, epochs) for flag in DATED_FLAGS], axis=1)


def annotate(results: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """`results` with the per-trial checks: chance (`never_left_chance`, `chance_acc`, evidence), collapsed
    attention (`collapsed_at`, evidence), saturated attention (`saturated_at`, evidence), fell back to chance
    (`fell_at`, evidence) and `identical_to`."""
    out = results.join(chance_checks(results, epochs)).join(dated_checks(results, epochs))
    out["identical_to"] = identical_trials(out, epochs)
    return out


def findings(results: pd.DataFrame, epochs: pd.DataFrame, summary: pd.DataFrame, runs: list[dict]) -> Findings:
    """The checks over annotated `results` (see `annotate`); `summary` gains paper_<key>, changed, at_chance, the
    column of each DATED_FLAGS and same_results_as columns in place."""
    sampled = sampled_groups(summary)
    mark_paper_changes(summary, sampled)
    summary["at_chance"] = experiments_at_chance(summary, results)
    for flag in DATED_FLAGS:
        summary[flag.column] = experiments_flagged(summary, results, f"{flag.prefix}_at")
    identical = identical_experiments(summary, experiment_fingerprints(results, epochs))
    summary["same_results_as"] = summary["experiment_id"].map(same_results_as(identical))
    done = results[results["finished"]]
    return Findings(
        banner=scale_banner(summary, runs),
        chance_trials=done[done["never_left_chance"]],
        dated={flag.prefix: done[done[f"{flag.prefix}_at"].notna()] for flag in DATED_FLAGS},
        finished=len(done),
        identical=identical,
        same_seeds=identical_seeds(results),
        repeated_seeds=repeated_seeds(results),
        sampled=sampled,
        pairs=order_pairs(summary[~summary["experiment_id"].isin(sampled_ids(sampled))]),
        precision=precision_text(results),
        plateau=plateau_text(summary),
    )
