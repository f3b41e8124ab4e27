"""The README's "Results" section, generated from the committed runs in results/published/.

`results_section(root)` reads the run folders under <root>/results/published/ (Parquet, run.json) and the
provenance table of results/published/README.md and returns the section's markdown: Tables 1 and 2 at paper
scale, ours against the published numbers, a verdict per row, the figures of the committed report, and how it
was all made. `python -m orchestrator.published` writes it into README.md between the markers; `--check` only
compares (exit 1 when README.md is out of date).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd

from search_spaces import get_space
from trainables.metrics import FOCUS

from .aggregate import (
    best_trials,
    counted,
    experiment_summary,
    format_diff,
    format_mean_std,
    format_value,
    has,
    once_per_pack,
    trial_results,
)
from .report_checks import DATED_FLAGS, collapse_window, dated_checks
from .report_figures import ORDERS_FIGURE, PUBLISHED_FIGURE
from .report_text import file_stems
from .results import read_runs

START, END = "<!-- results:start -->", "<!-- results:end -->"
PUBLISHED = Path("results") / "published"
REPORT = PUBLISHED / "report"
TABLES = ("table1", "table2")


def run_folders(root: Path) -> list[Path]:
    """The published run folders (those holding run.json), in name order."""
    return sorted(p for p in (root / PUBLISHED).iterdir() if p.is_dir() and (p / "run.json").is_file())


def provenance(root: Path) -> dict[str, dict[str, str]]:
    """results/published/README.md's provenance table: folder -> {command, code, machine, wall}."""
    rows, header = {}, None
    for line in (root / PUBLISHED / "README.md").read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if header is None:
            header = [c.lower() for c in cells]
        elif "folder" in header and not set(line) <= set("|- "):
            row = dict(zip(header, cells))
            rows[row["folder"].strip("`")] = row
    return rows


def published_summary(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trial results, experiment summary) of the Table 1 and 2 trials at paper scale of all published runs."""
    folders = run_folders(root)
    runs = read_runs([str(f) for f in folders], str(root / PUBLISHED))
    for folder, run in zip(folders, runs):
        run.trials["folder"], run.epochs["folder"] = folder.name, folder.name
    epochs = pd.concat([r.epochs for r in runs], ignore_index=True)
    results = trial_results(pd.concat([r.trials for r in runs], ignore_index=True), epochs)
    labels = {e.label for t in TABLES for e in get_space(t).experiments}
    results = results[
        results["experiment"].isin(labels) & (results["scale"] == "paper") & (results["protocol"] == "paper")
    ].reset_index(drop=True)
    results = results.join(dated_checks(results, epochs))
    summary = experiment_summary(results) if not results.empty else pd.DataFrame()
    if not summary.empty:
        for at in (flag.prefix for flag in DATED_FLAGS):
            flagged = results[results["finished"] & results[f"{at}_at"].notna()].groupby("experiment")
            summary[f"{at}_when"] = summary["experiment"].map({e: _flagged_epochs(t, at) for e, t in flagged})
    if not summary.empty and summary["experiment"].duplicated().any():
        twice = sorted(summary.loc[summary["experiment"].duplicated(), "experiment"])
        raise ValueError(f"published runs hold {', '.join(twice)} with differing settings; publish one setting per row")
    return results, summary


def _cell(row, name: str) -> str:
    n = int(row["seeds"])
    text = format_mean_std(row[f"{name}_mean"], row[f"{name}_std"], n)
    return f"{text} (n=1, no sd)" if n == 1 else text  # "(n=2)" and up: format_mean_std


def _verdict(row, ref_train, ref_test) -> str:
    n = int(row["seeds"])
    if n == 1:
        return (
            f"1 seed: no sd yet, ours − published = {format_diff(row['test_acc_mean'] - ref_test)} test, "
            f"{format_diff(row['train_acc_mean'] - ref_train)} train"
        )
    parts = []
    for split, ref in (("test", ref_test), ("train", ref_train)):
        mean, sd = row[f"{split}_acc_mean"], row[f"{split}_acc_std"]
        lo, hi = mean - 2 * sd, mean + 2 * sd
        inside = "inside" if lo <= ref <= hi else "NOT inside"
        parts.append(
            f"{split}: published {ref:g} {inside} our mean ± 2 sd [{lo:.3f}, {hi:.3f}] "
            f"(ours − published = {format_diff(mean - ref)})"
        )
    return f"{n} seeds: " + "; ".join(parts)


def _focus(row) -> str:
    """Where a row's test accuracy comes from, measured: test accuracy = FTPT + FFPT, split by whether the
    attention's largest alpha is on the foreground tile (means over the row's seeds)."""
    ftpt, ffpt, ftpf, ffpf = (float(row[f"test_{f}_mean"]) for f in FOCUS)
    on, off = ftpt + ftpf, ffpt + ffpf
    right_on = format_value(ftpt / on) if on > 0 else "-"
    right_off = format_value(ffpt / off) if off > 0 else "-"
    uniform = 1 / int(row["grid"]) ** 2
    return (
        f"test accuracy {format_value(ftpt + ffpt)} = FTPT {format_value(ftpt)} + FFPT {format_value(ffpt)}: "
        f"attention on the foreground tile in {format_value(on)} of the test mosaics, the what network right on "
        f"{right_on} of those and on {right_off} of the rest; mean alpha on the foreground tile "
        f"{format_value(row['test_fg_alpha_mean'])} (uniform attention: {format_value(uniform)}), largest alpha "
        f">= 0.5 in {format_value(row['test_alpha_ge_half_mean'])} of the test mosaics"
    )


def _flagged_epochs(trials: pd.DataFrame, at: str) -> list[str]:
    """When each of `trials` was flagged by the DATED_FLAGS of prefix `at` ("collapsed", "saturated", "fell"): 'at
    epoch E', or 'between epochs A and E' on a copy that kept phase ends only."""
    out = []
    for _, t in trials.sort_values(f"{at}_at").iterrows():
        first, epoch = collapse_window(int(t[f"{at}_at"]), t[f"{at}_after"])
        out.append(f"at epoch {epoch}" if first == epoch else f"between epochs {first} and {epoch}")
    return out


