"""The report's text: report.md and index.html from the aggregated frames. Formatting only, no files.

Both documents show the same tables, built once here as frames of strings (`*_table` functions).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

from search_spaces import NOT_PUBLISHED
from trainables.metrics import FOCUS, FOCUS_NAMES

from .aggregate import PLACEMENT, SETTINGS, format_diff, format_mean_std, format_value

TRAIN_ACC_NOTE = (
    "Train accuracy is a clean pass over the training mosaics after the last epoch "
    "(`final_train_acc`), which is what the paper's tables report"
)


@dataclass
class ExperimentSection:
    experiment_id: str
    title: str
    figures: list  # plots.WrittenFigure
    attention: object | None = None  # plots.WrittenFigure


@dataclass
class ReportContent:
    """Everything a report shows; frames come from `aggregate`."""

    runs: list[dict]  # name, uri, space, scale, seeds, created, trials
    results: pd.DataFrame  # aggregate.trial_results
    summary: pd.DataFrame  # aggregate.experiment_summary
    problems: pd.DataFrame  # aggregate.problems
    nodes: pd.DataFrame  # aggregate.trials_per_node
    sections: list[ExperimentSection]
    comparison: object | None  # plots.WrittenFigure
    attention_notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # other files of the report (csv, md)


# -- titles ---------------------------------------------------------------------------------------------------
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


# -- tables (frames of strings) -------------------------------------------------------------------------------
def paper_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's table layout, ours next to the published numbers and the difference."""
    rows = []
    for _, r in summary.iterrows():
        published = pd.notna(r["ref_test_acc"])
        rows.append(
            {
                "experiment": r["experiment_id"],
                "total epochs": str(int(r["epochs"])),
                "k": str(int(r["k"])),
                "what lr": f"{r['what_lr']:g}",
                "where lr": f"{r['where_lr']:g}",
                "train acc": format_mean_std(r["train_acc_mean"], r["train_acc_std"], r["seeds"]),
                "train acc (paper)": format_value(r["ref_train_acc"])
                if pd.notna(r["ref_train_acc"])
                else NOT_PUBLISHED,
                "train diff": format_diff(r["train_acc_diff"]),
                "test acc": format_mean_std(r["test_acc_mean"], r["test_acc_std"], r["seeds"]),
                "test acc (paper)": format_value(r["ref_test_acc"]) if published else NOT_PUBLISHED,
                "test diff": format_diff(r["test_acc_diff"]),
                "seeds": _seeds_cell(r),
            }
        )
    return pd.DataFrame(rows)


def _seeds_cell(r: pd.Series) -> str:
    text = str(int(r["seeds"]))
    if r["not_finished"]:
        text += f" ({int(r['not_finished'])} of {int(r['trials'])} not finished)"
    return text


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
            "trial": results["trial_id"],
        }
    )


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


def train_acc_note(summary: pd.DataFrame) -> str:
    fallback = summary[
        summary["train_acc_source"].str.contains("train_acc") & ~summary["train_acc_source"].eq("final_train_acc")
    ]
    note = TRAIN_ACC_NOTE + "."
    if not fallback.empty:
        note += (
            " Where a trial has no clean pass (it has not finished), its running train accuracy of the last "
            f"epoch (`train_acc`) is used instead: {', '.join(fallback['experiment_id'])}."
        )
    return note


# -- markdown ---------------------------------------------------------------------------------------------------
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


def render_markdown(content: ReportContent) -> str:
    out = [f"# Report: {', '.join(r['name'] for r in content.runs)}", ""]
    out += _runs_lines(content) + [""]
    out += [
        "Figures and attention pictures: [index.html](index.html). Table as CSV: [summary.csv](summary.csv); "
        "one row per trial: [trials.csv](trials.csv).",
        "",
    ]
    for space, parts in tables_by_space(content.summary):
        out += [f"## Space `{space}`", ""]
        for name, part in parts:
            out += [f"### {name}", "", markdown_table(paper_table(part))]
        out += [
            train_acc_note(content.summary[content.summary["space"] == space]) + " "
            "Where several seeds ran: mean ± sample standard deviation over the finished seeds (n). "
            "diff = ours minus published. Accuracies are fractions.",
            "",
        ]
        out += [
            "#### Focus outcomes at the final epoch",
            "",
            "F/P: focus (largest alpha on the foreground slot) / prediction, True or False; shares of mosaics.",
            "",
            markdown_table(focus_table(content.summary[content.summary["space"] == space])),
        ]
    if content.comparison is not None:
        out += [
            "## Final test accuracy, ours vs published",
            "",
            f"![{content.comparison.caption}]({content.comparison.path})",
            "",
        ]
    out += ["## Trials that did not finish", ""]
    if content.problems.empty:
        out += [f"None: all {len(content.results)} trials finished.", ""]
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


