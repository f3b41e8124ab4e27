"""The report's text: the tables (frames of strings), the notes and flags, report.md, and the CSV files.
Formatting only, no files; index.html is `report_html`.

Both documents show the same tables, built once here as frames of strings (`*_table` functions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from search_spaces import NOT_PUBLISHED
from trainables.metrics import FOCUS, FOCUS_NAMES

from .aggregate import PAPER_SCALE, PLACEMENT, counted, format_diff, format_mean_std, format_value
from .report_checks import (
    ATTENDED_TIMES,
    CHANCE_Z,
    COLLAPSE_TOLERANCE,
    DATED_FLAGS,
    LOSS_TOLERANCE,
    NEAR_COLLAPSE_GE_HALF_MAX,
    NEAR_COLLAPSE_TOLERANCE,
    SATURATED_FG_MAX,
    SATURATED_FG_TIMES,
    SATURATED_SHARE,
    SETTING_COLUMNS,
    SETTING_NAMES,
    TABLE_SETTINGS,
    Findings,
    SampledGroup,
    change_text,
    collapse_window,
    format_setting,
    precision_text,
    trial_name,
)
from .results import EPOCHS_KEPT

TRAIN_ACC_NOTE = (
    "Train accuracy is a clean pass over the training mosaics after the last epoch "
    "(`final_train_acc`), which is what the paper's tables report"
)
BEST_IN_MARKDOWN = 10  # best configurations of a search listed in report.md (index.html lists every sample)


@dataclass
class ExperimentSection:
    experiment_id: str
    title: str
    figures: list  # plots.WrittenFigure
    attention: object | None = None  # plots.WrittenFigure
    note: str = ""  # why it has no figure of its own (same results as another, a search sample, ...)


@dataclass
class SearchBlock:
    """A random search's samples: their group, its figures, and its table of configurations."""

    group: SampledGroup
    figures: list  # plots.WrittenFigure


@dataclass
class ReportContent:
    """Everything a report shows; frames come from `aggregate`, checks from `report_checks`."""

    runs: list[dict]  # name, uri, space, scale, seeds, created, trials
    results: pd.DataFrame  # aggregate.trial_results, annotated by report_checks.annotate
    summary: pd.DataFrame  # aggregate.experiment_summary, with report_checks.findings' columns
    problems: pd.DataFrame  # aggregate.problems
    nodes: pd.DataFrame  # aggregate.trials_per_node
    sections: list[ExperimentSection]
    findings: Findings
    comparisons: list = field(default_factory=list)  # plots.WrittenFigure comparing experiments
    searches: list[SearchBlock] = field(default_factory=list)
    attention_notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # other files of the report (csv, md)

    def section(self, experiment_id: str) -> ExperimentSection | None:
        return next((s for s in self.sections if s.experiment_id == experiment_id), None)

    @property
    def sampled(self) -> set[str]:
        return {e for b in self.searches for e in b.group.experiments}


# -- titles ---------------------------------------------------------------------------------------------------------
def experiment_title(row: pd.Series) -> str:
    """'table1/3 (tables, smoke): what_first, k=20, 280 epochs, what lr 0.01, where lr 0.001'."""
    parts = [
        f"{row['order']}",
        f"k={int(row['k'])}",
        f"{int(row['epochs'])} epochs",
        f"what lr {row['what_lr']:g}",
        f"where lr {row['where_lr']:g}",
    ]
    if row.get("optimizer") and row["optimizer"] != "sgd":
        parts.append(str(row["optimizer"]) + (" + plateau" if row.get("plateau") else ""))
    if row.get("protocol") and row["protocol"] != "paper":
        parts.append(f"{row['protocol']} protocol")
    return f"{row['experiment_id']} ({row['space']}, {row['scale']}): {', '.join(parts)}"


# -- the paper's table ----------------------------------------------------------------------------------------------
def _changed(row: pd.Series) -> list[tuple[str, object, object]]:
    changed = row.get("changed")
    return changed if isinstance(changed, list) else []