# The sentence a Table row's verdict gains when some of its seeds were flagged (DATED_FLAGS prefix: opening, ending).
FLAG_SENTENCES = {
    "collapsed": (  # report_checks.collapse_checks
        " The attention collapsed to uniform",
        ": the where network stopped telling the tiles apart, so the final numbers are a what network's on averages "
        "of the tiles.",
    ),
    "saturated": (  # report_checks.saturation_checks
        " The attention saturated on one tile away from the foreground",
        ": the where network puts most of its attention on one tile of every mosaic, seldom the foreground tile, and "
        "a softmax saturated this far passes almost no gradient back, so the final numbers are a what network's on "
        "mostly wrong tiles.",
    ),
    "fell": (  # report_checks.fall_checks
        " The test accuracy fell back to chance",
        " (test loss at ln(classes)): the networks stopped working, so the final numbers are chance's, not the "
        "method's.",
    ),
}


def _flags(row) -> str:
    """' The attention collapsed ... at epoch E and stayed ...' and the like: one sentence per flag of the row."""
    out = ""
    for flag in DATED_FLAGS:
        opening, ending = FLAG_SENTENCES[flag.prefix]
        epochs = row.get(f"{flag.prefix}_when")
        if isinstance(epochs, list) and epochs:
            seeds = int(row["seeds"])
            share = f" (in {len(epochs)} of {seeds} seeds)" if seeds > 1 else ""
            out += f"{opening} {'; '.join(_counted(epochs))} and stayed{share}{ending}"
    return out


def _counted(phrases: list[str]) -> list[str]:
    """Each distinct phrase once, in order, with how many seeds it stands for when more than one (phase ends only
    date two seeds alike: 'between epochs 251 and 300 (2 seeds)')."""
    return [p if n == 1 else f"{p} ({n} seeds)" for p, n in Counter(phrases).items()]


def _row(summary: pd.DataFrame, label: str):
    """The summary row of experiment `label`, or None when it has not run."""
    match = summary[summary["experiment"] == label] if not summary.empty else summary
    return match.iloc[0] if len(match) else None


def _seeds(row) -> int:
    return int(row["seeds"]) if row is not None else 0


