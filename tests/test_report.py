"""`mosaic-sweep report`: aggregation on hand-made rows, then whole reports of real, doctored and synthetic runs
(paper scale, a random search). The checks themselves: test_report_checks.py; the page in a browser:
test_report_browser.py.

Reports run in a subprocess: that is how users run them, and it shows that a report never imports Ray.
"""

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import exit_code, real_data_dir

from orchestrator import aggregate, report_text
from orchestrator.attention import tile
from orchestrator.results import EPOCH_SCHEMA, RUN_FILE, TRIAL_SCHEMA, ResultsWriter, to_table
from orchestrator.storage import RunStorage
from search_spaces import get_space

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- hand-made rows -------------------------------------------------------------------------------------------------
def trial_config(label: str, seed: int, run: str = "r", scale: str = "smoke") -> dict:
    space = "table1" if label.startswith("table1") else "table2"
    row = next(t for t in get_space(space).trials(scale) if t["experiment"] == label)
    return {**row, "seed": seed, "data_seed": seed, "run": run}


def metrics(prefix: str, acc: float, focus_true: float = 0.5, alpha: float = 0.2) -> dict:
    """A consistent set of one pass's metrics: the four outcomes add up to 1, accuracy is FTPT + FFPT."""
    return {
        f"{prefix}acc": acc,
        f"{prefix}loss": 1.0 - acc,
        f"{prefix}ftpt": acc * focus_true,
        f"{prefix}ffpt": acc * (1 - focus_true),
        f"{prefix}ftpf": (1 - acc) * focus_true,
        f"{prefix}ffpf": (1 - acc) * (1 - focus_true),
        f"{prefix}alpha_ge_half": alpha,
        f"{prefix}fg_alpha": alpha / 2,
    }


def epoch_rows(
    config: dict,
    trial_id: str,
    test_accs: list[float],
    final_train: float | None = None,
    outcome: str = "completed",
    node: str = "node-a",
) -> list[dict]:
    """One row per epoch with the given test accuracies; the last carries the outcome and the clean train pass."""
    rows = []
    k = config["k"]
    for epoch, acc in enumerate(test_accs, start=1):
        first = "what" if config["order"] == "what_first" else "where"
        second = "where" if first == "what" else "what"
        row = {
            **config,
            "trial_id": trial_id,
            "epoch": epoch,
            "phase": first if (epoch - 1) % (2 * k) < k else second,
            "outcome": "running",
            "node_id": node,
            "node_ip": "10.0.0.1",
            "hostname": node,
            "device": "cpu",
            **metrics("train_", acc + 0.1, focus_true=0.1 * epoch),
            **metrics("test_", acc, focus_true=0.1 * epoch),
        }
        rows.append(row)
    rows[-1]["outcome"] = outcome
    if final_train is not None:
        rows[-1].update(metrics("final_train_", final_train, focus_true=0.9))
    return rows