def common_changes(part: pd.DataFrame) -> list[tuple[str, object, object]]:
    """Changes from the paper's settings that every row of a table shares, besides the table's own columns
    (e.g. a scale's mosaic counts and batch size): said once above the table instead of in every row."""
    return _shared([[c for c in _changed(r) if c[0] not in TABLE_SETTINGS] for _, r in part.iterrows()])


def _shared(changes: list[list[tuple]]) -> list[tuple]:
    """The changes that every one of the lists holds."""
    if not changes:
        return []
    return [c for c in changes[0] if all(_holds(other, c) for other in changes[1:])]


def _holds(changes: list[tuple], change: tuple) -> bool:
    return any(c[0] == change[0] and str(c[1]) == str(change[1]) and str(c[2]) == str(change[2]) for c in changes)


def paper_table(part: pd.DataFrame) -> pd.DataFrame:
    """The paper's table layout: our settings (with the paper's next to them where a scale changed them), ours
    next to the published numbers, the difference (at paper scale only), seeds and flags."""
    changed_keys = {c[0] for _, r in part.iterrows() for c in _changed(r)}
    shared = common_changes(part)
    others = {
        i: [c for c in _changed(r) if c[0] not in TABLE_SETTINGS and not _holds(shared, c)] for i, r in part.iterrows()
    }
    paper_scale = (part["scale"] == PAPER_SCALE).any() if "scale" in part else True
    published = "published" if paper_scale else "published, paper scale"
    rows = []
    for i, r in part.iterrows():
        row = {"experiment": r["experiment_id"]}
        for key in TABLE_SETTINGS:
            name = SETTING_NAMES.get(key, key)
            if key in changed_keys:
                row[f"{name} (paper)"] = _setting(r.get(f"paper_{key}"))
            row[name] = _setting(r[key])
        if any(others.values()):
            row["other changes"] = change_text(others[i]) or "-"
        for split in ("train", "test"):
            row[f"{split} acc"] = format_mean_std(r[f"{split}_acc_mean"], r[f"{split}_acc_std"], r["seeds"])
            ref = r[f"ref_{split}_acc"]
            row[f"{split} acc ({published})"] = format_value(ref) if pd.notna(ref) else NOT_PUBLISHED
            if paper_scale:
                row[f"{split} diff"] = format_diff(r[f"{split}_acc_diff"])
        row["seeds"] = _seeds_cell(r)
        row["flags"] = flags_cell(r)
        rows.append(row)
    return pd.DataFrame(rows)


def _setting(value) -> str:
    missing = value is None or (not isinstance(value, str) and pd.isna(value))
    return "-" if missing else format_setting(value)


def flags_cell(r: pd.Series) -> str:
    flags = []
    if r.get("at_chance"):
        flags.append("never left chance")
    for flag in DATED_FLAGS:
        if r.get(flag.column):
            seeds = int(r["seeds"])
            flags.append(flag.words + (f" in {int(r[flag.column])} of {seeds} seeds" if seeds > 1 else ""))
    same = r.get("same_results_as")
    if isinstance(same, str) and same:
        flags.append(f"same results as {same}")
    return "; ".join(flags) or "-"


def _seeds_cell(r: pd.Series) -> str:
    text = str(int(r["seeds"]))
    if r["not_finished"]:
        text += f" ({int(r['not_finished'])} of {int(r['trials'])} not finished)"
    return text


def search_changes(summary: pd.DataFrame, group: SampledGroup) -> list[tuple[str, object, object]]:
    """Changes from the search's own settings (its paper scale) that all its samples share."""
    samples = summary[summary["experiment_id"].isin(group.experiments)]
    return _shared([_changed(r) for _, r in samples.iterrows()])