def _absent(row) -> str:
    """What a row's cell says when it has no finished seed."""
    return "not run yet" if row is None else "no finished seed yet"


def _order_effect(where_first, what_first) -> str:
    """'where first − what first = ...': a Table 2 row against Table 1's row of the same settings, both ours (the
    write-up has no Table 2 to compare with)."""
    n_where, n_what = int(where_first["seeds"]), int(what_first["seeds"])
    if n_where == n_what:
        seeds = f"{counted(n_where, 'seed')} each"
    else:
        seeds = f"{counted(n_where, 'seed')} where first, {n_what} what first"
    return (
        f"where first − what first (Table 1's row, ours) = "
        f"{format_diff(where_first['test_acc_mean'] - what_first['test_acc_mean'])} test, "
        f"{format_diff(where_first['train_acc_mean'] - what_first['train_acc_mean'])} train ({seeds})"
    )


def _table(space: str, summary: pd.DataFrame) -> tuple[list[str], str, list[str]]:
    """The markdown table of one space (every row, run or not), the line introducing its verdicts, and the verdict
    lines. Table 2 has no published numbers: its rows stand beside Table 1's row of the same settings (ours), the
    other training order."""
    published = space == "table1"
    head = ["exp", "total epochs", "k", "what lr", "where lr", "train acc (ours)"]
    if published:
        head += ["train acc (published)", "test acc (ours)", "test acc (published)"]
    else:
        head += ["test acc (ours)", "test acc, what first (Table 1, ours)"]
    lines = ["| " + " | ".join(head + ["seeds"]) + " |", "|" + "---|" * (len(head) + 1)]
    verdicts, compared = [], False
    for exp in get_space(space).experiments:
        v, ref = exp.values, exp.reference
        number = exp.label.split("/")[-1]
        row = _row(summary, exp.label)
        seeds, absent = _seeds(row), _absent(row)
        train = _cell(row, "train_acc") if seeds else absent
        test = _cell(row, "test_acc") if seeds else absent
        cells = [number, str(v["epochs"]), str(v["k"]), f"{v['what_lr']:g}", f"{v['where_lr']:g}", train]
        other = None if published else _row(summary, f"table1/{number}")
        if published:
            cells += [f"{ref.train_acc:.2f}", test, f"{ref.test_acc:.2f}"]
        else:
            cells += [test, _cell(other, "test_acc") if _seeds(other) else _absent(other)]
        note = "" if row is None or not row["not_finished"] else f" ({int(row['not_finished'])} not finished)"
        lines.append("| " + " | ".join(cells + [f"{seeds}{note}"]) + " |")
        if seeds and published:
            verdict = _verdict(row, ref.train_acc, ref.test_acc)
            verdicts.append(f"- row {number}: {verdict}. Measured: {_focus(row)}.{_flags(row)}")
        elif seeds:
            order = f"{_order_effect(row, other)}. Measured: " if _seeds(other) else ""
            compared |= bool(order)
            verdicts.append(f"- row {number}: {order}{_focus(row)}.{_flags(row)}")
        elif published:
            verdicts.append(f"- row {number}: {absent}.")
    if published:
        intro = (
            "Verdict per row (is the published value inside our mean ± 2 sd?), and where our test accuracy comes from:"
        )
    elif compared:
        intro = "Where first against what first (the same settings in Table 1), and where the test accuracy comes from:"
    else:
        intro = "Where the test accuracy comes from:"
    return lines, intro, verdicts