def frames(epochs: list[dict], trials: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows as the report reads them: through the Parquet schemas."""
    return to_table(epochs, EPOCH_SCHEMA).to_pandas(), to_table(trials, TRIAL_SCHEMA).to_pandas()


def trial_row(
    config: dict, trial_id: str, status: str, outcome: str | None, error: str | None = None, ref: float | None = None
) -> dict:
    return {
        **config,
        "trial_id": trial_id,
        "status": status,
        "outcome": outcome,
        "error": error,
        "ref_test_acc": ref,
        "ref_train_acc": None if ref is None else 0.96,
        "ref_source": None if ref is None else "write-up Table 1",
        "node_id": "node-a",
        "hostname": "node-a",
        "node_ip": "10.0.0.1",
        "device": "cpu",
        "wall_s": 10.0,
    }


def seeds_of_table1_1(scale: str = "smoke"):
    """table1/1 with seeds 0, 1, 2 finished (test 0.5, 0.6, 0.7; clean train 0.8, 0.9, 1.0), seed 3 diverged."""
    epochs, trials = [], []
    for seed, (test, train) in enumerate([(0.5, 0.8), (0.6, 0.9), (0.7, 1.0)]):
        config = trial_config("table1/1", seed, scale=scale)
        epochs += epoch_rows(config, f"t{seed}", [0.3, 0.4, test], final_train=train)
        trials.append(trial_row(config, f"t{seed}", "TERMINATED", "completed", ref=0.81))
    config = trial_config("table1/1", 3, scale=scale)
    epochs += epoch_rows(config, "t3", [0.3, float("nan")], outcome="diverged")
    trials.append(trial_row(config, "t3", "TERMINATED", "diverged", ref=0.81))
    return frames(epochs, trials)


# -- aggregation ----------------------------------------------------------------------------------------------------
def test_mean_and_sd_over_finished_seeds_and_difference_to_published():
    epochs, trials = seeds_of_table1_1(scale="paper")
    results = aggregate.trial_results(trials, epochs)
    summary = aggregate.experiment_summary(results)
    row = summary.set_index("experiment_id").loc["table1/1"]
    assert (row.trials, row.seeds, row.not_finished, row.seed_list) == (4, 3, 1, "0,1,2")
    assert row.test_acc_mean == pytest.approx(0.6) and row.test_acc_std == pytest.approx(0.1)
    assert row.train_acc_mean == pytest.approx(0.9) and row.train_acc_std == pytest.approx(0.1)
    assert row.train_acc_source == "final_train_acc"
    assert row.ref_test_acc == 0.81 and row.test_acc_diff == pytest.approx(0.6 - 0.81)
    assert row.train_acc_diff == pytest.approx(0.9 - 0.96)
    assert "t3" in row.failures and "diverged" in row.failures

    table = report_text.paper_table(summary).iloc[0]
    assert table["test acc"] == "0.600 ± 0.100 (n=3)" and table["test acc (published)"] == "0.810"
    assert table["test diff"] == "-0.210" and table["train diff"] == "-0.060"
    assert table["seeds"] == "3 (1 of 4 not finished)"
    assert (table["total epochs"], table["k"], table["what lr"], table["where lr"]) == ("180", "5", "0.01", "0.01")


def test_below_paper_scale_published_numbers_are_for_orientation_only():
    """At smoke scale the published value is shown, the difference is not computed (issue 12)."""
    epochs, trials = seeds_of_table1_1(scale="smoke")
    summary = aggregate.experiment_summary(aggregate.trial_results(trials, epochs))
    row = summary.iloc[0]
    assert row.ref_test_acc == 0.81 and math.isnan(row.test_acc_diff) and math.isnan(row.train_acc_diff)
    table = report_text.paper_table(summary)
    assert "test diff" not in table.columns and "train diff" not in table.columns
    assert table.iloc[0]["test acc (published, paper scale)"] == "0.810"


def test_focus_outcomes_are_those_of_the_final_epoch():
    epochs, trials = seeds_of_table1_1()
    results = aggregate.trial_results(trials, epochs)
    row = aggregate.experiment_summary(results).iloc[0]
    finals = {0: 0.5, 1: 0.6, 2: 0.7}  # test acc at the last epoch (3), focus_true 0.3 there
    assert row.test_ftpt_mean == pytest.approx(np.mean([a * 0.3 for a in finals.values()]))
    assert row.test_ffpf_mean == pytest.approx(np.mean([(1 - a) * 0.7 for a in finals.values()]))
    assert row.train_ftpt_mean == pytest.approx(np.mean([a * 0.9 for a in (0.8, 0.9, 1.0)]))  # the clean pass
    assert sum(row[f"test_{f}_mean"] for f in aggregate.FOCUS) == pytest.approx(1.0)
    table = report_text.focus_table(aggregate.experiment_summary(results))
    assert list(table["numbers"]) == ["ours"]
    assert table.iloc[0]["test FTPT"] == f"{row.test_ftpt_mean:.3f} ± {row.test_ftpt_std:.3f}"


def test_published_focus_outcomes_come_from_the_space():
    config = {**trial_config("table1/1", 0), "experiment": "alternation/every1-what", "space": "alternation"}
    epochs, trials = frames(
        epoch_rows(config, "a", [0.7], final_train=0.9), [trial_row(config, "a", "TERMINATED", "completed")]
    )
    refs = pd.DataFrame(
        [
            {
                "experiment": "alternation/every1-what",
                "ref_test_acc": 0.799,
                "ref_train_acc": 0.97,
                "ref_source": "study",
                **{f"ref_test_{f}": v for f, v in zip(aggregate.FOCUS, (0.6244, 0.1819, 0.0381, 0.1556))},
            }
        ]
    )
    summary = aggregate.experiment_summary(aggregate.trial_results(trials, epochs), refs)
    assert summary.iloc[0].ref_test_acc == 0.799 and summary.iloc[0].ref_test_ftpt == 0.6244
    table = report_text.focus_table(summary)
    assert list(table["numbers"]) == ["ours", "published"]
    assert table.iloc[1]["test FTPT"] == "0.624" and table.iloc[1]["train FTPT"] == "-"


def test_table2_is_not_published():
    config = trial_config("table2/4", 0)
    epochs, trials = frames(
        epoch_rows(config, "b", [0.4, 0.5], final_train=0.7), [trial_row(config, "b", "TERMINATED", "completed")]
    )
    summary = aggregate.experiment_summary(aggregate.trial_results(trials, epochs))
    table = report_text.paper_table(summary).iloc[0]
    assert table["test acc"] == "0.500" and table["train acc"] == "0.700"
    published = table["test acc (published, paper scale)"]
    assert published == table["train acc (published, paper scale)"] == "not published"
    assert "test diff" not in table


def test_failed_running_and_unrecorded_trials_are_listed_not_dropped():
    done = trial_config("table1/2", 0)
    failed = trial_config("table1/2", 1)
    running = trial_config("table1/2", 2)
    unrecorded = trial_config("table1/2", 3)  # has epoch rows, no trials.parquet row yet
    never = trial_config("table1/5", 0)  # failed before its first epoch: a trials row, no epochs
    epochs, trials = frames(
        epoch_rows(done, "d", [0.5, 0.6], final_train=0.8)
        + epoch_rows(failed, "f", [0.4], outcome="running")
        + epoch_rows(running, "r", [0.3, 0.35], outcome="running")
        + epoch_rows(unrecorded, "u", [0.2]),
        [
            trial_row(done, "d", "TERMINATED", "completed"),
            trial_row(failed, "f", "ERROR", "running", error="RuntimeError: injected fault"),
            trial_row(running, "r", "RUNNING", "running"),
            trial_row(never, "n", "ERROR", None, error="OSError: no space left on device"),
        ],
    )
    results = aggregate.trial_results(trials, epochs)
    assert len(results) == 5
    problems = aggregate.problems(results).set_index("trial_id")
    assert sorted(problems.index) == ["f", "n", "r", "u"]
    assert problems.loc["f", "problem"] == "failed after 1 epoch: RuntimeError: injected fault"
    assert problems.loc["n", "problem"] == "failed after 0 epochs: OSError: no space left on device"
    assert problems.loc["r", "problem"] == "running: 2 epochs so far"
    assert problems.loc["u", "status"] == "UNKNOWN" and problems.loc["u", "experiment"] == "table1/2"
    # a running trial has no clean pass yet: its running train accuracy, said so
    assert problems.loc["r", "train_acc_source"] == "train_acc"
    assert problems.loc["r", "train_acc_final"] == pytest.approx(0.45)

    summary = aggregate.experiment_summary(results).set_index("experiment_id")
    assert summary.loc["table1/2", "seeds"] == 1 and summary.loc["table1/2", "test_acc_mean"] == pytest.approx(0.6)
    assert "injected fault" in summary.loc["table1/2", "failures"]
    assert summary.loc["table1/5", "seeds"] == 0 and math.isnan(summary.loc["table1/5", "test_acc_mean"])
    assert report_text.paper_table(summary.reset_index()).set_index("experiment").loc["table1/5", "test acc"] == "-"


def test_samples_sharing_a_label_are_separate_experiments():
    a = {**trial_config("table1/1", 0), "experiment": "search/random", "what_lr": 0.0123}
    b = {**trial_config("table1/1", 0), "experiment": "search/random", "what_lr": 0.0456}
    epochs, trials = frames(
        epoch_rows(a, "a", [0.5], final_train=0.6) + epoch_rows(b, "b", [0.7], final_train=0.8),
        [trial_row(a, "a", "TERMINATED", "completed"), trial_row(b, "b", "TERMINATED", "completed")],
    )
    results = aggregate.trial_results(trials, epochs)
    assert list(results.experiment_id) == ["search/random [what_lr=0.0123]", "search/random [what_lr=0.0456]"]
    assert len(aggregate.experiment_summary(results)) == 2


def test_curves_average_seeds_per_epoch_and_phases_make_spans():
    epochs, trials = seeds_of_table1_1()
    results = aggregate.trial_results(trials, epochs)
    curves = aggregate.epoch_curves(epochs, results, ["test_acc"])
    # the diverged seed is left out while the experiment has healthy seeds
    assert list(curves.test_acc_count) == [3, 3, 3]
    assert curves.test_acc_mean.iloc[-1] == pytest.approx(0.6) and curves.test_acc_std.iloc[-1] == pytest.approx(0.1)
    assert list(curves.phase) == ["what", "where", "what"]
    assert aggregate.phase_spans(curves.phase, curves.epoch) == [
        ("what", 0.5, 1.5),
        ("where", 1.5, 2.5),
        ("what", 2.5, 3.5),
    ]
    assert aggregate.phase_spans(pd.Series(["what"] * 3 + ["where"] * 2), pd.Series(range(1, 6))) == [
        ("what", 0.5, 3.5),
        ("where", 3.5, 5.5),
    ]


def test_trials_per_node_and_best_trial_per_experiment():
    epochs, trials = seeds_of_table1_1()
    results = aggregate.trial_results(trials, epochs)
    nodes = aggregate.trials_per_node(results)
    assert nodes[["hostname", "trials", "finished", "epochs"]].values.tolist() == [["node-a", 4, 3, 11]]
    best = aggregate.best_trials(results)
    assert list(best.trial_id) == ["t2"]  # the seed with the highest final test accuracy


def test_trial_time_counts_every_session_and_a_pack_once():
    epochs, trials = seeds_of_table1_1()
    # t0 was resumed: Tune's time_total_s (every session) is 30 s, its trials.parquet wall_s (written before
    # 2026-11-27: the last session only) 10 s
    epochs.loc[(epochs.trial_id == "t0") & (epochs.epoch == 3), "time_total_s"] = 30.0
    results = aggregate.trial_results(trials, epochs)
    assert results.set_index("trial_id").wall_s.to_dict() == {"t0": 30.0, "t1": 10.0, "t2": 10.0, "t3": 10.0}
    results.loc[results.trial_id.isin(["t1", "t2"]), "pack_id"] = "p0"  # one Ray trial, one time: counted once
    assert aggregate.once_per_pack(results).tolist() == [30.0, 10.0, 0.0, 10.0]
    assert aggregate.trials_per_node(results)[["trials", "wall_s"]].values.tolist() == [[4, 50.0]]


def test_runs_line_says_which_epochs_a_published_copy_kept():
    from types import SimpleNamespace

    from orchestrator.report_text import runs_lines
    from orchestrator.results import EPOCHS_KEPT

    run = {"name": "r", "space": "table1", "scale": "paper", "trials": 1, "uri": "/x", "created": "today"}
    copies = [{**run, "published": {"epochs": EPOCHS_KEPT[k]}} for k in ("phase_ends", "every_epoch")]
    lines = runs_lines(SimpleNamespace(runs=[run, *copies]))
    assert [("a published copy" in line, "phase ends only" in line, "every epoch" in line) for line in lines] == [
        (False, False, False),
        (True, True, False),
        (True, False, True),
    ]
    one = runs_lines(SimpleNamespace(runs=[{**run, "seeds": 1, "first_seed": 1}]))[0]
    assert ", 1 seed from seed 1, 1 trial, created today" in one
    two = runs_lines(SimpleNamespace(runs=[{**run, "seeds": 2, "trials": 2}]))[0]
    assert ", 2 seeds, 2 trials, created today" in two


def test_counts_take_the_number_their_count_needs():
    from types import SimpleNamespace

    from orchestrator.report_text import all_finished_text

    assert [aggregate.counted(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]
    assert [f"{aggregate.counted(n, 'trial')} {aggregate.has(n)}" for n in (1, 2)] == ["1 trial has", "2 trials have"]
    assert all_finished_text(SimpleNamespace(results=[1])) == "None: the 1 trial finished."
    assert all_finished_text(SimpleNamespace(results=[1, 2])) == "None: all 2 trials finished."
    assert aggregate.problem_text({"status": "ERROR", "epochs_completed": 1}) == "failed after 1 epoch"


def test_mosaic_picture_equals_torchvision_make_grid():
    import torch
    from torchvision.utils import make_grid

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
    slots = rng.integers(0, 20, 9)
    expected = make_grid(torch.as_tensor(images[slots]), nrow=3, padding=0).numpy()
    assert np.array_equal(tile(images[slots], 3), expected)


# -- whole reports ----------------------------------------------------------------------------------------------
REPORT = """
import sys
from orchestrator.cli import main
code = main(sys.argv[1:])
print("ray imported" if "ray" in sys.modules else "ray not imported")
sys.exit(code)
"""


def report(*argv) -> subprocess.CompletedProcess:
    """`mosaic-sweep report ARGV` in a fresh interpreter; its stdout says whether Ray got imported."""
    return subprocess.run(
        [sys.executable, "-c", REPORT, "report", *map(str, argv)], capture_output=True, text=True, timeout=600
    )


def data_flags(synthetic_cifar_dir) -> list[str]:
    """The images the session's smoke run trained on."""
    real = real_data_dir()
    return ["--data-dir", str(real)] if real else ["--data-dir", str(synthetic_cifar_dir), "--no-verify"]


def markdown_tables(text: str) -> list[pd.DataFrame]:
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            block.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif block:
            tables.append(pd.DataFrame(block[2:], columns=block[0]))
            block = []
    return tables


def table_with(tables: list[pd.DataFrame], column: str) -> pd.DataFrame:
    return pd.concat([t for t in tables if column in t.columns], ignore_index=True)


def assert_png(path: Path):
    import matplotlib.image
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path
    with Image.open(path) as image:
        assert image.mode == "P", (path, image.mode)  # plots.save_figure: 256-colour palette, a third of RGBA's bytes
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300 and pixels.std() > 0.01, path


@pytest.fixture(scope="module")
def smoke_report(tables_smoke_run, synthetic_cifar_dir, tmp_path_factory):
    """A report of a copy of the session's smoke run, written where reports go by default: RUN/report/."""
    run_dir, code, out = tables_smoke_run
    assert code == 0, out
    copy = tmp_path_factory.mktemp("report") / run_dir.name
    shutil.copytree(run_dir, copy)
    done = report(copy, *data_flags(synthetic_cifar_dir))
    return copy, done


COMPARISON_FIGURES = [
    "overlay_tables-table1_test_acc.png",
    "overlay_tables-table1_test_ftpt.png",
    "overlay_tables-table2_test_acc.png",
    "overlay_tables-table2_test_ftpt.png",
    "comparison_test_acc.png",
    "orders_table.png",
]


def summary_of(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "report" / "summary.csv").set_index("experiment")


def test_report_of_a_smoke_run_writes_every_file_without_ray(smoke_report):
    run_dir, done = smoke_report
    assert done.returncode == 0, done.stderr
    assert "ray not imported" in done.stdout
    out = run_dir / "report"
    assert f"-> {out}/index.html" in done.stdout
    for name in ("report.md", "summary.csv", "trials.csv", "index.html"):
        assert (out / name).stat().st_size > 0, name

    # one figure per experiment, except those with the same results as an earlier one (they show its figure),
    # plus the figures comparing experiments; an attention picture per experiment with results of its own, but
    # only one of those that never left chance (uniform attention)
    summary = summary_of(run_dir)
    own = sorted(label.replace("/", "-") for label in summary.index[summary.same_results_as.isna()])
    plots = sorted((out / "plots").iterdir())
    attention = sorted((out / "attention").iterdir())
    assert sorted(p.name for p in plots) == sorted([f"{stem}.png" for stem in own] + COMPARISON_FIGURES)
    assert len(attention) == expected_pictures(summary) and {p.stem for p in attention} <= set(own)
    for path in plots + attention:
        assert_png(path)

    # index.html shows every figure, by a relative path that exists; each row folds its figures
    page = (out / "index.html").read_text()
    shown = set(re.findall(r'<img src="([^"]+)"', page))
    assert shown == {f"plots/{p.name}" for p in plots} | {f"attention/{p.name}" for p in attention}
    assert 'href="report.md"' in page and 'href="summary.csv"' in page
    assert page.count('<tr class="folded">') == len(summary) and 'table class="sortable"' in page


def expected_pictures(summary: pd.DataFrame) -> int:
    """Attention pictures a report draws (no cap): one per finished experiment with results of its own, of those
    that never left chance only one."""
    own = summary[summary.same_results_as.isna() & (summary.seeds > 0)]
    return int((~own.at_chance).sum()) + bool(own.at_chance.any())


def chance_by_hand(epochs: pd.DataFrame) -> set[str]:
    """Experiments (one trial each) that never left chance, computed here with plain pandas from the Parquet rows:
    test accuracy within 1/3 ± 3 binomial sd at every epoch, last test loss within 0.05 of ln 3, uniform alphas."""
    flagged = set()
    for label, rows in epochs.sort_values("epoch").groupby("experiment"):
        half = 3 * math.sqrt(1 / 3 * 2 / 3 / rows.n_test.iloc[0])
        last = rows.iloc[-1]
        if (
            rows.test_acc.between(1 / 3 - half, 1 / 3 + half).all()
            and abs(last.test_loss - math.log(3)) <= 0.05
            and abs(last.test_fg_alpha - 1 / 9) <= 0.1 / 9
            and last.test_alpha_ge_half <= 0.01
        ):
            flagged.add(label)
    return flagged


def test_smoke_report_says_it_is_not_paper_scale_and_flags_chance_and_identical_rows(smoke_report):
    """Issue 12: the banner, no diff against the published numbers, the chance flags, identical rows, the
    paper's settings next to the ones the smoke scale ran."""
    run_dir, done = smoke_report
    assert done.returncode == 0, done.stderr
    text = (run_dir / "report" / "report.md").read_text()
    page = (run_dir / "report" / "index.html").read_text()
    assert "> **Not paper scale: run `tables-smoke` ran with 40 train / 20 test mosaics, batch 10" in text
    assert "for orientation only" in text and '<div class="banner" id="banner">' in page
    tables = markdown_tables(text)
    paper = table_with(tables, "test acc (published, paper scale)").set_index("experiment")
    assert not any("diff" in c for c in paper.columns)

    epochs = pd.read_parquet(run_dir / "epochs")
    flagged = chance_by_hand(epochs)
    assert flagged, "a smoke run learns nothing: some trial must be at chance"
    summary = summary_of(run_dir)
    assert set(summary.index[summary.at_chance]) == flagged
    for label in summary.index:
        assert ("never left chance" in paper.loc[label, "flags"]) == (label in flagged)
    assert "Never left chance: " in text and '<div class="flags" id="flags">' in page

    # rows that the smoke scale made one configuration have identical results, and are said to
    settings = ["order", "k", "epochs", "what_lr", "where_lr"]
    for _, same in summary.reset_index().groupby(settings):
        if len(same) > 1:
            first, *others = same.experiment
            assert f"Identical results, every metric at every epoch: {', '.join(same.experiment)}" in text
            assert all(summary.loc[o, "same_results_as"] == first for o in others)

    # the paper's settings next to those it ran with; sizes the scale changed above each table
    row = paper.loc["table1/3"]
    assert (row["total epochs (paper)"], row["k (paper)"], row["total epochs"], row["k"]) == ("280", "20", "8", "1")
    assert "Every row ran with batch_size 10 (paper 250), n_train 40 (paper 30,000), n_test 20 (paper 10,000)." in text
    assert "train acc: clean pass over the training mosaics after the last epoch (`final_train_acc`)" in text
    assert "precision: float32 (strict fp32) on cpu" in text
    assert "stepped only for the network that trained in that epoch" in text


def test_report_numbers_equal_those_of_the_parquet_rows(smoke_report):
    run_dir, done = smoke_report
    assert done.returncode == 0, done.stderr
    epochs = pd.read_parquet(run_dir / "epochs")
    trials = pd.read_parquet(run_dir / "trials.parquet").set_index("experiment")
    last = epochs.sort_values("epoch").groupby("experiment").tail(1).set_index("experiment")
    assert last.final_train_acc.notna().all()  # every smoke trial finished: its clean pass is the train acc

    summary = pd.read_csv(run_dir / "report" / "summary.csv").set_index("experiment")
    text = (run_dir / "report" / "report.md").read_text()
    tables = markdown_tables(text)
    paper = table_with(tables, "test acc (published, paper scale)").set_index("experiment")
    focus = table_with(tables, "test FTPT").set_index("experiment")
    assert sorted(paper.index) == sorted(last.index) == sorted(summary.index)
    for label, row in last.iterrows():
        ref = trials.loc[label, "ref_test_acc"]
        ours = summary.loc[label]
        assert ours.test_acc_mean == pytest.approx(row.test_acc, rel=1e-12)
        assert ours.train_acc_mean == pytest.approx(row.final_train_acc, rel=1e-12)
        assert ours.seeds == 1 and ours.not_finished == 0 and ours.train_acc_source == "final_train_acc"
        assert paper.loc[label, "test acc"] == f"{row.test_acc:.3f}"
        assert paper.loc[label, "train acc"] == f"{row.final_train_acc:.3f}"
        assert paper.loc[label, "total epochs"] == str(row.epochs) and paper.loc[label, "k"] == str(row.k)
        assert paper.loc[label, "what lr"] == f"{row.what_lr:g}" and paper.loc[label, "where lr"] == f"{row.where_lr:g}"
        if pd.isna(ref):  # Table 2
            assert paper.loc[label, "test acc (published, paper scale)"] == "not published"
            assert ours.ref_source == "not published"
        else:  # shown for orientation, no difference below paper scale
            assert paper.loc[label, "test acc (published, paper scale)"] == f"{ref:.3f}"
            assert math.isnan(ours.test_acc_diff) and ours.ref_test_acc == ref
        for f in aggregate.FOCUS:
            assert focus.loc[label, f"test {f.upper()}"] == f"{row[f'test_{f}']:.3f}"
            assert focus.loc[label, f"train {f.upper()}"] == f"{row[f'final_train_{f}']:.3f}"
            assert ours[f"test_{f}_mean"] == pytest.approx(row[f"test_{f}"], rel=1e-12)
    assert "None: all 16 trials finished." in text

    # trials per node: the session cluster's two nodes
    nodes = table_with(tables, "node_ip")
    per_node = trials.groupby("node_id").size()
    assert len(per_node) == 2
    assert sorted((n.node_id[:16], int(n.trials)) for n in nodes.itertuples()) == sorted(
        (node[:16], count) for node, count in per_node.items()
    )


def doctor(run_dir: Path, keep: str, failed: str, diverged: str) -> None:
    """Keep only the experiments matching `keep`; make `failed` an ERROR after 1 epoch and `diverged` diverge."""
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    keep_ids = {t["trial_id"] for t in trials if t["experiment"].startswith(keep)}
    for path in (run_dir / "epochs").iterdir():
        rows = pq.read_table(path).to_pylist()
        if rows[0]["trial_id"] not in keep_ids:
            path.unlink()
            continue
        if rows[0]["experiment"] == failed:
            rows = rows[:1]
            rows[0].update(outcome="running", **{k: None for k in rows[0] if k.startswith("final_train_")})
        if rows[0]["experiment"] == diverged:
            rows[-1].update(
                outcome="diverged",
                train_loss=float("nan"),
                **{k: None for k in rows[-1] if k.startswith(("test_", "final_train_"))},
            )
        pq.write_table(to_table(rows, EPOCH_SCHEMA), path)
    doctored = []
    for t in trials:
        if t["trial_id"] not in keep_ids:
            continue
        if t["experiment"] == failed:
            t.update(
                status="ERROR", outcome="running", epochs_completed=1, error="RuntimeError: injected fault in the test"
            )
        if t["experiment"] == diverged:
            t.update(outcome="diverged")
        doctored.append(t)
    pq.write_table(to_table(doctored, TRIAL_SCHEMA), run_dir / "trials.parquet")


def test_failed_and_diverged_trials_are_reported_with_their_error(tables_smoke_run, synthetic_cifar_dir, tmp_path):
    run_dir, code, out = tables_smoke_run
    copy = tmp_path / "doctored"
    shutil.copytree(run_dir, copy)
    doctor(copy, keep="table2/", failed="table2/3", diverged="table2/5")

    done = report(copy, "--out", tmp_path / "rep", "--attention", "2", *data_flags(synthetic_cifar_dir))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "2 of 8 trials did not finish" in text
    problems = table_with(markdown_tables(text), "error").set_index("experiment")
    assert sorted(problems.index) == ["table2/3", "table2/5"]
    assert problems.loc["table2/3", "status"] == "ERROR"
    assert problems.loc["table2/3", "error"] == "failed after 1 epoch: RuntimeError: injected fault in the test"
    assert problems.loc["table2/5", "error"].startswith("diverged (non-finite training loss) at epoch")

    summary = pd.read_csv(tmp_path / "rep" / "summary.csv").set_index("experiment")
    assert len(summary) == 8
    assert summary.loc["table2/3", "seeds"] == 0 and summary.loc["table2/3", "not_finished"] == 1
    assert "RuntimeError: injected fault in the test" in summary.loc["table2/3", "failures"]
    assert "diverged" in summary.loc["table2/5", "failures"] and math.isnan(summary.loc["table2/5", "test_acc_mean"])
    assert summary.loc["table2/1", "seeds"] == 1 and pd.isna(summary.loc["table2/1", "failures"])
    trials = pd.read_csv(tmp_path / "rep" / "trials.csv").set_index("experiment")
    assert trials.loc["table2/3", "error"] == "RuntimeError: injected fault in the test"

    own = summary.index[summary.same_results_as.isna() & (summary.seeds > 0)]  # figures of their own
    plots = {p.name for p in (tmp_path / "rep" / "plots").iterdir()}
    assert {f"{label.replace('/', '-')}.png" for label in own} <= plots
    assert {"overlay_tables-table2_test_acc.png", "overlay_tables-table2_test_ftpt.png"} <= plots
    pictures = expected_pictures(summary)
    assert len(list((tmp_path / "rep" / "attention").iterdir())) == min(2, pictures)  # --attention 2
    if pictures > 2:
        assert f"{pictures - 2} more experiments have no picture" in text
    assert "No finished trial to draw in table2/3, table2/5." in text


def test_several_runs_are_combined_into_one_report(tmp_path):
    """Seeds of one experiment spread over two runs (made without Ray or checkpoints) are one row."""
    accs = {"a": [(0, 0.5), (1, 0.6)], "b": [(2, 0.9)]}
    for name, seeds in accs.items():
        storage = RunStorage(str(tmp_path / name))
        storage.write_json({"name": name, "space": "table1", "scale": "smoke", "seeds": 2}, RUN_FILE)
        writer = ResultsWriter(storage, name, {e.label: e.reference for e in get_space("table1").experiments})
        for seed, acc in seeds:
            config = trial_config("table1/7", seed, run=name)
            for row in epoch_rows(config, f"{name}{seed}", [0.3, acc], final_train=acc + 0.1):
                writer.add_epoch(f"{name}{seed}", row)
            writer.set_trial(f"{name}{seed}", config, "TERMINATED", wall_s=3.0)

    done = report("a", "b", "--results-dir", tmp_path, "--data-dir", tmp_path / "no-cifar-here")
    assert done.returncode == 0, done.stderr
    assert "ray not imported" in done.stdout
    out = tmp_path / "a" / "report"
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 1 and summary.seeds[0] == 3 and summary.seed_list[0] == "0,1,2"
    assert summary.test_acc_mean[0] == pytest.approx(np.mean([0.5, 0.6, 0.9]))
    assert summary.test_acc_std[0] == pytest.approx(np.std([0.5, 0.6, 0.9], ddof=1))
    assert summary.ref_test_acc[0] == 0.82
    text = (out / "report.md").read_text()
    assert "# Report: a, b" in text
    std = np.std([0.5, 0.6, 0.9], ddof=1)
    assert f"| table1/7 | 600 | 8 | 50 | 1 | 0.001 | 0.01 | 0.767 ± {std:.3f} (n=3) | 0.970 |" in text
    # no state to draw (nor CIFAR-10 here): no attention pictures, said so, not an error
    assert "No final state of the best seed under tune/ for table1/7; no picture." in text
    assert not list((out / "attention").iterdir())
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["comparison_test_acc.png", "table1-7.png"]


def test_report_download_lets_torchvision_fetch_cifar_for_the_attention_pictures(tmp_path, monkeypatch):
    # the note of a report without CIFAR-10 says "add --download": the flag must reach the loader
    from orchestrator import report as make
    from trainables import cifar

    asked = []
    monkeypatch.setattr(cifar, "_download_py", lambda root: asked.append(root))  # no internet here
    config = trial_config("table1/7", 0, run="a")
    write_run(tmp_path, "a", "table1", "smoke", [(config, "a0", epoch_rows(config, "a0", [0.3, 0.5]), "TERMINATED")])
    state = tmp_path / "a" / "tune" / "trial-a0" / "checkpoint_000001" / "state.pt"  # something to draw: CIFAR needed
    state.parent.mkdir(parents=True)
    state.write_bytes(b"")
    make(tmp_path / "a", data_dir=tmp_path / "fetched", download=True, attention=1)
    assert asked == [tmp_path / "fetched"]
    text = (tmp_path / "a" / "report" / "report.md").read_text()
    assert "skipped: the CIFAR-10 images are needed" in text  # the stand-in fetched nothing


def write_run(root: Path, name: str, space: str, scale: str, trials: list[tuple[dict, str, list[dict], str]]) -> Path:
    """A run folder made without Ray, as the driver writes it: (config, trial_id, epoch rows, status) per trial."""
    storage = RunStorage(str(root / name))
    storage.write_json({"name": name, "space": space, "scale": scale, "seeds": 1}, RUN_FILE)
    writer = ResultsWriter(storage, name, {e.label: e.reference for e in get_space(space).experiments})
    for config, trial_id, rows, status in trials:
        for row in rows:
            writer.add_epoch(trial_id, row)
        writer.set_trial(trial_id, {**config, "run": name}, status, wall_s=5.0)
    return root / name


def test_comparison_figure_title_names_only_the_runs_with_a_point_on_it(tmp_path):
    """A Table 2 run has no published value, so no point on the figure against the published numbers: its title
    does not name it (the published reproduction combines runs of both tables)."""
    from orchestrator import report_cmd, report_figures
    from orchestrator.results import read_runs

    for name, label in (("what-first", "table1/1"), ("where-first", "table2/1")):
        config = trial_config(label, 0, run=name, scale="paper")
        rows = epoch_rows(config, f"{name}0", [0.4, 0.8], final_train=0.9)
        write_run(tmp_path, name, label.split("/")[0], "paper", [(config, f"{name}0", rows, "TERMINATED")])
    data = report_cmd.analyse(read_runs(["what-first", "where-first"], str(tmp_path)), ["test_acc"])
    figures, jobs = report_figures.comparison_figures(data.summary, data.results, data.curves, data.findings, tmp_path)
    published = [j for j in jobs if j.kwargs["path"] == tmp_path / report_figures.PUBLISHED_FIGURE]
    assert [j.kwargs["title"] for j in published] == ["Final test accuracy vs published (what-first)"]
    assert published[0].kwargs["summary"]["experiment_id"].tolist() == ["table1/1"]


def test_paper_scale_report_has_no_banner_no_chance_flags_and_the_difference(tmp_path):
    """A (synthetic) paper-scale run that learned: compared with the published numbers, nothing flagged."""
    trials = []
    for label, accs in (("table1/1", [0.36, 0.6, 0.8]), ("table1/3", [0.36, 0.4, 0.45])):
        for seed in (0, 1):
            config = trial_config(label, seed, run="paper", scale="paper")
            trial_id = f"{label[-1]}{seed}"
            rows = epoch_rows(config, trial_id, [a + 0.02 * seed for a in accs], final_train=0.95 + 0.01 * seed)
            trials.append((config, trial_id, rows, "TERMINATED"))
    run = write_run(tmp_path, "paper", "table1", "paper", trials)
    done = report(run, "--data-dir", tmp_path / "no-cifar-here")
    assert done.returncode == 0, done.stderr
    text = (run / "report" / "report.md").read_text()
    page = (run / "report" / "index.html").read_text()
    assert "Not paper scale" not in text and 'id="banner"' not in page
    assert "## Flags" not in text and 'id="flags"' not in page and "Never left chance" not in text
    summary = summary_of(run)
    assert not summary.at_chance.any() and summary.same_results_as.isna().all()
    paper = table_with(markdown_tables(text), "test acc (published)").set_index("experiment")
    assert "total epochs (paper)" not in paper.columns  # the paper's own settings: nothing changed
    assert paper.loc["table1/1", "test acc"] == "0.810 ± 0.014 (n=2)"
    assert (
        paper.loc["table1/1", "test diff"] == f"{0.81 - 0.81:+.3f}" and paper.loc["table1/3", "test diff"] == "+0.030"
    )
    assert summary.loc["table1/3", "test_acc_diff"] == pytest.approx(0.46 - 0.43)
    plots = {p.name for p in (run / "report" / "plots").iterdir()}
    assert plots == {
        "table1-1.png",
        "table1-3.png",
        "comparison_test_acc.png",
        "overlay_table1-table1_test_acc.png",
        "overlay_table1-table1_test_ftpt.png",
    }
    for name in plots:
        assert_png(run / "report" / "plots" / name)


SEARCH_SAMPLES = 8


def chance_rows(rows: list[dict]) -> list[dict]:
    """Epoch rows of a trial that learned nothing: accuracy 1/3, loss ln 3, uniform attention."""
    for row in rows:
        for prefix in ("train_", "test_", "val_"):
            row.update(metrics(prefix, 1 / 3, focus_true=1 / 9))
            row.update({f"{prefix}loss": math.log(3), f"{prefix}alpha_ge_half": 0.0, f"{prefix}fg_alpha": 1 / 9})
    return rows


def search_run(root: Path) -> Path:
    """A (synthetic) random search at cpu scale: test accuracy grows with the what lr; sample 0 learned nothing;
    every third sample stopped early by the scheduler."""
    base = get_space("search").trials("cpu")[0]
    rng = np.random.default_rng(0)
    trials = []
    for i in range(SEARCH_SAMPLES):
        what_lr, where_lr = 10 ** rng.uniform(-4, -1, size=2)
        config = {**base, "what_lr": what_lr, "where_lr": where_lr, "k": (1, 2, 5, 10, 20)[i % 5]}
        acc = 0.4 + 0.15 * (math.log10(what_lr) + 4)
        stopped = i % 3 == 2
        rows = epoch_rows(
            config,
            f"s{i}",
            [0.38, acc],
            final_train=None if stopped else acc + 0.1,
            outcome="running" if stopped else "completed",
        )
        for row, a in zip(rows, (0.38, acc)):
            row.update(metrics("val_", a - 0.01))
        trials.append((config, f"s{i}", chance_rows(rows) if i == 0 else rows, "TERMINATED"))
    return write_run(root, "search-cpu", "search", "cpu", trials)


def test_search_report_plots_accuracy_against_the_sampled_settings(tmp_path):
    """A search's report: a scatter and a parallel-coordinates plot, the best configurations, no figure per sample
    (only on request)."""
    run = search_run(tmp_path)
    done = report(run, "--data-dir", tmp_path / "no-cifar-here")
    assert done.returncode == 0, done.stderr
    out = run / "report"
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["search-random-cpu_parallel.png", "search-random-cpu_scatter.png"]
    for name in plots:
        assert_png(out / "plots" / name)
    page = (out / "index.html").read_text()
    assert set(re.findall(r'<img src="([^"]+)"', page)) == {f"plots/{p}" for p in plots}

    text = (out / "report.md").read_text()
    assert "## Search `search/random (search, cpu)`: best configurations" in text
    best = table_with(markdown_tables(text), "rank")
    trials = pd.read_parquet(run / "trials.parquet")
    assert len(best) == SEARCH_SAMPLES and list(best["rank"]) == [str(i) for i in range(1, SEARCH_SAMPLES + 1)]
    top = trials.loc[trials.test_acc.idxmax()]
    assert best.iloc[0]["what_lr"] == f"{top.what_lr:.4g}" and best.iloc[0]["test acc"] == f"{top.test_acc:.3f}"
    assert set(trials.outcome) == {"completed", "stopped"} and "stopped" in set(best["outcome"])
    at_chance = best[best["flags"].str.contains("never left chance")]
    assert list(at_chance["what_lr"]) == [f"{trials.set_index('trial_id').loc['s0', 'what_lr']:.4g}"]
    assert "Every sample ran with n_train 6,000 (paper 30,000), n_test 2,000 (paper 10,000), n_val 2,000" in text

    done = report(run, "--data-dir", tmp_path / "no-cifar-here", "--per-sample-figures")
    assert done.returncode == 0, done.stderr
    per_sample = [p for p in (out / "plots").iterdir() if p.name.startswith("search-random-k=")]
    assert len(per_sample) == SEARCH_SAMPLES


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root / "missing", "is not a folder"),
        (lambda root: root, "no results in"),
        (lambda root: (root / "run.json").write_text("{}") and root, "no results in"),
    ],
)
def test_missing_or_empty_results_give_one_line_and_a_non_zero_exit(make, message, tmp_path, capsys):
    target = make(tmp_path)
    assert exit_code(["report", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "report").exists()


def test_a_results_folder_instead_of_a_run_names_the_runs_in_it(tmp_path, capsys):
    (tmp_path / "some-run").mkdir()
    (tmp_path / "some-run" / "run.json").write_text("{}")
    assert exit_code(["report", "unknown-run", "--results-dir", str(tmp_path)]) == 2
    assert "unknown-run" in capsys.readouterr().err
    assert exit_code(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "it holds the runs some-run" in err and len(err.splitlines()) == 1