def best_configs_table(summary: pd.DataFrame, group: SampledGroup, limit: int | None = None) -> pd.DataFrame:
    """A search's samples, best final test accuracy first: the sampled settings and what each reached."""
    samples = summary[summary["experiment_id"].isin(group.experiments)]
    samples = samples.sort_values("test_acc_mean", ascending=False, na_position="last", kind="stable")
    if limit is not None:
        samples = samples.head(limit)
    rows = []
    for rank, (_, r) in enumerate(samples.iterrows(), start=1):
        row = {"rank": str(rank)}
        row.update({key: format_setting(r[key]) for key in group.keys})
        row.update(
            {
                "epochs run": str(int(r["epochs_completed"])) if pd.notna(r.get("epochs_completed")) else "-",
                "outcome": r.get("outcomes") or "-",
                "val acc": format_mean_std(r.get("val_acc_mean"), r.get("val_acc_std"), r["seeds"]),
                "test acc": format_mean_std(r["test_acc_mean"], r["test_acc_std"], r["seeds"]),
                "train acc": format_mean_std(r["train_acc_mean"], r["train_acc_std"], r["seeds"]),
                "test FTPT": format_mean_std(r["test_ftpt_mean"], r["test_ftpt_std"], r["seeds"], show_n=False),
                "seeds": _seeds_cell(r),
                "flags": flags_cell(r),
                "experiment": r["experiment_id"],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def focus_table(summary: pd.DataFrame) -> pd.DataFrame:
    """FTPT / FFPT / FTPF / FFPF at the final epoch, train and test: a row of ours per experiment, followed by a
    row of published values where they exist."""
    columns = {(split, f): f"{split} {FOCUS_NAMES[f]}" for split in ("train", "test") for f in FOCUS}
    rows = []
    for _, r in summary.iterrows():
        rows.append(
            {
                "experiment": r["experiment_id"],
                "numbers": "ours",
                **{
                    name: format_mean_std(r[f"{split}_{f}_mean"], r[f"{split}_{f}_std"], r["seeds"], show_n=False)
                    for (split, f), name in columns.items()
                },
            }
        )
        published = {name: r.get(f"ref_{split}_{f}") for (split, f), name in columns.items()}
        if any(pd.notna(v) for v in published.values()):
            rows.append(
                {
                    "experiment": r["experiment_id"],
                    "numbers": "published",
                    **{name: format_value(v) for name, v in published.items()},
                }
            )
    return pd.DataFrame(rows, columns=["experiment", "numbers", *columns.values()])


def problems_table(problems: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "experiment": problems["experiment_id"],
            "seed": problems["seed"].map(lambda s: "-" if pd.isna(s) else str(int(s))),
            "run": problems["run"],
            "trial": problems["trial_id"],
            "status": problems["status"].fillna("-"),
            "outcome": problems["outcome"].fillna("-"),
            "epochs": problems["epochs_completed"].map(str),
            "error": problems["problem"],
        }
    )


def trials_table(results: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "experiment": results["experiment_id"],
            "seed": results["seed"].map(lambda s: "-" if pd.isna(s) else str(int(s))),
            "status": results["status"].fillna("-"),
            "outcome": results["outcome"].fillna("-"),
            "epochs": results["epochs_completed"].map(str),
            "train acc": results["train_acc_final"].map(format_value),
            "test acc": results["test_acc"].map(format_value),
            "host": results["hostname"].fillna("-") if "hostname" in results else "-",
            "wall s": results["wall_s"].map(lambda v: format_value(v, 0)) if "wall_s" in results else "-",
            "flags": [trial_flags(r) for _, r in results.iterrows()],
            "trial": results["trial_id"],
        }
    )


def trial_flags(trial: pd.Series) -> str:
    flags = ["never left chance"] if trial.get("never_left_chance") is True else []
    for flag in DATED_FLAGS:
        if pd.notna(trial.get(f"{flag.prefix}_at")):
            at = int(trial[f"{flag.prefix}_at"])
            first, _ = collapse_window(at, trial.get(f"{flag.prefix}_after"))
            flags.append(f"{flag.words} {f'at epoch {at}' if first == at else f'by epoch {at}'}")
    same = trial.get("identical_to")
    if isinstance(same, str) and same and same != trial_name(trial):
        flags.append(f"same results as {same}")
    return "; ".join(flags) or "-"