def _runs_lines(content: ReportContent) -> list[str]:
    lines = []
    for r in content.runs:
        seeds = f", seeds {r['seeds']}" if r.get("seeds") else ""
        only = f", only {r['only']}" if r.get("only") else ""
        lines.append(
            f"- run `{r['name']}`: space `{r.get('space') or '?'}` at scale `{r.get('scale') or '?'}`"
            f"{seeds}{only}, {r['trials']} trials, created {r.get('created') or '?'} ({r['uri']})"
        )
    return lines


# -- html -----------------------------------------------------------------------------------------------------
CSS = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1500px; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.figures { display: flex; flex-wrap: wrap; gap: 6px; }
.figures figure { margin: 0; width: 49%; } .figures img { width: 100%; }
figcaption { font-size: 0.8em; color: #555; }
section.experiment { border-top: 2px solid #ddd; margin-top: 1.5em; }
.note { color: #555; font-size: 0.9em; }
"""


def html_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "<p><em>none</em></p>"
    return table.to_html(index=False, escape=True, border=0)


def _figure(fig, width: str | None = None) -> str:
    style = f' style="width:{width}"' if width else ""
    return (
        f'<figure{style}><a href="{html.escape(fig.path)}"><img src="{html.escape(fig.path)}" '
        f'alt="{html.escape(fig.caption)}"></a><figcaption>{html.escape(fig.caption)}</figcaption></figure>'
    )


def render_html(content: ReportContent) -> str:
    e = html.escape
    names = ", ".join(r["name"] for r in content.runs)
    out = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report: {e(names)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Report: {e(names)}</h1><ul>",
    ]
    out += [f"<li>{_inline(line[2:])}</li>" for line in _runs_lines(content)]
    out.append("</ul><p>" + " · ".join(f'<a href="{e(f)}">{e(f)}</a>' for f in content.files) + "</p>")
    out.append(
        "<h2>Contents</h2><ul>"
        + "".join(f'<li><a href="#{_anchor(s.experiment_id)}">{e(s.title)}</a></li>' for s in content.sections)
        + "</ul>"
    )
    for space, parts in tables_by_space(content.summary):
        out.append(f"<h2>Space {e(space)}</h2>")
        for name, part in parts:
            out += [f"<h3>{e(name)}</h3>", html_table(paper_table(part))]
        out.append(
            f"<p class='note'>{_inline(train_acc_note(content.summary[content.summary['space'] == space]))} "
            "Several seeds: mean ± sample sd over the finished seeds (n). diff = ours minus published.</p>"
        )
        out += [
            "<h4>Focus outcomes at the final epoch</h4>",
            html_table(focus_table(content.summary[content.summary["space"] == space])),
        ]
    if content.comparison is not None:
        out += ["<h2>Final test accuracy, ours vs published</h2>", _figure(content.comparison, "100%")]
    out.append("<h2>Trials that did not finish</h2>")
    out.append(
        f"<p>None: all {len(content.results)} trials finished.</p>"
        if content.problems.empty
        else html_table(problems_table(content.problems))
    )
    for s in content.sections:
        out.append(
            f'<section class="experiment" id="{_anchor(s.experiment_id)}"><h2>{e(s.title)}</h2>'
            '<div class="figures">' + "".join(_figure(f) for f in s.figures) + "</div>"
        )
        if s.attention is not None:
            out += ["<h3>Attention</h3>", _figure(s.attention, "70%")]
        out.append("</section>")
    out += [
        "<h2>All trials</h2>",
        html_table(trials_table(content.results)),
        "<h2>Trials per node</h2>",
        html_table(nodes_table(content.nodes)),
        "<h2>Attention pictures</h2><ul>"
        + "".join(f"<li>{e(n)}</li>" for n in content.attention_notes)
        + "</ul></body></html>",
    ]
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escaped text with markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def _anchor(experiment_id: str) -> str:
    return "exp-" + "".join(c if c.isalnum() else "-" for c in experiment_id)


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


# -- CSV files ----------------------------------------------------------------------------------------------------
# The settings of an experiment: every config key but the seeds (TrainConfig owns the list).
SETTING_COLUMNS = [k for k in SETTINGS if k not in ("scale", "experiment")]
SUMMARY_COLUMNS = (
    [
        "space",
        "scale",
        "experiment_id",
        "experiment",
        *SETTING_COLUMNS,
        "trials",
        "seeds",
        "seed_list",
        "not_finished",
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
    ]
    + [f"{split}_{f}_{stat}" for split in ("train", "test") for f in FOCUS for stat in ("mean", "std")]
    + [f"ref_{split}_{f}" for split in ("train", "test") for f in FOCUS]
    + ["failures"]
)


def summary_csv(summary: pd.DataFrame) -> pd.DataFrame:
    table = summary.reindex(columns=SUMMARY_COLUMNS).copy()
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
        "train_loss",
        "test_loss",
    ]
    + [f"test_{f}" for f in FOCUS]
    + ["test_alpha_ge_half", "ref_train_acc", "ref_test_acc", "wall_s"]
    + PLACEMENT
)


def trials_csv(results: pd.DataFrame) -> pd.DataFrame:
    return results.reindex(columns=TRIAL_COLUMNS)