def _spans(numbers: list[int]) -> str:
    """Sorted integers as runs: [1, 2, 3, 5] -> '1-3 and 5'."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def finished_seeds(results: pd.DataFrame) -> set[tuple[str, int]]:
    """(experiment, seed) of every finished trial of `results` (published_summary's): what need not run again."""
    if results.empty:
        return set()
    done = results[results["finished"]]
    return {(e, int(s)) for e, s in zip(done["experiment"], done["seed"])}


def seeds_to_run(results: pd.DataFrame) -> str:
    """The sentence naming, row by row, the seeds each table row still needs to reach the `seeds` space's count
    (seeds 0 .. N-1), rows that need the same seeds together: what the next runs should be."""
    space = get_space("seeds")
    done = finished_seeds(results)
    missing: dict[str, list[int]] = {}
    for trial in space.trials("paper"):
        if (trial["experiment"], trial["seed"]) not in done:
            missing.setdefault(trial["experiment"], []).append(trial["seed"])
    target = space.default_seeds
    if not missing:
        return f"Every row has its {target} seeds (seeds 0-{target - 1})."
    parts = []
    for table in TABLES:
        rows_by_missing: dict[tuple[int, ...], list[int]] = {}
        for label, seeds in missing.items():
            if label.startswith(table + "/"):
                rows_by_missing.setdefault(tuple(seeds), []).append(int(label.split("/")[-1]))
        phrases = [
            f"row{'s' if len(rows) > 1 else ''} {_spans(rows)} seed{'s' if len(m) > 1 else ''} {_spans(list(m))}"
            for m, rows in rows_by_missing.items()
        ]
        if phrases:
            parts.append(f"Table {table[-1]}: {', '.join(phrases)}")
    left = sum(map(len, missing.values()))
    return (
        f"Still to run for {target} seeds a row (seeds 0-{target - 1}, the `seeds` space), {counted(left, 'trial')}: "
        f"{'; '.join(parts)}."
    )


def _para(text: str) -> list[str]:
    """A paragraph wrapped at 120 characters, as the README is."""
    return textwrap.wrap(text, 120, break_long_words=False, break_on_hyphens=False)


def _hours(seconds: float) -> str:
    return f"{seconds:,.0f} s ({seconds / 3600:.1f} h)"


def results_section(root: Path) -> str:
    """The markdown between the README's markers (without them), from the committed runs under root."""
    root = Path(root)
    results, summary = published_summary(root)
    done = summary[summary["seeds"] > 0] if not summary.empty else summary
    run_rows = {s: sorted(done.loc[done["experiment"].str.startswith(s + "/"), "experiment"]) for s in TABLES}
    missing = {
        s: [e.label.split("/")[-1] for e in get_space(s).experiments if e.label not in run_rows[s]] for s in TABLES
    }
    tables = "; ".join(
        f"{'Table 1' if s == 'table1' else 'Table 2'} row{'s' if len(m) > 1 else ''} {', '.join(m)}"
        if len(m) < 8
        else f"all of {'Table 1' if s == 'table1' else 'Table 2'}"
        for s, m in missing.items()
        if m
    )
    out = [
        "<!-- generated by `python -m orchestrator.published` from results/published/; do not edit by hand -->",
        "",
        *_para(
            "Paper scale (30,000 training / 10,000 test mosaics, the published epochs), made with this project's "
            f"own CLI and committed as data in [results/published/]({PUBLISHED.as_posix()}/): {len(done)} of 16 "
            f"table rows {has(len(done))} run so far ({counted(len(results), 'trial')}). "
            "Accuracies are fractions; train accuracy is the clean "
            "pass over the training mosaics after the last epoch, as in the write-up. Several seeds: mean ± "
            "sample sd (n). "
            + (f"Not run yet: {tables}." if tables else "Every row has run.")
            + f" {seeds_to_run(results)}"
        ),
        "",
    ]
    for space, title in (
        ("table1", "Table 1: what network first, ours vs the write-up"),
        ("table2", "Table 2: where network first (no published numbers)"),
    ):
        lines, intro, verdicts = _table(space, summary)
        out += [f"### {title}", "", *lines, ""]
        if verdicts:
            out += [intro, "", *verdicts, ""]
            if space == "table1":
                readme = f"{PUBLISHED.as_posix()}/README.md"
                out += [f"Notes on single rows, from their measurements: [{readme}]({readme}#provenance).", ""]
    out += _figures(root, results, summary)
    out += _provenance_lines(root, results)
    return "\n".join(out).rstrip() + "\n"


def _figures(root: Path, results: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """The comparison figure, Table 1 against Table 2 once a row ran in both, and the attention picture of the row
    whose best seed scores highest."""
    out = []
    comparison = REPORT / PUBLISHED_FIGURE
    if (root / comparison).is_file():
        out += ["### Figures", "", f"![final test accuracy per row, ours vs published]({comparison.as_posix()})", ""]
    orders = REPORT / ORDERS_FIGURE.format(family="table")  # drawn once a row has run in both tables
    if out and (root / orders).is_file():
        out += [
            *_para(
                "The rows run in both orders, side by side: final test accuracy and FTPT, what network first (Table "
                "1) against where network first (Table 2), the published value on Table 1's bars."
            ),
            "",
            f"![Table 1 vs Table 2, same settings]({orders.as_posix()})",
            "",
        ]
    if not summary.empty:
        stems = file_stems(summary["experiment_id"])  # the report's file names
        best = best_trials(results).sort_values("test_acc", ascending=False, kind="stable")
        for _, trial in best.iterrows():
            picture = REPORT / "attention" / f"{stems[trial['experiment_id']]}.png"
            if (root / picture).is_file():
                who = f"{trial['experiment_id']}, seed {int(trial['seed'])}"
                acc = format_value(trial["test_acc"])
                out += [
                    *_para(
                        f"Attention of {who} (its best seed, test accuracy {acc}): the first test mosaics, alpha per "
                        "tile with the foreground tile outlined, the attention-weighted image the what network sees, "
                        "predicted and true class."
                    ),
                    "",
                    f"![attention, {trial['experiment_id']}]({picture.as_posix()})",
                    "",
                ]
                break
    if out:
        report = f"{REPORT.as_posix()}/report.md"
        out += [
            *_para(
                f"Full tables, focus outcomes and every trial: [{report}]({report}). Of the report only it, "
                "summary.csv, the figures above and the attention pictures are committed (size budget); its "
                "per-experiment figures, index.html and trials.csv are one report command away (below)."
            ),
            "",
        ]
    return out


def _provenance_lines(root: Path, results: pd.DataFrame) -> list[str]:
    prov = provenance(root)
    folders = run_folders(root)
    out = [
        "### How they were made",
        "",
        "| run folder | command | code | machine | wall | trials | trial time (all sessions) | device |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for folder in folders:
        p = prov.get(folder.name, {})
        mine = results[results["folder"] == folder.name] if "folder" in results else results.iloc[:0]
        times = once_per_pack(mine).dropna() if len(mine) else pd.Series(dtype=float)  # aggregate: which time
        devices = ", ".join(sorted(set(mine["device"].dropna()))) if "device" in mine else ""
        trial_time = _hours(float(times.sum())) if len(times) else "-"
        cells = [
            f"`{folder.name}`",
            p.get("command", "not recorded"),
            p.get("code", "?"),
            p.get("machine", "?"),
            p.get("wall", "?"),
            str(len(mine)),
            trial_time,
            devices or "-",
        ]
        out.append("| " + " | ".join(cells) + " |")
    runs = " ".join(f"{PUBLISHED.as_posix()}/{f.name}" for f in folders)
    readme = f"{PUBLISHED.as_posix()}/README.md"
    out += [
        "",
        "Report and this section, from the repository root:",
        "",
        "```bash",
        f"mosaic-sweep report {runs} --out {REPORT.as_posix()} --data-dir ../shared --attention 2",
        "python -m orchestrator.published",
        "```",
        "",
        f"How runs are added, and the size budget: [{readme}]({readme}).",
    ]
    return out


# -- README ---------------------------------------------------------------------------------------------------
def replace_section(readme: str, section: str) -> str:
    """README text with the part between the markers replaced by `section`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} markers")
    return readme[: start + len(START)] + "\n" + section + readme[end:]


def current_section(readme: str) -> str:
    """The text between the markers, as `results_section` returns it."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} markers")
    return readme[start + len(START) : end].removeprefix("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.published", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[1],
        help="repository root (default: this checkout)",
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when README.md is out of date")
    args = parser.parse_args(argv)
    readme = args.root / "README.md"
    text = readme.read_text()
    new = replace_section(text, results_section(args.root))
    if args.check:
        if new != text:
            print("README.md's Results section is out of date: run python -m orchestrator.published", file=sys.stderr)
            return 1
        return 0
    if new != text:
        readme.write_text(new)
    print(f"{'updated' if new != text else 'unchanged'}: {readme} (Results section)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