def nodes_table(nodes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "node_id": nodes["node_id"].map(lambda s: s[:16] + "..." if len(s) > 19 else s),
            "node_ip": nodes["node_ip"],
            "hostname": nodes["hostname"],
            "device": nodes["device"],
            "trials": nodes["trials"].map(str),
            "finished": nodes["finished"].map(str),
            "epochs": nodes["epochs"].map(str),
            "trial time s": nodes["wall_s"].map(lambda v: format_value(v, 0)),
        }
    )


def tables_by_space(summary: pd.DataFrame) -> list[tuple[str, list[tuple[str, pd.DataFrame]]]]:
    """[(space, [(table name, its rows of summary)])]: a space's rows split by label prefix (table1, table2)."""
    out = []
    for space, rows in summary.groupby("space", sort=False):
        prefix = rows["experiment"].str.split("/").str[0]
        parts = []
        for name, part in rows.groupby(prefix, sort=False):
            orders = part["order"].unique()
            parts.append((f"{name} ({orders[0]})" if len(orders) == 1 else name, part))
        out.append((space, parts))
    return out


# -- what the numbers mean ------------------------------------------------------------------------------------------
def train_acc_note(summary: pd.DataFrame) -> str:
    fallback = summary[
        summary["train_acc_source"].str.contains("train_acc") & ~summary["train_acc_source"].eq("final_train_acc")
    ]
    note = (
        TRAIN_ACC_NOTE + ", not the running accuracy during the training pass (`train_acc`, the curves' "
        "'train (during training)')."
    )
    if not fallback.empty:
        note += (
            " Where a trial has no clean pass (it has not finished), its running train accuracy of the last "
            f"epoch (`train_acc`) is used instead: {', '.join(fallback['experiment_id'])}."
        )
    return note


def reading_notes(content: ReportContent) -> list[str]:
    """How to read the numbers: which train accuracy, the arithmetic, the schedulers, spreads, chance."""
    f = content.findings
    return [
        train_acc_note(content.summary),
        f"Precision: {f.precision}.",
        f.plateau,
        "Several seeds: mean ± sample standard deviation over the finished seeds (n); error bars on the figures "
        "of final accuracies are ±2 sd. Accuracies are fractions. diff = ours minus published, at paper scale only.",
        f"Chance: a trial never left chance when its test accuracy stayed within 1/classes ± {CHANCE_Z:g} binomial "
        f"standard deviations (over its test mosaics) at every epoch, its final test loss is within "
        f"{LOSS_TOLERANCE:g} of ln(classes), and its attention is uniform (mean alpha on the foreground tile "
        "≈ 1/tiles, almost no mosaic with a largest alpha >= 0.5). Dotted lines on the figures mark chance.",
        "Collapsed attention: a trial's attention collapsed when its mean alpha on the foreground tile became "
        f"1/tiles to within {NEAR_COLLAPSE_TOLERANCE:g}, with at most {NEAR_COLLAPSE_GE_HALF_MAX:g} of its test "
        "mosaics at a largest alpha >= 0.5, at some epoch and stayed so to the last, through at least one epoch that "
        f"trained the where network, either exactly (to within {COLLAPSE_TOLERANCE:g}, no such mosaic) at the last "
        f"or after a foreground alpha of at least {ATTENDED_TIMES:g}/tiles (a where network that never attended is "
        "not flagged): the where network scores every tile (almost) alike, as when every unit (all but a few) of "
        "one of its hidden layers is dead and no gradient revives them, and the what network learns from plain "
        "averages of the tiles. On a published copy that kept only phase ends, the collapse came between the epoch "
        "given and the kept epoch before it.",
        "Saturated attention: a trial's attention saturated when at least "
        f"{SATURATED_SHARE:g} of its test mosaics had a largest alpha >= 0.5 while the mean alpha on the foreground "
        f"tile was at most {SATURATED_FG_TIMES:g}/tiles (and at most {SATURATED_FG_MAX:g}), at some epoch and stayed "
        "so to the last, through at least one epoch that trained the where network: the where network puts most of "
        "its attention on one tile of every mosaic, seldom the foreground one, a softmax saturated this far passes "
        "almost no gradient back, and the what network sees mostly wrong tiles. On a copy that kept only phase ends, "
        "it saturated between the epoch given and the kept epoch before it.",
        "Fell back to chance: a trial fell back to chance when, after an epoch with a test accuracy above the chance "
        "band, its test accuracy was in the band and its test loss within "
        f"{LOSS_TOLERANCE:g} of ln(classes) at some epoch and stayed so to the last: its networks stopped working "
        "(e.g. a what network with every unit of a hidden layer dead answers one class whatever the mosaic), and "
        "its final numbers are chance's. On a copy that kept only phase ends, it fell between the epoch given and "
        "the kept epoch before it.",
    ]


def flag_lines(content: ReportContent) -> list[str]:
    """The report's warnings, most important first; [] when there is nothing to flag."""
    f, out = content.findings, []
    if len(f.chance_trials):
        ids = list(dict.fromkeys(f.chance_trials["experiment_id"]))
        every = "all" if len(f.chance_trials) == f.finished else f"{len(f.chance_trials)} of"
        example = f.chance_trials.iloc[0]
        which = "" if every == "all" else f" ({_list(ids)})"
        out.append(
            f"Never left chance: {every} {f.finished} finished trials{which}. Their numbers show that "
            f"the plumbing ran, not what the method does. E.g. {example['experiment_id']}: "
            f"{example['chance_evidence']}."
        )
    for flag in DATED_FLAGS:
        trials = f.dated[flag.prefix]
        if len(trials):
            example = trials.iloc[0]
            out.append(
                f"{flag.heading}: {len(trials)} of {f.finished} finished trials "
                f"({_list([trial_name(t) for _, t in trials.iterrows()])}) {flag.became} E.g. "
                f"{trial_name(example)}: {example[flag.evidence]}."
            )
    for g in f.identical:
        why = (
            f"although they differ in {', '.join(g.differing)}: that made no difference here"
            if g.differing
            else "they ran with the same settings (the scale made these rows one configuration)"
        )
        out.append(f"Identical results, every metric at every epoch: {_list(g.experiments)}; {why}.")
    for exp_id, trials in f.same_seeds.items():
        out.append(f"Seeds with identical results in {exp_id}: {_list(trials)}; the seed had no effect.")
    for exp_id, seeds in f.repeated_seeds.items():
        out.append(
            f"The same seed more than once in {exp_id}: {_list(seeds)}; its mean and sd count that seed once per "
            "trial. New seeds for an experiment run before: `mosaic-sweep run ... --first-seed N`."
        )
    if not content.problems.empty:
        out.append(
            f"{len(content.problems)} of {len(content.results)} trials did not finish; their numbers are left "
            "out (see 'Trials that did not finish')."
        )
    return out


def _list(items, limit: int = 12) -> str:
    items = list(items)
    return ", ".join(items) if len(items) <= limit else ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def all_finished_text(content: ReportContent) -> str:
    n = len(content.results)
    return f"None: {'the' if n == 1 else 'all'} {counted(n, 'trial')} finished."


def runs_lines(content: ReportContent) -> list[str]:
    lines = []
    for r in content.runs:
        first = r.get("first_seed") or 0
        seeds = f", {counted(r['seeds'], 'seed')}" if r.get("seeds") else ""
        seeds += f" from seed {first}" if first else ""
        only = f", only {r['only']}" if r.get("only") else ""
        kept = (r.get("published") or {}).get("epochs")
        if kept:
            every = kept == EPOCHS_KEPT["every_epoch"]
            only += ", a published copy" + (" with every epoch" if every else ": epochs at phase ends only")
        lines.append(
            f"run `{r['name']}`: space `{r.get('space') or '?'}` at scale `{r.get('scale') or '?'}`"
            f"{seeds}{only}, {counted(r['trials'], 'trial')}, created {r.get('created') or '?'} ({r['uri']})"
        )
    return lines


def table_note(content: ReportContent, part: pd.DataFrame) -> str:
    """Under each table: which train accuracy it compares, and the arithmetic its trials used."""
    mine = content.results[content.results["experiment_id"].isin(part["experiment_id"])]
    sources = set("+".join(part["train_acc_source"].fillna("")).split("+")) - {""}
    train = (
        "train acc: clean pass over the training mosaics after the last epoch (`final_train_acc`)"
        if sources <= {"final_train_acc"}
        else "train acc: clean pass after the last epoch where finished, else the running `train_acc` (see below)"
    )
    return f"{train}; precision: {precision_text(mine)}."


def table_parts(content: ReportContent) -> list[tuple[str, list[tuple[str, pd.DataFrame]]]]:
    """The paper-layout tables: every experiment but a search's samples."""
    return tables_by_space(content.summary[~content.summary["experiment_id"].isin(content.sampled)])


# -- markdown -------------------------------------------------------------------------------------------------------
def markdown_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "_none_\n"
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    lines = [
        "| " + " | ".join(cell(c) for c in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _md_figure(fig) -> str:
    return f"![{fig.caption}]({fig.path})"


def render_markdown(content: ReportContent) -> str:
    out = [f"# Report: {', '.join(r['name'] for r in content.runs)}", ""]
    out += [f"- {line}" for line in runs_lines(content)] + [""]
    out += [f"> **{line}**" if i == 0 else f"> {line}" for i, line in enumerate(content.findings.banner)]
    out += [""] if content.findings.banner else []
    flags = flag_lines(content)
    if flags:
        out += ["## Flags", ""] + [f"- {line}" for line in flags] + [""]
    out += [
        "Figures and attention pictures: [index.html](index.html). Table as CSV: [summary.csv](summary.csv); "
        "one row per trial: [trials.csv](trials.csv).",
        "",
    ]
    out += _markdown_tables(content)
    out += _markdown_searches(content)
    if content.comparisons:
        out += ["## Comparisons", ""]
        out += [f"{fig.caption}:\n\n{_md_figure(fig)}\n" for fig in content.comparisons]
    out += ["## What the numbers mean", ""] + [f"- {line}" for line in reading_notes(content)] + [""]
    out += _markdown_focus(content)
    out += _markdown_figures(content)
    out += ["## Trials that did not finish", ""]
    if content.problems.empty:
        out += [all_finished_text(content), ""]
    else:
        out += [
            f"{len(content.problems)} of {len(content.results)} trials did not finish; their numbers are left "
            "out of the tables above.",
            "",
            markdown_table(problems_table(content.problems)),
        ]
    out += ["## All trials", "", markdown_table(trials_table(content.results))]
    out += ["## Trials per node", "", markdown_table(nodes_table(content.nodes))]
    out += ["## Attention pictures", ""] + [f"- {n}" for n in content.attention_notes] + [""]
    return "\n".join(out)


def _markdown_tables(content: ReportContent) -> list[str]:
    out = []
    for space, parts in table_parts(content):
        out += [f"## Space `{space}`", ""]
        for name, part in parts:
            out += [f"### {name}", ""]
            out += [*_ran_with(common_changes(part)), markdown_table(paper_table(part)), table_note(content, part), ""]
    return out


def ran_with(changes: list, who: str = "Every row") -> str:
    return f"{who} ran with {change_text(changes)}." if changes else ""


def _ran_with(changes: list, who: str = "Every row") -> list[str]:
    return [ran_with(changes, who), ""] if changes else []


def _markdown_searches(content: ReportContent) -> list[str]:
    out = []
    for block in content.searches:
        g = block.group
        out += [
            f"## Search `{g.name}`: best configurations",
            "",
            f"{len(g.experiments)} samples of {', '.join(g.keys)}; the {min(BEST_IN_MARKDOWN, len(g.experiments))} "
            "with the best final test accuracy (every sample: index.html, summary.csv).",
            "",
            *_ran_with(search_changes(content.summary, g), "Every sample"),
            markdown_table(best_configs_table(content.summary, g, BEST_IN_MARKDOWN)),
        ]
        out += [f"{fig.caption}:\n\n{_md_figure(fig)}\n" for fig in block.figures]
    return out


def _markdown_focus(content: ReportContent) -> list[str]:
    plain = content.summary[~content.summary["experiment_id"].isin(content.sampled)]
    if plain.empty:
        return []
    return [
        "## Focus outcomes at the final epoch",
        "",
        "F/P: focus (largest alpha on the foreground slot) / prediction, True or False; shares of mosaics.",
        "",
        markdown_table(focus_table(plain)),
    ]


def _markdown_figures(content: ReportContent) -> list[str]:
    lines = []
    for s in content.sections:
        links = [f"[{s.title}]({fig.path})" for fig in s.figures]
        links += [f"[attention]({s.attention.path})"] if s.attention is not None else []
        if links:
            lines.append(f"- {' · '.join(links)}" + (f" ({s.note})" if s.note else ""))
    return ["## Figures per experiment", ""] + lines + [""] if lines else []


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


# -- CSV files ------------------------------------------------------------------------------------------------------
SUMMARY_COLUMNS = (
    [
        "space",
        "scale",
        "experiment_id",
        "experiment",
        *SETTING_COLUMNS,
        *(f"paper_{k}" for k in TABLE_SETTINGS),
        "changed_from_paper",
        "trials",
        "seeds",
        "seed_list",
        "not_finished",
        "epochs_completed",
        "outcomes",
        "train_acc_mean",
        "train_acc_std",
        "train_acc_source",
        "ref_train_acc",
        "train_acc_diff",
        "test_acc_mean",
        "test_acc_std",
        "ref_test_acc",
        "test_acc_diff",
        "ref_source",
        "val_acc_mean",
        "val_acc_std",
    ]
    + [f"{split}_{f}_{stat}" for split in ("train", "test") for f in FOCUS for stat in ("mean", "std")]
    + [f"ref_{split}_{f}" for split in ("train", "test") for f in FOCUS]
    + ["at_chance", *(flag.column for flag in DATED_FLAGS), "same_results_as", "failures"]
)


def summary_csv(summary: pd.DataFrame) -> pd.DataFrame:
    table = summary.assign(changed_from_paper=[change_text(_changed(r)) for _, r in summary.iterrows()])
    table = table.reindex(columns=SUMMARY_COLUMNS)
    table["ref_source"] = table["ref_source"].fillna(NOT_PUBLISHED)
    return table


TRIAL_COLUMNS = (
    [
        "run",
        "space",
        "scale",
        "experiment_id",
        "experiment",
        "trial_id",
        "seed",
        *SETTING_COLUMNS,
        "status",
        "outcome",
        "finished",
        "error",
        "epochs_completed",
        "train_acc_final",
        "train_acc_source",
        "test_acc",
        "val_acc",
        "train_loss",
        "test_loss",
    ]
    + [f"test_{f}" for f in FOCUS]
    + [
        "test_alpha_ge_half",
        "test_fg_alpha",
        "chance_acc",
        "never_left_chance",
        *(f"{flag.prefix}_{when}" for flag in DATED_FLAGS for when in ("at", "after")),
        "identical_to",
    ]
    + ["ref_train_acc", "ref_test_acc", "wall_s"]
    + PLACEMENT
)


def trials_csv(results: pd.DataFrame) -> pd.DataFrame:
    return results.reindex(columns=TRIAL_COLUMNS)
