"""The committed paper-scale runs (results/published/) are well formed, small, and what README.md says they are.

Fast, no Ray: reads only the committed files (and CIFAR-10, where present, to re-score the committed networks).
"""

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import real_data_dir

from orchestrator import publish_run
from orchestrator.aggregate import best_trials
from orchestrator.publish_run import (
    BUDGET_BYTES,
    EPOCHS_FILE,
    STATE_KEYS,
    full_weights,
    publish,
    published_bytes,
    tracked_files,
)
from orchestrator.published import (
    END,
    FLAG_SENTENCES,
    PUBLISHED,
    REPORT,
    START,
    TABLES,
    _order_effect,
    _table,
    _verdict,
    current_section,
    provenance,
    published_summary,
    replace_section,
    results_section,
    run_folders,
    seeds_to_run,
)
from orchestrator.report_checks import DATED_FLAGS
from orchestrator.report_figures import ORDERS_FIGURE
from orchestrator.report_text import file_stems
from orchestrator.results import EPOCH_SCHEMA, TRIAL_SCHEMA, find_final_state, read_runs
from orchestrator.storage import RunStorage
from search_spaces import get_space
from trainables import TrainConfig, WhatNet, WhereNet

ROOT = Path(__file__).resolve().parents[1]
SHARED_RUNS = ROOT.parent / "shared" / "published-runs"
GOLDEN = ROOT / "tests" / "data" / "golden-table1-1-smoke"
FOLDERS = run_folders(ROOT)
FINISHED = ("completed", "early_stopped")
EVERY_EPOCH = publish_run.EPOCHS_KEPT["every_epoch"]


def test_there_are_published_runs():
    assert FOLDERS, f"no run folder (with run.json) under {ROOT / PUBLISHED}"


def _readable(table, schema, what: str) -> pd.DataFrame:
    """Every column of the file is a column of the project's schema, with its type; as the reports read it."""
    for field in table.schema:
        assert field.name in schema.names, f"{what}: column {field.name} is not in the schema"
        assert field.type == schema.field(field.name).type, f"{what}: {field.name} is {field.type}"
    return table.to_pandas()


def _tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = _readable(pq.read_table(folder / "trials.parquet"), TRIAL_SCHEMA, f"{folder.name}/trials.parquet")
    files = sorted((folder / "epochs").glob("*.parquet"))
    assert [f.name for f in files] == [EPOCHS_FILE], (
        f"{folder.name}: not a published copy (python -m orchestrator.publish_run)"
    )
    return trials, _readable(pq.read_table(files[0]), EPOCH_SCHEMA, f"{folder.name}/epochs/{EPOCHS_FILE}")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_run_folder_is_well_formed(folder):
    info = json.loads((folder / "run.json").read_text())
    assert info["space"] and info["scale"] == "paper"
    trials, epochs = _tables(folder)
    (run,) = read_runs([str(folder)], str(folder.parent))  # the project's reader, with its schemas
    assert len(run.trials) == len(trials) and len(run.epochs) == len(epochs)
    assert not trials["trial_id"].duplicated().any(), "one row per trial in trials.parquet"
    assert set(epochs["trial_id"]) == set(trials["trial_id"])
    assert not epochs.duplicated(["trial_id", "epoch"]).any(), "one row per trial and epoch"
    assert set(info["published"]) >= {"epochs", "states", "state_trials"}
    every_epoch = info["published"]["epochs"] == EVERY_EPOCH
    assert every_epoch or info["published"]["epochs"] == publish_run.EPOCHS_KEPT["phase_ends"]
    for _, trial in trials.iterrows():
        mine = epochs[epochs["trial_id"] == trial["trial_id"]].sort_values("epoch")
        n, k = int(trial["epochs_completed"]), int(trial["k"])
        kept = sorted(e for e in range(1, n + 1) if every_epoch or e % k == 0 or e == n)
        assert mine["epoch"].tolist() == kept, f"{trial['trial_id']}: not the epochs run.json names, of 1..{n}"
        last = mine.iloc[-1]
        assert trial["test_acc"] == last["test_acc"] and trial["final_train_acc"] == last["final_train_acc"]
        if trial["status"] == "TERMINATED" and trial["outcome"] in FINISHED:
            assert n == trial["epochs"] or trial["outcome"] == "early_stopped"
    for path in (folder / "trials.parquet", folder / "epochs" / EPOCHS_FILE):  # publish_run.write_compact_parquet
        meta = pq.read_metadata(path)
        assert b"ARROW:schema" not in (meta.metadata or {}), path
        columns = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
        assert not any(column.is_stats_set for column in columns), path
        assert not any(column.has_dictionary_page for column in columns), path  # plain encoding: smaller here


def _committed_state(folder: Path, trial_id: str) -> dict:
    """The committed final state of a published trial, as saved (compact weights: read them through full_weights)."""
    return torch.load(find_final_state(RunStorage(str(folder)), trial_id), map_location="cpu", weights_only=True)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_final_states_are_the_trials_networks(folder):
    trials, epochs = _tables(folder)
    named = json.loads((folder / "run.json").read_text())["published"]["state_trials"]
    storage = RunStorage(str(folder))
    with_state = [t for t in trials["trial_id"] if find_final_state(storage, t) is not None]
    assert with_state == named, f"{folder.name}: states of {with_state}, run.json names {named}"  # --states 0: none
    for trial_id in named:
        state = _committed_state(folder, trial_id)
        assert set(state) == set(STATE_KEYS) and set(state["nets"]) == {"where", "what"}
        dtypes = {w.dtype for net in state["nets"].values() for w in net.values()}
        assert dtypes == {torch.int8, torch.float32, torch.float16}  # compact: int8 x scale, float16 biases
        classes = len(TrainConfig.from_flat(state["config"]).mosaic.foreground)
        for name, net in (("where", WhereNet()), ("what", WhatNet(n_classes=classes))):
            full = full_weights(state["nets"][name])
            assert full.keys() == net.state_dict().keys() and all(w.is_floating_point() for w in full.values())
        trial = trials.set_index("trial_id").loc[trial_id]
        assert state["epoch"] == trial["epochs_completed"] == epochs[epochs["trial_id"] == trial_id]["epoch"].max()
        assert all(state["config"][key] == trial[key] for key in ("seed", "k", "what_lr", "where_lr", "epochs"))


def test_every_committed_attention_picture_is_of_a_trial_whose_state_is_committed():
    """The report draws an experiment's picture from its best finished trial (attention.plan_pictures): that trial's
    state is committed, so every committed picture, the README's among them, can be redrawn from the repository (and
    CIFAR-10), whatever later runs published with --states 0 add."""
    results, summary = published_summary(ROOT)
    best = best_trials(results).set_index("experiment_id")
    stems = file_stems(summary["experiment_id"])
    pictures = {p.stem for p in (ROOT / REPORT / "attention").glob("*.png")}
    drawn = [exp_id for exp_id, stem in stems.items() if stem in pictures]
    assert drawn and len(drawn) == len(pictures), (sorted(pictures), stems)
    for exp_id in drawn:
        trial = best.loc[exp_id]
        storage = RunStorage(str(ROOT / PUBLISHED / trial["folder"]))
        assert find_final_state(storage, trial["trial_id"]) is not None, (exp_id, trial["folder"], trial["trial_id"])


def test_attention_pictures_pass_over_experiments_published_without_a_state(tmp_path):
    """Row 7 of both tables was published without states and scores best: --attention 1 draws the best experiment
    that has one (Table 2 row 1) and names the two it could not draw, instead of spending its picture on them."""
    from orchestrator.cli import main

    data = real_data_dir()
    if data is None:
        pytest.skip("official CIFAR-10 copy not present (../shared/cifar-10-batches-bin or $MOSAIC_SWEEP_DATA)")
    folders = [ROOT / PUBLISHED / f for f in ("tables-row7-paper-h200", "table2-row1-paper-cpu")]
    out = tmp_path / "report"
    assert main(["report", *map(str, folders), "--out", str(out), "--data-dir", str(data), "--attention", "1"]) == 0
    assert [p.name for p in (out / "attention").iterdir()] == ["table2-1.png"]
    text = " ".join((out / "report.md").read_text().split())
    assert "No final state of the best seed under tune/ for table1/7, table2/7; no picture." in text
    # nothing to draw at all: the same note, and no count of pictures
    alone = tmp_path / "alone"
    assert main(["report", str(folders[0]), "--out", str(alone), "--data-dir", str(data), "--attention", "2"]) == 0
    text = " ".join((alone / "report.md").read_text().split())
    assert "No final state of the best seed under tune/ for table1/7, table2/7; no picture." in text
    assert not list((alone / "attention").glob("*.png")) and "0 pictures" not in text


def test_a_report_with_nothing_to_draw_needs_no_cifar(tmp_path):
    """Row 7 has no state to draw: its report says so, and does not read CIFAR-10 (absent here) to say it; beside a
    run with a state, the missing CIFAR-10 is said, and row 7's missing state still is."""
    from orchestrator.cli import main

    folder, out = ROOT / PUBLISHED / "tables-row7-paper-h200", tmp_path / "report"
    (tmp_path / "no-data").mkdir()
    args = ["report", str(folder), "--out", str(out), "--data-dir", str(tmp_path / "no-data"), "--attention", "2"]
    assert main(args) == 0
    text = " ".join((out / "report.md").read_text().split())
    assert "No final state of the best seed under tune/ for table1/7, table2/7; no picture." in text
    assert "CIFAR-10 images are needed" not in text
    # something to draw, but no CIFAR-10: that is said, and what else the pictures lack still is
    other, out = ROOT / PUBLISHED / "table2-row1-paper-cpu", tmp_path / "both"
    args = ["report", str(folder), str(other), "--out", str(out), "--data-dir", str(tmp_path / "no-data")]
    assert main(args) == 0
    text = " ".join((out / "report.md").read_text().split())
    assert "skipped: the CIFAR-10 images are needed" in text
    assert "No final state of the best seed under tune/ for table1/7, table2/7; no picture." in text


REMOVED = {f: json.loads((f / "run.json").read_text())["published"].get("states_removed") for f in FOLDERS}


@pytest.mark.parametrize("folder,removed", [pytest.param(f, r, id=f.name) for f, r in REMOVED.items() if r])
def test_removed_states_are_named_and_in_the_history(folder, removed):
    """A state dropped for the budget is recorded in run.json (trial, path, commit) and that commit holds it, so
    `git show COMMIT:PATH` brings it back."""
    trials, _ = _tables(folder)
    assert set(removed["trials"]) <= set(trials["trial_id"]) and len(removed["paths"]) == len(removed["trials"])
    for trial_id, path in zip(removed["trials"], removed["paths"]):
        assert trial_id in path and not (folder / path).exists(), (folder.name, path)
    commit = f"{removed['commit']}^{{commit}}"
    if not shutil.which("git") or subprocess.run(["git", "cat-file", "-e", commit], cwd=ROOT).returncode:
        pytest.skip(f"commit {removed['commit']} is not in this checkout (not a git clone, or a shallow one)")
    for path in removed["paths"]:
        where = f"{removed['commit']}:{(folder / path).relative_to(ROOT).as_posix()}"
        kind = subprocess.run(["git", "cat-file", "-t", where], cwd=ROOT, capture_output=True, text=True)
        assert kind.stdout.strip() == "blob", (where, kind.stderr)


def test_committed_states_load():
    from orchestrator.attention import load_weights

    for folder in FOLDERS:
        storage = RunStorage(str(folder))
        for trial_id in json.loads((folder / "run.json").read_text())["published"]["state_trials"]:
            weights = load_weights(storage, find_final_state(storage, trial_id))
            assert weights.where.training is False and weights.epoch > 0


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_committed_compact_networks_score_what_the_trial_reported(folder, real_images):
    """Made compact (publish_run: int8 weights, float16 biases), a trial's final networks still score its final
    test accuracy and foreground alpha."""
    from trainables import StageWiseTrainer, TrainConfig

    trials = pq.read_table(folder / "trials.parquet").to_pandas().set_index("trial_id")
    for trial_id in json.loads((folder / "run.json").read_text())["published"]["state_trials"]:
        state = _committed_state(folder, trial_id)
        trainer = StageWiseTrainer(TrainConfig.from_flat(state["config"]), real_images, "cpu")
        for name, net in trainer.nets.items():
            net.load_state_dict(full_weights(state["nets"][name]))
        score = trainer.evaluate("test")
        reported = trials.loc[trial_id]
        assert abs(score["test_acc"] - reported["test_acc"]) <= 0.002, (folder.name, trial_id, score["test_acc"])
        assert abs(score["test_fg_alpha"] - reported["test_fg_alpha"]) <= 0.003, (folder.name, trial_id)


def _same_content(made: Path, committed: Path) -> None:
    """Equal files by what they hold (Parquet tables and schemas, JSON, saved tensors), whatever the pyarrow or torch
    version that wrote them."""
    if made.suffix == ".parquet":
        a, b = pq.read_table(made), pq.read_table(committed)
        assert a.schema.equals(b.schema, check_metadata=True) and a.equals(b), committed
    elif made.suffix == ".json":
        assert json.loads(made.read_text()) == json.loads(committed.read_text()), committed
    elif made.suffix == ".pt":
        a, b = (torch.load(p, map_location="cpu", weights_only=True) for p in (made, committed))
        assert a.keys() == b.keys() and a["config"] == b["config"] and a["epoch"] == b["epoch"], committed
        assert a["nets"].keys() == b["nets"].keys(), committed
        for net in a["nets"]:
            assert a["nets"][net].keys() == b["nets"][net].keys(), (committed, net)
            for key, tensor in a["nets"][net].items():
                other = b["nets"][net][key]
                assert tensor.dtype == other.dtype and torch.equal(tensor, other), (committed, net, key)
    else:
        assert made.read_bytes() == committed.read_bytes(), committed


def test_committed_copies_are_what_publish_run_makes_of_the_shared_runs(tmp_path):
    """The committed folder is `python -m orchestrator.publish_run` of the run as it was made, value for value."""
    if not SHARED_RUNS.is_dir():
        pytest.skip(f"no shared copy at {SHARED_RUNS}")
    for shared in sorted(p for p in SHARED_RUNS.iterdir() if p.is_dir()):
        committed = ROOT / PUBLISHED / shared.name
        every_epoch = json.loads((committed / "run.json").read_text())["published"]["epochs"] == EVERY_EPOCH
        made = publish(str(shared), tmp_path, name=shared.name, every_epoch=every_epoch)
        files = sorted(p.relative_to(made) for p in made.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()), shared.name
        for f in files:
            _same_content(made / f, committed / f)
        assert not [p for p in made.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_publishing_refuses_what_it_must_not_publish(tmp_path):
    from orchestrator.errors import UsageError

    assert publish_run.main([str(GOLDEN), "--root", str(tmp_path)]) == 2  # a smoke-scale run
    if not SHARED_RUNS.is_dir():
        pytest.skip(f"no shared copy at {SHARED_RUNS}")
    shared = next(p for p in SHARED_RUNS.iterdir() if p.is_dir())
    publish(str(shared), tmp_path, name="once", states=0)
    assert not list((tmp_path / PUBLISHED / "once").rglob("*.pt"))  # --states 0: no networks
    with pytest.raises(UsageError, match="never overwritten"):
        publish(str(shared), tmp_path, name="once")
    # a run the time limit stopped is finished with --resume first, then published once
    stopped = tmp_path / "stopped"
    shutil.copytree(shared, stopped)
    trials = pq.read_table(stopped / "trials.parquet").to_pandas()
    cut_off = trials.assign(trial_id="2c3d5_00001", seed=1, status="INTERRUPTED", outcome="running")
    trials = pd.concat([trials, cut_off], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(trials, preserve_index=False), stopped / "trials.parquet")
    with pytest.raises(UsageError, match=r"1 trial has not ended \(INTERRUPTED\): finish the run"):
        publish(str(stopped), tmp_path, name="stopped")
    # a paper-scale run of other settings (a space file, --set) is another experiment than the published one
    other = tmp_path / "other"
    shutil.copytree(shared, other)
    for path in [other / "trials.parquet", *(other / "epochs").rglob("*.parquet")]:
        pq.write_table(pq.read_table(path).to_pandas().assign(what_lr=0.05).pipe(pa.Table.from_pandas), path)
    with pytest.raises(UsageError, match=r"table1/1 ran with what_lr 0.05 \(paper 0.01\): only the paper's"):
        publish(str(other), tmp_path, name="other")
    assert publish_run.main([str(shared), "--root", str(tmp_path), "--states", "-1"]) == 2
    # a copy that would take results/published over its budget: refused, nothing left behind
    full = tmp_path / "full"
    (full / PUBLISHED).mkdir(parents=True)
    (full / PUBLISHED / "filler.bin").write_bytes(b"\0" * (BUDGET_BYTES - 100_000))
    with pytest.raises(UsageError, match=r"would take results/published to [\d,]+ bytes, over its 3,000,000-byte"):
        publish(str(shared), full, name="late")
    assert sorted(p.name for p in (full / PUBLISHED).iterdir()) == ["filler.bin"]
    assert publish(str(shared), full, name="late", states=0).is_dir()  # without its 0.14 MB state it fits
    assert published_bytes(full) < BUDGET_BYTES


def test_committed_results_fit_the_budget():
    files = [f for f in tracked_files(ROOT) if f.is_file()]
    names = {f.relative_to(ROOT / PUBLISHED).as_posix() for f in files}
    assert {"README.md", "report/report.md", "report/summary.csv", "report/plots/comparison_test_acc.png"} <= names
    assert "report/index.html" not in names and "report/trials.csv" not in names
    total = sum(f.stat().st_size for f in files)
    assert total < BUDGET_BYTES, f"results/published holds {total:,} bytes, over the {BUDGET_BYTES:,} budget"


def _all_trials() -> pd.DataFrame:
    """Every published run's trials.parquet, as plain pandas reads it."""
    return pd.concat([pq.read_table(f / "trials.parquet").to_pandas() for f in FOLDERS], ignore_index=True)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_a_folder_name_says_where_its_run_was_made(folder):
    """results/published/README.md calls the `-cpu` folders the 2-core CPU machine's runs: each epoch's device and the
    provenance table's machine say so (an `-h200` run made its first epochs on the H200, some went on on CPU)."""
    devices = set(pq.read_table(folder / "epochs", columns=["device"]).column("device").to_pylist())
    machine = provenance(ROOT)[folder.name]["machine"]
    if folder.name.endswith("-cpu"):
        assert devices == {"cpu"} and machine.startswith("2 CPU cores, 24 GiB, no GPU")
    else:
        assert folder.name.endswith("-h200") and "cuda (NVIDIA H200)" in devices
        assert "one NVIDIA H200" in machine.split(";")[0]


def test_the_orders_figure_is_committed_and_shown_once_a_row_ran_in_both_tables():
    trials = _all_trials()
    number = trials["experiment"].str.split("/").str[-1]
    rows = {t: set(number[trials["experiment"].str.startswith(f"{t}/")]) for t in TABLES}
    both = bool(rows["table1"] & rows["table2"])
    figure = f"report/{ORDERS_FIGURE.format(family='table')}"
    names = {f.relative_to(ROOT / PUBLISHED).as_posix() for f in tracked_files(ROOT)}
    assert (figure in names) == both, (figure, sorted(rows["table2"]))
    section = current_section((ROOT / "README.md").read_text())
    assert (f"]({PUBLISHED.as_posix()}/{figure})" in section) == both


def test_readme_section_is_what_the_generator_writes():
    readme = (ROOT / "README.md").read_text()
    assert readme.count(START) == 1 and readme.count(END) == 1
    assert current_section(readme) == results_section(ROOT), "run: python -m orchestrator.published"


def _readme_rows(heading: str) -> dict[str, list[str]]:
    """The README table under `heading` in the Results section: row number -> cells."""
    section = current_section((ROOT / "README.md").read_text())
    block = section.split(heading, 1)[1].split("###", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines() if line.startswith("|")]
    head = rows[0]
    return {r[0]: dict(zip(head, r)) for r in rows[2:]}


def test_readme_numbers_equal_the_parquet():
    """Mean (and sd) over finished paper-scale trials, computed here with plain pandas, appear in the README."""
    trials = _all_trials()
    done = trials[
        (trials["scale"] == "paper")
        & (trials["protocol"] == "paper")
        & (trials["status"] == "TERMINATED")
        & trials["outcome"].isin(FINISHED)
    ]
    for table, heading in (("table1", "### Table 1"), ("table2", "### Table 2")):
        rows = _readme_rows(heading)
        assert sorted(rows, key=int) == [str(i) for i in range(1, 9)]
        for number, cells in rows.items():
            mine = done[done["experiment"] == f"{table}/{number}"]
            assert cells["seeds"].split()[0] == str(len(mine))
            for column, name in (("final_train_acc", "train acc (ours)"), ("test_acc", "test acc (ours)")):
                if mine.empty:
                    assert cells[name] in ("not run yet", "no finished seed yet")
                    continue
                expected = f"{mine[column].mean():.3f}"
                if len(mine) > 1:
                    expected += f" ± {mine[column].std(ddof=1):.3f}"
                assert cells[name].startswith(expected), (table, number, name, cells[name], expected)
            what_first = done[done["experiment"] == f"table1/{number}"]
            if table == "table2":  # beside Table 1's row of the same settings
                cell = cells["test acc, what first (Table 1, ours)"]
                if len(what_first):
                    assert cell.startswith(f"{what_first['test_acc'].mean():.3f}"), (number, cell)
                else:
                    assert cell in ("not run yet", "no finished seed yet"), (number, cell)
            if not mine.empty:
                _assert_focus_line(table, number, mine, what_first)
    # the row published so far, by value: Table 1 row 1 at paper scale, seed 0
    row1 = done[(done["experiment"] == "table1/1") & (done["seed"] == 0)]
    assert round(float(row1["test_acc"].iloc[0]), 3) == 0.839
    assert round(float(row1["final_train_acc"].iloc[0]), 3) == 0.959
    table1 = _readme_rows("### Table 1")
    assert table1["1"]["test acc (published)"] == "0.81" and table1["1"]["train acc (published)"] == "0.96"
    if len(row1) == 1 and len(done[done["experiment"] == "table1/1"]) == 1:
        assert table1["1"]["test acc (ours)"] == "0.839 (n=1, no sd)"
        assert re.search(
            r"- row 1: 1 seed: no sd yet, ours − published = \+0\.029 test, -0\.001 train\.",
            current_section((ROOT / "README.md").read_text()),
        )


def test_readme_trial_times_are_the_last_epochs_time_total_s():
    """A resumed run's trial time counts every session (Tune's time_total_s goes on from the checkpoint)."""
    section = current_section((ROOT / "README.md").read_text())
    block = section.split("### How they were made", 1)[1]
    for folder in FOLDERS:
        epochs = pq.read_table(folder / "epochs" / EPOCHS_FILE).to_pandas().sort_values("epoch")
        last = epochs.groupby("trial_id").last().reset_index()
        pack = last["pack_id"].fillna(last["trial_id"])  # a pack's members carry the pack's time: count it once
        seconds = float(last["time_total_s"][~pack.duplicated()].sum())
        (line,) = [ln for ln in block.splitlines() if ln.startswith(f"| `{folder.name}` |")]
        assert f"| {seconds:,.0f} s ({seconds / 3600:.1f} h) |" in line, (folder.name, line)


def _assert_focus_line(table: str, number: str, mine: pd.DataFrame, what_first: pd.DataFrame) -> None:
    """The row's "where the test accuracy comes from" line holds the means of its trials' focus outcomes; a Table 2
    row's, the difference of its means from those of Table 1's row (what first) when that has run."""
    section = current_section((ROOT / "README.md").read_text())
    block = section.split("### Table 1" if table == "table1" else "### Table 2", 1)[1].split("###", 1)[0]
    (line,) = [ln for ln in block.splitlines() if ln.startswith(f"- row {number}: ")]
    if table == "table2" and len(what_first):
        test = mine["test_acc"].mean() - what_first["test_acc"].mean()
        train = mine["final_train_acc"].mean() - what_first["final_train_acc"].mean()
        assert line.startswith(
            f"- row {number}: where first − what first (Table 1's row, ours) = {test:+.3f} test, {train:+.3f} train "
        ), (number, line)
    ftpt, ffpt, ftpf, ffpf = (mine[f"test_{f}"].mean() for f in ("ftpt", "ffpt", "ftpf", "ffpf"))
    expected = (
        f"test accuracy {ftpt + ffpt:.3f} = FTPT {ftpt:.3f} + FFPT {ffpt:.3f}: attention on the foreground tile in "
        f"{ftpt + ftpf:.3f} of the test mosaics, the what network right on {ftpt / (ftpt + ftpf):.3f} of those and "
        f"on {ffpt / (ffpt + ffpf):.3f} of the rest; mean alpha on the foreground tile "
        f"{mine['test_fg_alpha'].mean():.3f} (uniform attention: 0.111), largest alpha >= 0.5 in "
        f"{mine['test_alpha_ge_half'].mean():.3f} of the test mosaics."
    )
    # a flag's sentence may follow (collapse, saturation, fall: checked for row 5 of both tables)
    focus = re.split("|".join(re.escape(opening) for opening, _ in FLAG_SENTENCES.values()), line, maxsplit=1)[0]
    assert focus.endswith(expected), (table, number, line, expected)
    assert f"{ftpt + ffpt:.3f}" == f"{mine['test_acc'].mean():.3f}"  # the four outcomes partition the mosaics


def test_verdict_uses_two_sample_sd():
    row = pd.Series(
        {"seeds": 3, "test_acc_mean": 0.80, "test_acc_std": 0.01, "train_acc_mean": 0.95, "train_acc_std": 0.02}
    )
    text = _verdict(row, ref_train=0.97, ref_test=0.43)
    assert "test: published 0.43 NOT inside our mean ± 2 sd [0.780, 0.820]" in text
    assert "train: published 0.97 inside our mean ± 2 sd [0.910, 0.990]" in text
    assert text.startswith("3 seeds: test:")


def test_order_effect_says_which_seed_count_is_which():
    def row(seeds, test, train):
        return pd.Series({"seeds": seeds, "test_acc_mean": test, "train_acc_mean": train})

    text = _order_effect(row(1, 0.844, 0.986), row(1, 0.839, 0.959))
    assert text == "where first − what first (Table 1's row, ours) = +0.005 test, +0.027 train (1 seed each)"
    assert _order_effect(row(3, 0.5, 0.9), row(3, 0.6, 0.9)).endswith("= -0.100 test, +0.000 train (3 seeds each)")
    assert _order_effect(row(1, 0.5, 0.9), row(5, 0.6, 0.9)).endswith("(1 seed where first, 5 what first)")


def test_table2_verdicts_say_so_when_a_row_stands_beside_its_table1_row():
    _, summary = published_summary(ROOT)
    assert _table("table2", summary)[1].startswith("Where first against what first")
    alone = summary[summary["experiment"] != "table1/1"]  # table2/1 has nothing to stand beside, table2/2 has
    assert _table("table2", alone)[1].startswith("Where first against what first")
    alone = alone[~alone["experiment"].str.startswith("table1/")]
    intro, verdicts = _table("table2", alone)[1:]
    assert intro == "Where the test accuracy comes from:" and verdicts
    assert not any("where first − what first" in v for v in verdicts)
    assert _table("table1", alone)[1].startswith("Verdict per row")


def test_published_runs_without_a_flagged_trial_summarise(tmp_path):
    """A published set with no flagged trial (here: Table 1 row 1 alone) has no flag sentences, and the whole set
    says each in the verdict of each row with such a trial: collapse (Table 1 rows 5 and 6), saturation (rows 5 and 8
    of both tables), fall (Table 2 row 5)."""
    shutil.copytree(ROOT / PUBLISHED / "table1-row1-paper-cpu", tmp_path / PUBLISHED / "table1-row1-paper-cpu")
    _, summary = published_summary(tmp_path)
    when = [f"{flag.prefix}_when" for flag in DATED_FLAGS]
    assert summary["experiment"].tolist() == ["table1/1"] and summary[when].isna().all(axis=None)
    verdicts = _table("table1", summary)[2]
    assert verdicts[0].startswith("- row 1: 1 seed") and "- row 2: not run yet." in verdicts
    assert not any(opening in v for v in verdicts for opening, _ in FLAG_SENTENCES.values())
    _, everything = published_summary(ROOT)
    lines = [v for t in ("table1", "table2") for v in _table(t, everything)[2]]
    flagged = {
        column: [v.split(":")[0] for v in lines if opening in v] for column, (opening, _) in FLAG_SENTENCES.items()
    }
    saturated = ["- row 5", "- row 8"] * 2
    assert flagged == {"collapsed": ["- row 5", "- row 6"], "saturated": saturated, "fell": ["- row 5"]}
    assert list(FLAG_SENTENCES) == [flag.prefix for flag in DATED_FLAGS]  # a sentence for every dated flag


def test_tracked_files_are_what_git_would_commit(tmp_path):
    """The budget counts what git tracks or would track: not the report's ignored files; odd names too (-z)."""
    if shutil.which("git") is None:
        pytest.skip("no git")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    folder = tmp_path / PUBLISHED
    (folder / "report").mkdir(parents=True)
    (folder / "report" / ".gitignore").write_text("/index.html\n")
    (folder / "report" / "index.html").write_bytes(b"x" * 1000)
    (folder / "run.bin").write_bytes(b"x" * 10)
    (folder / "r\u00e9sum\u00e9 run.bin").write_bytes(b"x" * 100)
    names = {f.relative_to(folder).as_posix() for f in tracked_files(tmp_path)}
    assert names == {"report/.gitignore", "r\u00e9sum\u00e9 run.bin", "run.bin"}
    assert published_bytes(tmp_path) == len("/index.html\n") + 10 + 100


def test_replace_section_keeps_the_rest():
    readme = f"intro\n\n## Results\n\n{START}\nold\n{END}\n\n## Quick start\n"
    new = replace_section(readme, "new\n")
    assert new == f"intro\n\n## Results\n\n{START}\nnew\n{END}\n\n## Quick start\n"
    assert current_section(new) == "new\n"


def test_phase_ends_keep_each_phase_end_and_every_trial_last_epoch():
    import pyarrow as pa

    from orchestrator.publish_run import epochs_to_publish

    rows = [("b", e, 5) for e in range(1, 8)] + [("a", e, 2) for e in range(1, 9)]  # b diverged after epoch 7
    table = pa.table({"trial_id": [r[0] for r in rows], "epoch": [r[1] for r in rows], "k": [r[2] for r in rows]})
    kept = epochs_to_publish(table)
    assert list(zip(kept["trial_id"].to_pylist(), kept["epoch"].to_pylist())) == [
        ("a", 2),
        ("a", 4),
        ("a", 6),
        ("a", 8),
        ("b", 5),
        ("b", 7),
    ]


def _one_line(path: Path) -> str:
    """A markdown file on one line, whatever the wrapping."""
    return " ".join(path.read_text().split())


def _note() -> str:
    """results/published/README.md (the notes) on one line."""
    return _one_line(ROOT / PUBLISHED / "README.md")


def _row_epochs(folder: str, experiment: str) -> pd.DataFrame:
    """The committed epochs of one table row of a published run, by epoch (skips when the run is not published)."""
    path = ROOT / PUBLISHED / folder / "epochs" / EPOCHS_FILE
    if not path.is_file():
        pytest.skip(f"{folder} is not published")
    epochs = pq.read_table(path).to_pandas()
    return epochs[epochs["experiment"] == experiment].set_index("epoch")


def _seeds(table: int, row: int, count: int = 2) -> tuple[pd.DataFrame, ...]:
    """Seeds 0 .. count-1 of a table row, each published from its own CPU run (seed s > 0's folder named -seed{s})."""
    folders = (f"table{table}-row{row}{f'-seed{s}' if s else ''}-paper-cpu" for s in range(count))
    seeds = tuple(_row_epochs(folder, f"table{table}/{row}") for folder in folders)
    assert all((rows["seed"] == seed).all() for seed, rows in enumerate(seeds))
    return seeds


def _cpu_seed_note(table: int, row: int, seed: int) -> str:
    """How the note on a seed published from its own CPU run opens."""
    return f"`table{table}-row{row}-seed{seed}-paper-cpu`, Table {table} row {row}, seed {seed}: "


def _train_test(last: pd.Series) -> str:
    """A trial's final numbers as the notes quote them: 'clean-pass train / test'."""
    return f"{last['final_train_acc']:.3f} / {last['test_acc']:.3f}"


def _headline(last: pd.Series, published: str) -> str:
    return f"clean-pass train {last['final_train_acc']:.3f}, test {last['test_acc']:.3f} (published {published})"


def _focus_and_attention(last: pd.Series) -> str:
    return (
        f"test FTPT {last['test_ftpt']:.3f}, FFPT {last['test_ffpt']:.3f}, FTPF {last['test_ftpf']:.3f}, FFPF "
        f"{last['test_ffpf']:.3f}; mean alpha on the foreground tile {last['test_fg_alpha']:.3f}"
    )


def _final_line(last: pd.Series, published: str) -> str:
    """A note's first line: the final numbers of a row, its focus outcomes and attention."""
    return f"{_headline(last, published)}; {_focus_and_attention(last)}"


def _beside_table1(last: pd.Series, other: pd.Series, row: int, aside: str = "", ours: str = "ours") -> str:
    """A Table 2 note's first line: its final numbers beside those of Table 1's row (`ours`), focus and attention."""
    return (
        f"clean-pass train {last['final_train_acc']:.3f}, test {last['test_acc']:.3f} (Table 1 row {row}, {ours}: "
        f"{_train_test(other)}{aside}); {_focus_and_attention(last)}"
    )


def _at(rows: pd.DataFrame, epoch: int, column: str) -> str:
    return f"{rows.loc[epoch, column]:.3f}"


def _published(reference) -> str:
    """A published row's 'train / test', as the notes quote it."""
    return f"{reference.train_acc:.2f} / {reference.test_acc:.2f}"


def _mean_sd(runs, epoch: int, column: str) -> str:
    """'mean ± sd' of one column over seeds at one epoch, as the notes quote it."""
    values = pd.Series([rows.loc[epoch, column] for rows in runs])
    return f"{values.mean():.3f} ± {values.std():.3f}"


def _signed(value: float) -> str:
    """A difference as the notes quote it: '+0.012', or '−0.004' with a minus sign."""
    return f"{value:+.3f}".replace("-", "−")


def _assert_inside_two_sd(runs, epoch: int, reference) -> None:
    """The published row's train and test accuracy lie inside the seeds' mean ± 2 sd, as a note says."""
    for column, value in (("final_train_acc", reference.train_acc), ("test_acc", reference.test_acc)):
        values = pd.Series([rows.loc[epoch, column] for rows in runs])
        assert abs(value - values.mean()) < 2 * values.std(), column


def _row3_alpha_ends(rows: pd.DataFrame) -> list[str]:
    """Table 1 row 3's mean foreground alpha after its first three where phases and at its end."""
    return [_at(rows, e, "test_fg_alpha") for e in (40, 80, 120, 280)]


def _row3_where_phase_alphas(rows: pd.DataFrame) -> str:
    """How the row 3 notes quote those alphas."""
    a = _row3_alpha_ends(rows)
    return (
        f"{a[0]} after the first where phase (epoch 40), {a[1]} after the second (80), {a[2]} after the third (120) "
        f"and {a[3]} at the end"
    )


def _row3_running_train(rows: pd.DataFrame) -> str:
    """How the row 3 notes quote the running train accuracy: the what network memorising the training mosaics."""
    train = [_at(rows, e, "train_acc") for e in (20, 140, 280)]
    return f"running train accuracy {train[0]} at epoch 20, {train[1]} at 140, {train[2]} at 280"


def test_row_notes_quote_the_committed_data():
    """The hand-written note on Table 1 row 3 (results/published/README.md) quotes its run's phase ends exactly."""
    note = _note()
    row3 = _row_epochs("table1-row3-paper-cpu", "table1/3")
    row1 = _row_epochs("table1-row1-paper-cpu", "table1/1")
    assert f"the mean foreground alpha is {_row3_where_phase_alphas(row3)}" in note
    assert f"{row1.loc[40, 'test_fg_alpha']:.3f} by epoch 40, {row1.loc[180, 'test_fg_alpha']:.3f} at the end" in note
    assert _row3_running_train(row3) in note
    best = row3["test_acc"].idxmax()
    assert (
        f"highest at epoch {best} ({row3.loc[best, 'test_acc']:.3f}) and ends at {row3.loc[280, 'test_acc']:.3f}"
        in note
    )
    last = row3.loc[280]
    assert (last["test_alpha_ge_half"], last["phase"]) == (0.0, "where")
    assert _headline(last, "0.97 / 0.43") in note


def test_row1_seed1_note_quotes_the_committed_data():
    """The note on Table 1 row 1's seed 1 quotes its phase ends, and seed 0's, exactly."""
    note = _note()
    seed0, seed1 = _seeds(1, 1)
    last, first = seed1.loc[180], seed0.loc[180]
    assert _final_line(last, f"0.96 / 0.81; seed 0: {_train_test(first)}") in note
    where_ends = seed1.index[seed1["phase"] == "where"]
    assert where_ends[:7].tolist() == list(range(10, 71, 10))  # k = 5: where phases end at 10, 20, ...
    assert (seed1.loc[:65, "test_fg_alpha"] - 1 / 9).abs().max() < 0.001 < seed1.loc[70, "test_fg_alpha"] - 1 / 9
    assert "within 0.001 of 1/9 to epoch 65" in note and "the seventh (epochs 66-70)" in note
    assert f"seed 0: {_at(seed0, 30, 'test_fg_alpha')} by epoch 30, {_at(seed0, 40, 'test_fg_alpha')} by 40" in note
    assert f"took it to {_at(seed1, 70, 'test_fg_alpha')}" in note
    assert (
        f"{_at(seed1, 100, 'test_fg_alpha')} at epoch 100 (seed 0: {_at(seed0, 70, 'test_fg_alpha')} at 70), "
        f"{_at(seed1, 120, 'test_fg_alpha')} at 120 and {_at(seed1, 180, 'test_fg_alpha')} at the end (seed 0: "
        f"{_at(seed0, 180, 'test_fg_alpha')})" in note
    )
    gaps = [seed0.loc[e - 30, "test_fg_alpha"] - seed1.loc[e, "test_fg_alpha"] for e in range(70, 181, 10)]
    assert 0.08 < max(map(abs, gaps)) < 0.09 and sum(g > 0 for g in gaps) == 10 and len(gaps) == 12
    assert "within 0.09 of seed 0's 30 epochs (three where phases) earlier, lower at 10 of 12" in note
    best = seed1["test_acc"].idxmax()
    assert best == 165 and f"highest at epoch 165 ({_at(seed1, 165, 'test_acc')}) and ends at" in note
    assert f"{last['test_acc']:.3f}" == "0.810" and f"seed 0 ended at {first['test_acc']:.3f}" in note
    # "inside our mean ± 2 sd in train and test accuracy"
    for column, published in (("final_train_acc", 0.96), ("test_acc", 0.81)):
        values = pd.Series([last[column], first[column]])
        assert abs(values.mean() - published) <= 2 * values.std()
    assert "lies inside our mean ± 2 sd in train and test accuracy" in note


def test_row3_seed1_note_quotes_the_committed_data():
    """The note on Table 1 row 3's seed 1 quotes its phase ends, and seed 0's, exactly."""
    note = _note()
    seed0, seed1 = _seeds(1, 3)
    assert (seed1.loc[[40, 80, 120, 280], "phase"] == "where").all()  # where phases end at these epochs
    assert f"the mean foreground alpha is {_row3_where_phase_alphas(seed1)}" in note
    assert f"(seed 0: {', '.join(_row3_alpha_ends(seed0))})" in note
    assert (seed1["test_fg_alpha"] - 1 / 9).abs().max() < 0.001  # "within 0.001 of uniform at every phase end"
    assert (seed1["test_alpha_ge_half"] == 0).all()
    assert _row3_running_train(seed1) in note
    best = seed1["test_acc"].max()
    at_best = seed1.index[seed1["test_acc"] == best].tolist()
    assert at_best == [60, 80]  # "peaks at the end of the second what phase and stays there through a where phase"
    assert f"peaks at {best:.3f} (epochs 60 and 80) and falls to {_at(seed1, 280, 'test_acc')}" in note
    last, first = seed1.loc[280], seed0.loc[280]
    assert _final_line(last, f"0.97 / 0.43; seed 0: {_train_test(first)}") in note


def test_row3_seed2_note_quotes_the_committed_data():
    """The note on Table 1 row 3's seed 2 quotes its phase ends exactly, and its three-seed verdict holds."""
    note = _note()
    seeds = _seeds(1, 3, count=3)
    seed2 = seeds[2]
    lasts = [rows.loc[280] for rows in seeds]
    last = lasts[2]
    published = f"0.97 / 0.43; seed 0: {_train_test(lasts[0])}, seed 1: {_train_test(lasts[1])}"
    assert f"{_final_line(last, published)}, no test mosaic with a largest alpha >= 0.5 at any phase end" in note
    assert (seed2["test_alpha_ge_half"] == 0).all()
    off_uniform = (seed2["test_fg_alpha"] - 1 / 9).abs()
    assert off_uniform.loc[:140].max() < 0.001 < off_uniform.loc[160]  # the fourth where phase (141-160) leaves it
    assert (seed2.loc[[40, 80, 120, 160], "phase"] == "where").all()
    assert f"the mean foreground alpha is {_row3_where_phase_alphas(seed2)}" in note
    assert seed2["test_fg_alpha"].idxmax() == 200
    assert (
        f"({_at(seed2, 160, 'test_fg_alpha')} at epoch 160, highest {_at(seed2, 200, 'test_fg_alpha')} at 200)" in note
    )
    assert _row3_running_train(seed2) in note
    best = seed2["test_acc"].idxmax()
    assert (
        f"peaks at {_at(seed2, best, 'test_acc')} (epoch {best}) and falls to {last['test_acc']:.3f} at the end" in note
    )
    columns = ("final_train_acc", "test_acc", "test_fg_alpha")
    train, test, alpha = (pd.Series([rows[column] for rows in lasts]) for column in columns)
    # "the final test accuracy follows the final foreground alpha", in the note's order
    assert alpha.sort_values().index.tolist() == test.sort_values().index.tolist() == [1, 2, 0]
    a, t = (values.map("{:.3f}".format) for values in (alpha, test))
    assert f"(seed 0: alpha {a[0]}, test {t[0]}; seed 2: {a[2]}, {t[2]}; seed 1: {a[1]}, {t[1]})" in note
    assert test[2] - test[1] < test[0] - test[2]  # between the two (the order above), nearer seed 1
    assert "Seed 2 (next) attended a little and ended between the two in test accuracy, nearer this one." in note
    for ours, value in ((train, 0.97), (test, 0.43)):
        assert abs(ours.mean() - value) <= 2 * ours.std()
    assert f"(train {train.mean():.3f} ± {train.std():.3f}, test {test.mean():.3f} ± {test.std():.3f})" in note
    near = [s for s in range(3) if abs(train[s] - 0.97) < 0.002 and abs(test[s] - 0.43) < 0.035]
    assert near == [1, 2] and "two of the three end within 0.002 of its train accuracy and 0.035" in note


def test_row6_note_quotes_the_committed_data():
    """The note on Table 1 row 6 quotes its run's epochs (all committed: --every-epoch) exactly."""
    note = _note()
    row6 = _row_epochs("table1-row6-paper-cpu", "table1/6")
    assert row6.index.tolist() == list(range(1, 501))

    def at(epoch, column):
        return f"{row6.loc[epoch, column]:.3f}"

    last = row6.loc[500]
    assert _final_line(last, "0.86 / 0.41") in note
    assert (
        f"from uniform ({at(50, 'test_fg_alpha')} at epoch 50) to {at(100, 'test_fg_alpha')} and the test accuracy "
        f"from {at(50, 'test_acc')} to {at(100, 'test_acc')} (epoch 100)" in note
    )
    assert f"running train accuracy {at(150, 'train_acc')} at epoch 150, {at(250, 'train_acc')} at 250" in note
    ends = [row6.loc[e, "test_acc"] for e in range(150, 501, 50)]
    assert (
        f"stays between {min(ends):.3f} and {max(ends):.3f} ({', '.join(f'{a:.3f}' for a in ends[:-1])}, "
        f"{ends[-1]:.3f} at epochs 150 to 500)" in note
    )
    where = [row6.loc[start : start + 49] for start in range(151, 500, 100)]  # where phases 2-5
    assert all((w["phase"] == "where").all() for w in where)
    low = [w["test_fg_alpha"].idxmin() for w in where]
    assert low[:3] == [151, 253, 360], low
    assert (
        f"at epoch 151 the foreground alpha fell from {at(150, 'test_fg_alpha')} to {at(151, 'test_fg_alpha')}, the "
        f"running train accuracy from {at(150, 'train_acc')} to {at(151, 'train_acc')} and the test accuracy to "
        f"{at(151, 'test_acc')} (the phase ended at alpha {at(200, 'test_fg_alpha')}); in the third the alpha fell "
        f"from {at(250, 'test_fg_alpha')} to {at(253, 'test_fg_alpha')} (epoch 253, test {at(253, 'test_acc')}) and "
        f"ended at {at(300, 'test_fg_alpha')}; in the fourth it swung between {at(360, 'test_fg_alpha')} (epoch 360) "
        f"and {where[2]['test_fg_alpha'].max():.3f}, and in the last it hardly moved (lowest "
        f"{at(low[3], 'test_fg_alpha')}, from {at(450, 'test_fg_alpha')})" in note
    )
    assert row6.loc[150, "test_fg_alpha"] > row6.loc[200, "test_fg_alpha"]  # "not quite to where it was"
    lowest = row6.loc[101:, "test_acc"].idxmin()
    assert f"after epoch 100 our lowest test accuracy is {at(lowest, 'test_acc')} (epoch {lowest})" in note
    assert f"0.86, is far below ours ({last['final_train_acc']:.3f})" in note


def _and(values: list[str]) -> str:
    """'a, b and c' (or 'a and b'), as the notes list the values of several seeds or epochs."""
    return f"{', '.join(values[:-1])} and {values[-1]}"


def test_row6_seed1_note_quotes_the_committed_data():
    """The note on Table 1 row 6's seed 1 (every epoch committed) quotes its epochs, and seed 0's, exactly: the death
    of its where network at epoch 352 and what the what network did after it."""
    note = _note()
    seed0, seed1 = _seeds(1, 6)
    assert seed1.index.tolist() == list(range(1, 501))
    last = seed1.loc[500]
    assert _final_line(last, f"0.86 / 0.41; seed 0: {_train_test(seed0.loc[500])}") in note
    ends = range(50, 351, 50)
    assert (
        f"test accuracy at the phase ends {', '.join(_at(seed1, e, 'test_acc') for e in ends)} (epochs 50-350; seed "
        f"0: {', '.join(_at(seed0, e, 'test_acc') for e in ends)})" in note
    )
    for rows in (seed1, seed0):  # the second where phase opens with its lowest alpha
        assert rows.loc[151:200, "test_fg_alpha"].idxmin() == 151
    assert (
        f"(epoch 151: foreground alpha from {_at(seed1, 150, 'test_fg_alpha')} to {_at(seed1, 151, 'test_fg_alpha')}, "
        f"test accuracy {_at(seed1, 151, 'test_acc')}; seed 0: {_at(seed0, 150, 'test_fg_alpha')} to "
        f"{_at(seed0, 151, 'test_fg_alpha')}, {_at(seed0, 151, 'test_acc')})" in note
    )
    assert seed1.loc[300, "test_fg_alpha"] == seed1.loc[350, "test_fg_alpha"]  # a what phase leaves the alphas
    assert f"third left it at {_at(seed1, 300, 'test_fg_alpha')} (epoch 300)" in note
    assert (
        f"at epoch 351 the alpha fell to {_at(seed1, 351, 'test_fg_alpha')} (running train loss "
        f"{_at(seed1, 351, 'train_loss')}), at 352 the running train loss rose to {_at(seed1, 352, 'train_loss')} and "
        f"the attention became exactly uniform" in note
    )
    assert abs(seed1.loc[351, "test_fg_alpha"] - 1 / 9) > 0.1
    dead = seed1.loc[352:]  # 1/9 on every tile of every test mosaic: so the mean, and no alpha >= 0.5
    assert (dead["test_fg_alpha"] - 1 / 9).abs().max() < 1e-6 and (dead["test_alpha_ge_half"] == 0).all()
    assert f"(1/9 on every tile of every test mosaic; test accuracy {_at(seed1, 352, 'test_acc')})" in note
    measured = ["train_loss", "train_acc", "test_acc", "test_loss"]
    for start, end in ((353, 400), (451, 500)):  # the dead where phases repeat their first epoch's numbers
        phase = seed1.loc[start:end]
        assert (phase["phase"] == "where").all() and (phase[measured].round(6).nunique() == 1).all(), start
    assert (
        f"(running train loss {_at(seed1, 353, 'train_loss')} and test accuracy {_at(seed1, 353, 'test_acc')} at "
        f"epochs 353-400; {_at(seed1, 451, 'train_loss')} and {_at(seed1, 451, 'test_acc')} at 451-500)" in note
    )

    def losses(rows: pd.DataFrame, first: int, last: int) -> str:
        """The running train losses of epochs first..last as the note lists them: 'a, b and c'."""
        return _and([_at(rows, e, "train_loss") for e in range(first, last + 1)])

    # the third where phase opened with a larger spike of the running train loss, and its where network lived on
    assert seed1.loc[251:253, "train_loss"].max() > seed1.loc[351:352, "train_loss"].max()
    assert seed1.loc[300, "test_fg_alpha"] > 0.5 and seed0.loc[300, "test_fg_alpha"] > 0.5
    assert (
        f"(running train loss {losses(seed1, 251, 253)} at epochs 251-253; seed 0: {losses(seed0, 251, 252)} at "
        f"251-252; here {losses(seed1, 351, 352)} at 351-352)" in note
    )
    what = seed1.loc[401:450]
    assert (what["phase"] == "what").all()
    best = what["test_acc"].idxmax()
    assert (
        f"(running train accuracy {_at(seed1, 401, 'train_acc')} at epoch 401, {_at(seed1, 450, 'train_acc')} at 450) "
        f"while its test accuracy peaks at {_at(seed1, best, 'test_acc')} (epoch {best}) and falls to "
        f"{_at(seed1, 450, 'test_acc')}" in note
    )
    for column, published in (("final_train_acc", 0.86), ("test_acc", 0.41)):  # "inside our mean ± 2 sd"
        values = pd.Series([seed0.loc[500, column], last[column]])
        assert abs(values.mean() - published) <= 2 * values.std(), column
    assert last["final_train_acc"] < 0.86 < seed0.loc[500, "final_train_acc"]
    assert f"between our seeds' ({_at(seed0, 500, 'final_train_acc')} and {_at(seed1, 500, 'final_train_acc')})" in note
    # the README's generated verdict dates it too (report_checks.collapse_checks: the first exactly uniform test pass)
    readme = _one_line(ROOT / "README.md")
    assert "The attention collapsed to uniform between epochs 251 and 300 (2 seeds); at epoch 352 and stayed" in readme


def test_row6_seeds2_4_note_quotes_the_committed_data():
    """The note on Table 1 row 6's seeds 2-4 (one H200 run, phase ends committed) quotes them exactly: the where
    networks of seeds 3 and 4 dead in their third where phase, seed 2's alive; and, with seeds 0 and 1, what the five
    seeds say of the published row: three died, and the dead seeds' mean is the published row's."""
    note = _note()
    run = _row_epochs("table1-row6-seeds2-4-paper-h200", "table1/6")
    seeds = (*_seeds(1, 6), *(run[run["seed"] == s] for s in (2, 3, 4)))
    two, three, four = seeds[2:]

    def each(rows: tuple[pd.DataFrame, ...], column: str, epoch: int, digits: int = 3) -> str:
        return _and([f"{r.loc[epoch, column]:.{digits}f}" for r in rows])

    new, dead = (two, three, four), (three, four)
    assert (
        f"clean-pass train {each(new, 'final_train_acc', 500)}, test {each(new, 'test_acc', 500)} (published 0.86 / "
        f"0.41); test FTPT {each(new, 'test_ftpt', 500)}; mean alpha on the foreground tile "
        f"{each(new, 'test_fg_alpha', 500)}" in note
    )
    assert all(abs(r.loc[50, "test_fg_alpha"] - 1 / 9) < 1e-3 for r in new)  # "from uniform"
    assert (
        f"from uniform to {each(new, 'test_fg_alpha', 100)} and the test accuracy to {each(new, 'test_acc', 100)} "
        f"(epoch 100), and the test accuracy was {each(new, 'test_acc', 250)} at epoch 250" in note
    )
    for r in dead:  # alive at 250; uniform to within 0.001 from 300 on, and the later where phases move nothing
        assert r.loc[250, "test_fg_alpha"] > 0.45
        tail = r.loc[300:]
        assert (tail["test_fg_alpha"] - 1 / 9).abs().max() <= 1e-3 and tail["test_alpha_ge_half"].max() <= 1e-3
        assert (r.loc[[400, 500], "test_fg_alpha"] - r.loc[300, "test_fg_alpha"]).abs().max() < 2e-6
    assert (
        f"(mean foreground alpha {each(dead, 'test_fg_alpha', 300, 6)}; a largest alpha >= 0.5 in "
        f"{each(dead, 'test_alpha_ge_half', 300, 4)} of the test mosaics), a running train loss of "
        f"{each(dead, 'train_loss', 300)} and a test accuracy of {each(dead, 'test_acc', 300)}" in note
    )
    assert "within 0.000002 of its value at epoch 300, at 400 and 500" in note
    assert (
        f"(running train accuracy {each(dead, 'train_acc', 450)} at epoch 450) while their test accuracy fell to "
        f"{each(dead, 'test_acc', 500)}" in note
    )
    lived = two.loc[200:, "test_acc"]
    assert (
        f"foreground alpha {_at(two, 300, 'test_fg_alpha')} at epoch 300 and {_at(two, 500, 'test_fg_alpha')} at "
        f"the end, test accuracy {lived.min():.3f}-{lived.max():.3f} at the phase ends from epoch 200" in note
    )

    def dead_at(rows: pd.DataFrame, epoch: int) -> bool:
        """The where network dead by `epoch`: test attention uniform to within 0.001."""
        return abs(rows.loc[epoch, "test_fg_alpha"] - 1 / 9) <= 1e-3

    # the five seeds: which died, the dead seeds' numbers and means
    died = [dead_at(r, 500) for r in seeds]
    assert died == [False, True, False, True, True]
    gone = [seeds[s].loc[500] for s in (1, 3, 4)]

    def listed(column: str) -> str:
        values = [t[column] for t in gone]
        return f"{_and([f'{v:.3f}' for v in values])} (mean {sum(values) / 3:.3f}"

    assert (
        f"the three dead seeds end at test {listed('test_acc')}; published 0.41) and clean-pass train "
        f"{listed('final_train_acc')}; published 0.86), the two that lived at test {_at(seeds[0], 500, 'test_acc')} "
        f"and {_at(two, 500, 'test_acc')} (train 1.000 both)" in note
    )
    assert seeds[0].loc[500, "final_train_acc"] > 0.9995 < two.loc[500, "final_train_acc"]
    # each where phase after the first, by how it began (alpha, test accuracy) and whether the seed lived through it
    fatal, survived = [], []
    for s, r in enumerate(seeds):
        for start in (150, 250, 350, 450):
            if not dead_at(r, start):
                began = (s, r.loc[start, "test_fg_alpha"], r.loc[start, "test_acc"])
                (fatal if dead_at(r, start + 50) else survived).append(began)
    assert [s for s, _, _ in fatal] == [1, 3, 4] and len(survived) == 12
    assert (
        f"the three began from foreground alphas of {_and([f'{a:.3f}' for _, a, _ in fatal])} and test accuracies of "
        f"{_and([f'{t:.3f}' for _, _, t in fatal])} (seeds 1, 3 and 4), the twelve later where phases (from epoch "
        f"151) that the five seeds lived through from {min(a for _, a, _ in survived):.3f}-"
        f"{max(a for _, a, _ in survived):.3f} and {min(t for _, _, t in survived):.3f}-"
        f"{max(t for _, _, t in survived):.3f}" in note
    )
    for column, published in (("final_train_acc", 0.86), ("test_acc", 0.41)):  # "inside our mean ± 2 sd"
        values = pd.Series([r.loc[500, column] for r in seeds])
        assert abs(values.mean() - published) <= 2 * values.std(), column
        assert f"{values.mean():.3f} ± {values.std():.3f}" in note
    # the report dates the three deaths as the note says
    results, _ = published_summary(ROOT)
    flags = results[results["experiment"] == "table1/6"].set_index("seed")
    assert flags["collapsed_at"].notna().tolist() == died
    assert flags.loc[[3, 4], "collapsed_after"].tolist() == [250, 250] and flags.loc[1, "collapsed_at"] == 352
    dated = "(seeds 3 and 4 between epochs 251 and 300, since only phase ends are committed; seed 1 at epoch 352)"
    assert dated in note


def test_row2_note_quotes_the_committed_data():
    note = _note()
    row2 = _row_epochs("table1-row2-paper-cpu", "table1/2")
    last = row2.loc[200]
    assert _final_line(last, "0.94 / 0.79") in note
    assert row2["test_acc"].idxmax() == 190 and (row2.loc[190, "phase"], last["phase"]) == ("what", "where")
    assert (
        f"rose to {row2.loc[190, 'test_acc']:.3f} at the end of the last what phase (epoch 190) and the last where "
        f"phase took it back to {last['test_acc']:.3f}, its foreground alpha from {row2.loc[190, 'test_fg_alpha']:.3f} "
        f"to {last['test_fg_alpha']:.3f}" in note
    )


def test_table1_row2_seed1_note_quotes_the_committed_data():
    """The note on Table 1 row 2's seed 1 quotes its phase ends and seed 0's exactly."""
    note = _note()
    zero, one = _seeds(1, 2)
    assert one.index.tolist() == list(range(10, 201, 10))  # phase ends only; what first, k = 10: where ends at 20, 40..
    assert (one.loc[range(20, 201, 20), "phase"] == "where").all()
    last = one.loc[200]
    assert _final_line(last, f"0.94 / 0.79; seed 0: {_train_test(zero.loc[200])}") in note
    assert abs(one.loc[10, "train_loss"] - math.log(3)) < 0.001
    assert (
        f"(running train loss {_at(one, 10, 'train_loss')}, ln 3, and test accuracy {_at(one, 10, 'test_acc')} at "
        f"epoch 10; seed 0: {_at(zero, 10, 'train_loss')} and {_at(zero, 10, 'test_acc')})" in note
    )
    alpha = one["test_fg_alpha"]
    assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001 < abs(zero.loc[40, "test_fg_alpha"] - 1 / 9)
    assert f"to epoch 60 (seed 0: {_at(zero, 40, 'test_fg_alpha')} by epoch 40)" in note
    assert f"the fourth (epochs 71-80) took it to {_at(one, 80, 'test_fg_alpha')}" in note
    later = [one.loc[e, "test_acc"] > zero.loc[e - 40, "test_acc"] for e in range(80, 201, 20)]
    assert later == [True] * 4 + [False] * 3  # "higher ... through epoch 140, lower after"
    assert f"({_at(one, 80, 'test_acc')} at 80, seed 0: {_at(zero, 40, 'test_acc')} at 40), lower after" in note
    peaks = [(rows["test_fg_alpha"].idxmax(), f"{rows['test_fg_alpha'].max():.3f}") for rows in (one, zero)]
    assert f"highest at epoch {peaks[0][0]} ({peaks[0][1]}; seed 0: {peaks[1][1]} at {peaks[1][0]})" in note
    for rows in (one, zero):  # the last where phase lowers test accuracy and attention, raises the loss
        assert rows.loc[200, "test_acc"] < rows.loc[190, "test_acc"]
        assert rows.loc[200, "test_fg_alpha"] < rows.loc[190, "test_fg_alpha"]
        assert rows.loc[200, "train_loss"] > rows.loc[190, "train_loss"]
        assert 0.01 <= rows.loc[190, "test_acc"] - rows.loc[200, "test_acc"] <= 0.03  # "costs it 0.01-0.03"
    for column in ("test_acc", "test_fg_alpha", "train_loss"):
        assert (
            f"from {_at(one, 190, column)} to {_at(one, 200, column)} (seed 0: {_at(zero, 190, column)} to "
            f"{_at(zero, 200, column)})" in note
        )
    test = pd.Series([zero.loc[200, "test_acc"], last["test_acc"]])
    assert abs(test.mean() - 0.79) < 2 * test.std()
    assert f"({test.mean():.3f} ± {test.std():.3f})" in note
    assert f"both seeds ended at {last['final_train_acc']:.3f}" in note
    assert f"{zero.loc[200, 'final_train_acc']:.3f}" == f"{last['final_train_acc']:.3f}"


def test_table1_row2_seed2_note_quotes_the_committed_data():
    """The note on Table 1 row 2's seed 2 quotes its phase ends and seeds 0 and 1's exactly: it left uniform attention
    early as seed 0 did, and its last where phase raised its test accuracy, where the other two seeds' lowered it."""
    note = _note()
    zero, one, two = _seeds(1, 2, count=3)
    assert two.index.tolist() == list(range(10, 201, 10))  # phase ends only
    last = two.loc[200]
    assert (
        _final_line(last, f"0.94 / 0.79; seeds 0 and 1: {_train_test(zero.loc[200])}, {_train_test(one.loc[200])}")
        in note
    )
    assert two.loc[10, "train_loss"] < one.loc[10, "train_loss"] - 0.01  # "moved the networks", seed 1's did not
    assert (
        f"(running train loss {_at(two, 10, 'train_loss')} and test accuracy {_at(two, 10, 'test_acc')} at epoch 10; "
        f"seed 1: {_at(one, 10, 'train_loss')} and {_at(one, 10, 'test_acc')})" in note
    )
    alpha = {seed: rows["test_fg_alpha"] for seed, rows in enumerate((zero, one, two))}
    assert (alpha[2].loc[:30] - 1 / 9).abs().max() < 0.001 < abs(alpha[2].loc[40] - 1 / 9)
    assert f"through its first where phase ({_at(two, 20, 'test_fg_alpha')} at epoch 20)" in note
    assert f"took it to {_at(two, 40, 'test_fg_alpha')} (seed 0: {_at(zero, 40, 'test_fg_alpha')};" in note
    where_ends = range(40, 141, 20)
    assert all(alpha[2].loc[e] > max(alpha[0].loc[e], alpha[1].loc[e]) for e in where_ends)  # "led both"
    assert alpha[2].loc[160] < alpha[0].loc[160]  # ... to epoch 140 only
    peaks = [(a.idxmax(), f"{a.max():.3f}") for a in (alpha[2], alpha[0], alpha[1])]
    assert (
        f"peaks at epoch {peaks[0][0]} ({peaks[0][1]}; seeds 0 and 1: {peaks[1][1]} at {peaks[1][0]}, {peaks[2][1]} "
        f"at {peaks[2][0]})" in note
    )
    falls = alpha[2].loc[range(peaks[0][0], 181, 20)].tolist()
    assert falls == sorted(falls, reverse=True) and f"to {_at(two, 180, 'test_fg_alpha')} at epoch 180" in note
    best = [(rows["test_acc"].idxmax(), f"{rows['test_acc'].max():.3f}") for rows in (two, zero)]
    assert f"test accuracy peaks at epoch {best[0][0]} ({best[0][1]}; seed 0: {best[1][1]} at {best[1][0]})" in note
    assert two.loc[200, "test_acc"] > two.loc[190, "test_acc"] and two.loc[200, "test_fg_alpha"] > alpha[2].loc[190]
    assert all(rows.loc[200, "test_acc"] < rows.loc[190, "test_acc"] for rows in (zero, one))  # "unlike seeds 0, 1"
    assert all(rows.loc[200, "train_loss"] > rows.loc[190, "train_loss"] for rows in (zero, one, two))  # "as in both"
    for column in ("test_acc", "test_fg_alpha", "train_loss"):
        assert f"from {_at(two, 190, column)} to {_at(two, 200, column)}" in note
    train = pd.Series([rows.loc[200, "final_train_acc"] for rows in (zero, one, two)])
    test = pd.Series([rows.loc[200, "test_acc"] for rows in (zero, one, two)])
    assert abs(test.mean() - 0.79) < 2 * test.std() and abs(train.mean() - 0.94) > 2 * train.std()
    assert f"({test.mean():.3f} ± {test.std():.3f})" in note and f"({train.mean():.3f} ± {train.std():.3f};" in note
    assert f"every seed ended at {train.min():.3f} or above" in note


def test_table1_row2_seed3_note_quotes_the_committed_data():
    """The note on Table 1 row 2's seed 3 quotes its phase ends and four seeds of both orders exactly: in both orders
    the seeds whose first what phase moved nothing ended lowest, and where first ended higher with every seed."""
    note = _note()
    what, where = _seeds(1, 2, count=4), _seeds(2, 2, count=4)
    three = what[3]
    assert three.index.tolist() == list(range(10, 201, 10))  # phase ends only
    others = ", ".join(_train_test(rows.loc[200]) for rows in what[:3])
    assert _cpu_seed_note(1, 2, 3) + _final_line(three.loc[200], f"0.94 / 0.79; seeds 0-2: {others}") + "." in note
    wasted = [abs(rows.loc[10, "train_loss"] - math.log(3)) < 0.001 for rows in what]
    twin = abs(where[3].loc[20, "train_loss"] - math.log(3)) < 0.001  # where first: its first what phase ends at 20
    assert wasted == [False, True, False, True] and twin
    assert (
        "**its first what phase (epochs 1-10) moved nothing, as seed 1's did and as its Table 2 twin's did** (running "
        f"train loss {_at(three, 10, 'train_loss')}, ln 3, and test accuracy {_at(three, 10, 'test_acc')} at epoch 10; "
        f"seed 1: {_at(what[1], 10, 'train_loss')} and {_at(what[1], 10, 'test_acc')})." in note
    )
    alpha = three["test_fg_alpha"]
    assert (alpha.loc[:50] - 1 / 9).abs().max() < 0.001 < alpha.loc[60] - 1 / 9 and three.loc[60, "phase"] == "where"
    assert alpha.idxmax() == 120 and three["test_acc"].idxmax() == 190
    assert (
        "Its mean foreground alpha stayed within 0.001 of 1/9 through two where phases (to epoch 40) and left it in "
        f"the third ({_at(three, 60, 'test_fg_alpha')} at 60), peaked at epoch 120 "
        f"({_at(three, 120, 'test_fg_alpha')}), and its test accuracy at 190 ({_at(three, 190, 'test_acc')}); its "
        f"last where phase (191-200) took the test accuracy to {_at(three, 200, 'test_acc')} and the foreground alpha "
        f"from {_at(three, 190, 'test_fg_alpha')} to {_at(three, 200, 'test_fg_alpha')}." in note
    )
    final = [rows.loc[200, "test_acc"] for rows in what]
    for ended in (final, [rows.loc[200, "test_acc"] for rows in where]):  # "in both orders ... ended lowest"
        assert max(ended[1], ended[3]) < min(ended[0], ended[2])
    assert (
        "**In both orders the two seeds whose first what phase moved nothing, 1 and 3, ended lowest** (what first: "
        f"{final[1]:.3f} and {final[3]:.3f} test; seeds 0 and 2: {final[0]:.3f} and {final[2]:.3f}; of four seeds "
        "each: where first's seed 4, below, ended between its seeds 1 and 3)." in note
    )
    seed4 = _row_epochs("table2-row2-seed4-paper-cpu", "table2/2")
    ended = [rows.loc[200, "test_acc"] for rows in (where[3], seed4, where[1])]
    assert ended == sorted(ended)
    published = get_space("table1").experiments[1].reference  # row 2
    test = pd.Series(final)
    train = pd.Series([rows.loc[200, "final_train_acc"] for rows in what])
    assert abs(test.mean() - published.test_acc) < 2 * test.std()
    assert abs(train.mean() - published.train_acc) > 2 * train.std()
    assert (
        f"Four seeds what first: train {_mean_sd(what, 200, 'final_train_acc')}, test "
        f"{_mean_sd(what, 200, 'test_acc')}; the published test accuracy ({published.test_acc:.2f}) lies inside our "
        f"mean ± 2 sd, the published train accuracy ({published.train_acc:.2f}) does not." in note
    )
    pairs = list(zip(where, what, strict=True))
    gap = pd.Series([a.loc[200, "test_acc"] - b.loc[200, "test_acc"] for a, b in pairs])
    late = pd.Series([a.loc[200, "test_acc"] - b.loc[190, "test_acc"] for a, b in pairs])
    assert gap.min() > 0 and (what[0].loc[190, "phase"], what[0].loc[200, "phase"]) == ("what", "where")
    assert (
        f"Where first (four seeds: {_mean_sd(where, 200, 'final_train_acc')} / {_mean_sd(where, 200, 'test_acc')}) − "
        f"what first, seed by seed: {_and([_signed(g) for g in gap])} test ({_signed(gap.mean())} ± {gap.std():.3f}), "
        "higher with every seed; against what first at the end of its last what phase (epoch 190): "
        f"{_and([_signed(g) for g in late])} ({_signed(late.mean())} in the mean)." in note
    )


def test_table1_row4_seed1_note_quotes_the_committed_data():
    """The note on Table 1 row 4's seed 1 quotes its phase ends and seed 0's (every epoch, on an H200) exactly: its
    first where phase moved nothing, and it trailed seed 0 for most of the run."""
    note = _note()
    zero = _row_epochs("table1-rows4-5-paper-h200", "table1/4")
    one = _row_epochs("table1-row4-seed1-paper-cpu", "table1/4")
    ends = list(range(20, 321, 20))
    assert one.index.tolist() == ends and (one["seed"] == 1).all() and (zero["seed"] == 0).all()
    assert _final_line(one.loc[320], f"0.97 / 0.79; seed 0: {_train_test(zero.loc[320])}") in note
    alpha = one["test_fg_alpha"]
    assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001 < alpha.loc[80] - 1 / 9
    assert _at(one, 20, "test_acc") == _at(one, 40, "test_acc")
    assert (
        f"the test accuracy at {_at(one, 40, 'test_acc')} (epochs 20 and 40), where seed 0's first where phase took "
        f"them to {_at(zero, 40, 'test_fg_alpha')} and {_at(zero, 40, 'test_acc')}" in note
    )
    assert f"left uniform attention in its second ({_at(one, 80, 'test_fg_alpha')} at epoch 80)" in note
    gap = one["test_acc"] - zero.loc[ends, "test_acc"]
    assert (gap.loc[:180] < 0).all() and gap.loc[200] > 0 and (gap.loc[220:] < 0).all()
    assert f"to epoch 180 ({_at(one, 180, 'test_acc')} against {_at(zero, 180, 'test_acc')})" in note
    assert one["test_acc"].max() == one.loc[320, "test_acc"]  # phase ends only; its best epoch, 313, is not kept
    assert f"(seed 0: {zero['test_acc'].max():.3f} at {zero['test_acc'].idxmax()})" in note
    test = pd.Series([zero.loc[320, "test_acc"], one.loc[320, "test_acc"]])
    assert _at(zero, 320, "final_train_acc") == _at(one, 320, "final_train_acc") == "1.000"
    assert f"train 1.000 both, test {test.mean():.3f} ± {test.std():.3f}" in note
    assert min(test) > 0.79 and "is below both seeds in both" in note


def test_table2_row4_seed1_note_quotes_the_committed_data():
    """The note on Table 2 row 4's seed 1 quotes its phase ends, seed 0's and both seeds of Table 1 row 4 exactly."""
    note = _note()
    where = _seeds(2, 4)
    what = (
        _row_epochs("table1-rows4-5-paper-h200", "table1/4"),
        _row_epochs("table1-row4-seed1-paper-cpu", "table1/4"),
    )
    one, zero = where[1], where[0]
    assert one.index.tolist() == list(range(20, 321, 20))  # phase ends only
    aside = f"; Table 2 row 4 seed 0: {_train_test(zero.loc[320])}"
    assert (
        _cpu_seed_note(2, 4, 1) + _beside_table1(one.loc[320], what[1].loc[320], 4, aside, ours="ours, seed 1") in note
    )
    assert (one.loc[[20, 60, 100], "phase"] == "where").all()  # where first, k = 20
    for seed in where:
        alpha = seed["test_fg_alpha"]
        assert (alpha.loc[:40] - 1 / 9).abs().max() < 0.001 < alpha.loc[60] - 1 / 9  # "as seed 0's"
    assert one.loc[40, "phase"] == "what" and (
        "as seed 0's, its first where phase (epochs 1-20) moved nothing (mean foreground alpha within 0.001 of 1/9 to "
        "epoch 40)" in note
    )
    assert (
        f"its second left uniform attention ({_at(one, 60, 'test_fg_alpha')} at epoch 60; seed 0: "
        f"{_at(zero, 60, 'test_fg_alpha')}) and its third took it to {_at(one, 100, 'test_fg_alpha')} (epoch 100; "
        f"seed 0: {_at(zero, 100, 'test_fg_alpha')})" in note
    )
    assert one["test_fg_alpha"].idxmax() == zero["test_fg_alpha"].idxmax() == 140
    assert (
        f"its alpha was highest at 140 ({_at(one, 140, 'test_fg_alpha')}; seed 0: {_at(zero, 140, 'test_fg_alpha')}), "
        f"{_at(one, 260, 'test_fg_alpha')} at 260 and {_at(one, 320, 'test_fg_alpha')} at the end (seed 0: "
        f"{_at(zero, 320, 'test_fg_alpha')})" in note
    )
    assert one["test_acc"].idxmax() == 320 and "its test accuracy at the phase ends is highest at the end" in note
    test = pd.Series([rows.loc[320, "test_acc"] for rows in where])
    assert f"**The two seeds where first ended {abs(test[1] - test[0]):.3f} apart in test accuracy**" in note
    assert (
        f"({_mean_sd(where, 320, 'test_acc')}), below both seeds what first ({_mean_sd(what, 320, 'test_acc')})" in note
    )
    assert test.max() < min(rows.loc[320, "test_acc"] for rows in what)
    gaps = [where[s].loc[320, "test_acc"] - what[s].loc[320, "test_acc"] for s in (0, 1)]
    assert f"where first − what first −{-gaps[1]:.3f} test with seed 1 (−{-gaps[0]:.3f} with seed 0)" in note


def _left_uniform(rows: pd.DataFrame) -> tuple[int, int]:
    """Row 1 (k = 5): the last phase end within 0.001 of 1/9 before the attention rose for good, and the one after."""
    ends = rows.loc[rows.index % 5 == 0, "test_fg_alpha"]
    last = ends.index[(ends - 1 / 9).abs() < 0.001].max()
    return last, last + 5


def test_table2_row1_seed1_note_quotes_the_committed_data():
    """The note on Table 2 row 1's seed 1 quotes its phase ends, and both seeds of both orders, exactly."""
    note = _note()
    where, what = _seeds(2, 1), _seeds(1, 1)
    seed1 = where[1]
    assert seed1.index.tolist() == list(range(5, 181, 5))  # phase ends only
    last = seed1.loc[180]
    seed0 = f"; Table 2 row 1 seed 0: {_train_test(where[0].loc[180])}"
    assert _beside_table1(last, what[1].loc[180], 1, seed0, ours="ours, seed 1") in note
    alpha = seed1["test_fg_alpha"]
    assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001 < abs(alpha.loc[65] - 1 / 9)
    assert (seed1.loc[[65, 75], "phase"] == "where").all()  # where first, k = 5: where phases end at 5, 15, ...
    assert (
        f"to epoch 60, was {_at(seed1, 65, 'test_fg_alpha')} after its seventh where phase (epochs 61-65) and "
        f"{_at(seed1, 75, 'test_fg_alpha')} after its eighth (71-75), then {_at(seed1, 95, 'test_fg_alpha')} at 95, "
        f"{_at(seed1, 115, 'test_fg_alpha')} at 115 and {_at(seed1, 180, 'test_fg_alpha')} at the end" in note
    )
    assert seed1["test_acc"].idxmax() == 180 and "its test accuracy is highest at the end" in note
    assert [_left_uniform(runs[0]) for runs in (what, where)] == [(25, 30), (30, 35)]  # "between epochs 25 and 35"
    assert [_left_uniform(runs[1]) for runs in (what, where)] == [(65, 70), (60, 65)]  # "between 60 and 75"
    assert (
        f"(Table 1: within 0.001 of 1/9 at 25, {_at(what[0], 30, 'test_fg_alpha')} at 30; Table 2: at 30, "
        f"{_at(where[0], 35, 'test_fg_alpha')} at 35)" in note
    )
    assert f"(Table 1: at 65, {_at(what[1], 70, 'test_fg_alpha')} at 70; Table 2: at 60, then as above)" in note
    gaps = [where[s].loc[180, "test_acc"] - what[s].loc[180, "test_acc"] for s in (0, 1)]
    assert f"+{gaps[0]:.3f} test with seed 0, +{gaps[1]:.3f} with seed 1" in note


def _row1_orders(seeds: int = 4) -> tuple[tuple[pd.DataFrame, ...], tuple[pd.DataFrame, ...]]:
    """Row 1's published seeds 0 .. seeds-1 in each order: (what first, where first); seed 2 is one H200 run of both."""
    h200 = "tables-row1-seed2-paper-h200"
    runs = []
    for table in (1, 2):
        later = [_row_epochs(f"table{table}-row1-seed{s}-paper-cpu", f"table{table}/1") for s in range(3, seeds)]
        runs.append((*_seeds(table, 1), _row_epochs(h200, f"table{table}/1"), *later))
    for order in runs:
        assert [rows["seed"].unique().tolist() for rows in order] == [[s] for s in range(seeds)]
    return runs[0], runs[1]


def test_table2_row1_seed3_note_quotes_the_committed_data():
    """The note on Table 2 row 1's seed 3 quotes its phase ends, and the other seeds of both orders, exactly."""
    note = _note()
    what, where = _row1_orders()
    earlier = _left_uniform(where[3])[0] - _left_uniform(what[3])[0]  # epochs, Table 1's seed 3 (published after)
    assert earlier > 0
    assert (
        f"Table 1's seed 3, published after (`table1-row1-seed3-paper-cpu`), left uniform {earlier} epochs earlier."
        in note
    )
    what = what[:3]  # the rest of the note was written before Table 1's seed 3 ran
    three = where[3]
    assert three.index.tolist() == list(range(5, 181, 5))  # phase ends only
    published = get_space("table1").experiments[0].reference  # row 1
    others = ", ".join(_train_test(rows.loc[180]) for rows in where[:3])
    assert (
        _cpu_seed_note(2, 1, 3)
        + _final_line(three.loc[180], f"Table 1 row 1: {_published(published)}; Table 2 row 1 seeds 0-2: {others}")
        in note
    )
    assert _left_uniform(three) == (60, 65) == _left_uniform(where[1])  # "as seed 1's did"
    where_ends = three.loc[range(5, 61, 10), "phase"]  # "its first six where phases (to epoch 60)"
    assert (where_ends == "where").all() and len(where_ends) == 6 and three.loc[60, "phase"] == "what"
    alpha = three["test_fg_alpha"]
    assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001
    assert "stayed within 0.001 of 1/9 through its first six where phases (to epoch 60)" in note
    assert alpha.idxmax() == three["test_acc"].idxmax() == 165
    assert (
        f"left it in the seventh ({_at(three, 65, 'test_fg_alpha')} at epoch 65), as seed 1's did; it was "
        f"{_at(three, 75, 'test_fg_alpha')} at 75, {_at(three, 95, 'test_fg_alpha')} at 95, highest at 165 "
        f"({_at(three, 165, 'test_fg_alpha')}) and {_at(three, 180, 'test_fg_alpha')} at the end; its test accuracy is "
        f"highest at epoch 165 too ({_at(three, 165, 'test_acc')})" in note
    )
    assert (
        f"Four seeds where first: train {_mean_sd(where, 180, 'final_train_acc')}, test "
        f"{_mean_sd(where, 180, 'test_acc')} (what first, three seeds: {_mean_sd(what, 180, 'final_train_acc')} / "
        f"{_mean_sd(what, 180, 'test_acc')})" in note
    )
    train = pd.Series([rows.loc[180, "final_train_acc"] for rows in where])
    test = pd.Series([rows.loc[180, "test_acc"] for rows in where])
    assert (
        f"the published row 1 ({_published(published)}) lies inside where first's mean ± "
        "2 sd in test accuracy, below it in train accuracy" in note
    )
    assert abs(published.test_acc - test.mean()) < 2 * test.std()  # inside in test accuracy
    assert published.train_acc < train.mean() - 2 * train.std()  # below in train accuracy
    assert f"(every seed where first ended at {train.min():.3f} or above)" in note and train.idxmin() == 3


def test_table1_row1_seed3_note_quotes_the_committed_data():
    """The note on Table 1 row 1's seed 3 quotes its phase ends, and all four seeds of both orders, exactly."""
    note = _note()
    what, where = _row1_orders()
    three = what[3]
    assert three.index.tolist() == list(range(5, 181, 5))  # phase ends only
    published = get_space("table1").experiments[0].reference  # row 1
    others = ", ".join(_train_test(rows.loc[180]) for rows in what[:3])
    assert (
        _cpu_seed_note(1, 1, 3) + _final_line(three.loc[180], f"{_published(published)}; seeds 0-2: {others}") in note
    )
    assert _left_uniform(three) == (45, 50) and three.loc[50, "phase"] == "where"
    where_ends = three.loc[range(10, 41, 10), "phase"]  # what first, k = 5: where phases end at 10, 20, ...
    assert (where_ends == "where").all() and len(where_ends) == 4
    assert (three["test_fg_alpha"].loc[:45] - 1 / 9).abs().max() < 0.001
    alpha, test = three["test_fg_alpha"], three["test_acc"]
    assert alpha.idxmax() == 140 and test.idxmax() == 170
    assert (
        "stayed within 0.001 of 1/9 through its first four where phases (to epoch 45) and left it in the fifth "
        f"({_at(three, 50, 'test_fg_alpha')} at epoch 50); it was {_at(three, 90, 'test_fg_alpha')} at 90, highest "
        f"at 140 ({_at(three, 140, 'test_fg_alpha')}) and {_at(three, 180, 'test_fg_alpha')} at the end; its test "
        f"accuracy at the phase ends is highest at epoch 170 ({_at(three, 170, 'test_acc')}) and ends at "
        f"{_at(three, 180, 'test_acc')}" in note
    )
    # when each seed's attention left uniform: the last phase end within 0.001 of 1/9, in each order
    left = {order: [_left_uniform(rows)[0] for rows in runs] for order, runs in (("what", what), ("where", where))}
    assert left == {"what": [25, 65, 35, 45], "where": [30, 60, 40, 60]}
    gaps = [abs(a - b) for a, b in zip(left["what"], left["where"])]
    assert gaps == [5, 5, 5, 15]
    assert (
        f"**Seed 3 left uniform {gaps[3]} epochs earlier what first than where first** (Table 2 row 1 seed 3: within "
        f"0.001 of 1/9 at 60, {_at(where[3], 65, 'test_fg_alpha')} at 65), where seeds 0-2 left it within 5 epochs of "
        "each other in both orders" in note
    )
    assert (
        "seed 0 left it first in both orders (Table 1 after 25, Table 2 after 30), seed 2 second (35, 40), seeds 1 and "
        "3 last (Table 1: seed 3 after 45, seed 1 after 65; Table 2: both after 60)" in note
    )
    gap = [where[s].loc[180, "test_acc"] - what[s].loc[180, "test_acc"] for s in range(4)]
    assert gap[3] < 0 < min(gap[:3])  # "the first seed with what first ahead"
    assert (
        f"Where first − what first: −{-gap[3]:.3f} test with seed 3, the first seed with what first ahead "
        f"(+{gap[0]:.3f}, +{gap[1]:.3f} and +{gap[2]:.3f} with seeds 0-2)" in note
    )
    assert (
        f"Four seeds what first: train {_mean_sd(what, 180, 'final_train_acc')}, test "
        f"{_mean_sd(what, 180, 'test_acc')} (where first: {_mean_sd(where, 180, 'final_train_acc')} / "
        f"{_mean_sd(where, 180, 'test_acc')}); the published "
        f"row 1 ({_published(published)}) lies inside what first's mean ± 2 sd in train "
        "and test accuracy" in note
    )
    _assert_inside_two_sd(what, 180, published)


def test_table1_row1_seed4_note_quotes_the_committed_data():
    """The note on Table 1 row 1's seed 4, the fifth what first, quotes its phase ends and the other seeds exactly."""
    note = _note()
    what, where = _row1_orders()
    four = _row_epochs("table1-row1-seed4-paper-cpu", "table1/1")
    assert four.index.tolist() == list(range(5, 181, 5)) and (four["seed"] == 4).all()  # phase ends only
    what = (*what, four)
    published = get_space("table1").experiments[0].reference  # row 1
    others = ", ".join(_train_test(rows.loc[180]) for rows in what[:4])
    opening = _final_line(four.loc[180], f"{_published(published)}; seeds 0-3: {others}")
    assert _cpu_seed_note(1, 1, 4) + opening in note
    assert _left_uniform(four) == (35, 40) and _left_uniform(what[2])[0] == 35  # "as seed 2's did"
    where_ends = four.loc[range(10, 31, 10), "phase"]  # what first, k = 5: where phases end at 10, 20, ...
    assert (where_ends == "where").all() and four.loc[40, "phase"] == "where"
    assert (four["test_fg_alpha"].loc[:35] - 1 / 9).abs().max() < 0.001
    assert four["test_fg_alpha"].idxmax() == four["test_acc"].idxmax() == 170
    assert (
        "stayed within 0.001 of 1/9 through its first three where phases (to epoch 35) and left it in the fourth "
        f"({_at(four, 40, 'test_fg_alpha')} at epoch 40), as seed 2's did; it was {_at(four, 90, 'test_fg_alpha')} at "
        f"90, highest at 170 ({_at(four, 170, 'test_fg_alpha')}) and {_at(four, 180, 'test_fg_alpha')} at the end, and "
        f"its test accuracy at the phase ends is highest at epoch 170 too ({_at(four, 170, 'test_acc')})" in note
    )
    assert all(rows.loc[175, "phase"] == "what" and rows.loc[180, "phase"] == "where" for rows in what)
    last = [rows.loc[180, "test_acc"] - rows.loc[175, "test_acc"] for rows in what]
    lost = four.loc[175, "test_fg_alpha"] - four.loc[180, "test_fg_alpha"]
    assert (
        f"**Its last where phase (epochs 171-180) cost it {-last[4]:.3f} test accuracy** ({_at(four, 175, 'test_acc')} "
        f"at the end of its last what phase, epoch 175; {_at(four, 180, 'test_acc')} at 180) and {lost:.3f} foreground "
        "alpha" in note
    )
    assert f"that phase changed the test accuracy by {_and([_signed(d) for d in last])}." in note
    assert (
        f"**Five seeds what first**: train {_mean_sd(what, 180, 'final_train_acc')}, test "
        f"{_mean_sd(what, 180, 'test_acc')}; the published row 1 ({_published(published)}) lies inside our mean ± 2 sd "
        "in train and test accuracy." in note
    )
    _assert_inside_two_sd(what, 180, published)
    ahead = (
        pd.Series([r.loc[180, "test_acc"] for r in where]).mean()
        - pd.Series([r.loc[180, "test_acc"] for r in what]).mean()
    )
    assert (
        f"Where first (four seeds: {_mean_sd(where, 180, 'final_train_acc')} / {_mean_sd(where, 180, 'test_acc')}) "
        f"ends {ahead:.3f} higher in mean test accuracy, and what first stood at {_mean_sd(what, 175, 'test_acc')} at "
        "the end of its last what phase (epoch 175)." in note
    )
    assert ahead > 0


def test_table2_row1_seed4_note_quotes_the_committed_data():
    """The note on Table 2 row 1's seed 4, the fifth where first, quotes its phase ends and both orders' five seeds."""
    note = _note()
    what, where = _row1_orders()
    fours = [_row_epochs(f"table{t}-row1-seed4-paper-cpu", f"table{t}/1") for t in (1, 2)]
    assert all((rows["seed"] == 4).all() for rows in fours)
    what, where = (*what, fours[0]), (*where, fours[1])
    four = where[4]
    assert four.index.tolist() == list(range(5, 181, 5))  # phase ends only
    published = get_space("table1").experiments[0].reference  # row 1
    others = ", ".join(_train_test(rows.loc[180]) for rows in where[:4])
    opening = _final_line(four.loc[180], f"Table 1 row 1: {_published(published)}; Table 2 row 1 seeds 0-3: {others}")
    assert _cpu_seed_note(2, 1, 4) + opening in note
    left = {order: [_left_uniform(rows)[0] for rows in runs] for order, runs in (("what", what), ("where", where))}
    assert left == {"what": [25, 65, 35, 45, 35], "where": [30, 60, 40, 60, 20]}
    assert (four.loc[[5, 15, 25], "phase"] == "where").all() and four.loc[20, "phase"] == "what"
    alpha, test = four["test_fg_alpha"], four["test_acc"]
    best_alpha, best_test = alpha.idxmax(), test.idxmax()
    assert (
        "stayed within 0.001 of 1/9 through its first two where phases (to epoch 20) and left it in the third "
        f"({_at(four, 25, 'test_fg_alpha')} at epoch 25), earlier than seeds 0-3 where first (after 30, 60, 40 and 60) "
        "and 15 epochs before its Table 1 twin (`table1-row1-seed4-paper-cpu`: after 35); it was "
        f"{_at(four, 50, 'test_fg_alpha')} at 50, highest at {best_alpha} ({_at(four, best_alpha, 'test_fg_alpha')}) "
        f"and {_at(four, 180, 'test_fg_alpha')} at the end, and its test accuracy at the phase ends is highest at "
        f"epoch {best_test} ({_at(four, best_test, 'test_acc')})" in note
    )
    assert (
        f"**Row 1 now has five seeds in both orders**: where first train {_mean_sd(where, 180, 'final_train_acc')}, "
        f"test {_mean_sd(where, 180, 'test_acc')}; what first {_mean_sd(what, 180, 'final_train_acc')} / "
        f"{_mean_sd(what, 180, 'test_acc')}." in note
    )
    signed = [_signed(a.loc[180, "test_acc"] - b.loc[180, "test_acc"]) for a, b in zip(where, what, strict=True)]

    def mean(runs, epoch: int) -> float:
        return pd.Series([rows.loc[epoch, "test_acc"] for rows in runs]).mean()

    ahead, level = _signed(mean(where, 180) - mean(what, 180)), _signed(mean(where, 180) - mean(what, 175))
    assert (
        f"seed by seed: {_and(signed)} test ({ahead} in the mean); against what first at the end of its last what "
        f"phase (epoch 175: {_mean_sd(what, 175, 'test_acc')}), {level}." in note
    )


def test_row1_seed2_notes_quote_the_committed_data():
    """The notes on seed 2 of row 1 in both orders (one run: an H200 to epoch 135, then the CPU) quote its phase ends,
    and seeds 0 and 1's, exactly: when its attention left uniform in each order, and where first − what first."""
    note = _note()
    folder = "tables-row1-seed2-paper-h200"
    what = (*_seeds(1, 1), _row_epochs(folder, "table1/1"))
    where = (*_seeds(2, 1), _row_epochs(folder, "table2/1"))
    for rows in (what[2], where[2]):  # phase ends only; "epochs 1-135 on an H200, 136-180 on CPU"
        assert rows.index.tolist() == list(range(5, 181, 5)) and (rows["seed"] == 2).all()
        assert (rows.loc[:135, "device"] == "cuda (NVIDIA H200)").all() and (rows.loc[140:, "device"] == "cpu").all()
    one, two = what[2].loc[180], where[2].loc[180]
    assert (
        _final_line(
            one, f"0.96 / 0.81; seeds 0 and 1: {_train_test(what[0].loc[180])}, {_train_test(what[1].loc[180])}"
        )
        in note
    )
    others = f"; Table 2 row 1 seeds 0 and 1: {_train_test(where[0].loc[180])}, {_train_test(where[1].loc[180])}"
    assert _beside_table1(two, one, 1, others, ours="ours, seed 2") in note
    assert [_left_uniform(runs[2]) for runs in (what, where)] == [(35, 40), (40, 45)]  # "between epochs 35 and 45"

    def where_phases(rows: pd.DataFrame, epoch: int) -> int:
        """How many where phases ended by `epoch` (phase ends only: one row each)."""
        return int((rows.loc[:epoch, "phase"] == "where").sum())

    assert (where_phases(what[2], 35), where_phases(what[2], 40)) == (3, 4)  # first three ... the fourth
    assert (where_phases(where[2], 40), where_phases(where[2], 45)) == (4, 5)  # first four ... the fifth
    for rows, first, left in ((what[2], "three", 35), (where[2], "four", 40)):
        assert (
            f"within 0.001 of 1/9 through its first {first} where phases (to epoch {left}), left it in the "
            f"{'fourth' if first == 'three' else 'fifth'} ({_at(rows, left + 5, 'test_fg_alpha')} at epoch {left + 5}) "
            f"and was {_at(rows, 100, 'test_fg_alpha')} at epoch 100 and {_at(rows, 180, 'test_fg_alpha')} at the end"
            in note
        )
    best = what[2]["test_acc"].idxmax()
    assert f"highest at epoch {best} ({_at(what[2], best, 'test_acc')}) and ends at {one['test_acc']:.3f}" in note
    assert where[2]["test_acc"].idxmax() == 180 and "its test accuracy is highest at the end. **A third seed" in note
    for column, published, name in (("final_train_acc", 0.96, "train"), ("test_acc", 0.81, "test")):
        values = pd.Series([rows.loc[180, column] for rows in what])
        assert abs(values.mean() - published) <= 2 * values.std(), column
        assert f"{name} {values.mean():.3f} ± {values.std():.3f}" in note
    assert [_left_uniform(runs[0]) for runs in (what, where)] == [(25, 30), (30, 35)]  # "seed 0 between 25 and 35"
    assert (
        f"(Table 1: within 0.001 of 1/9 at 35, {_at(what[2], 40, 'test_fg_alpha')} at 40; Table 2: at 40, "
        f"{_at(where[2], 45, 'test_fg_alpha')} at 45), seed 0 between 25 and 35, seed 1 between 60 and 75" in note
    )
    gaps = [where[s].loc[180, "test_acc"] - what[s].loc[180, "test_acc"] for s in (0, 1, 2)]
    assert min(gaps) > 0
    assert (
        f"+{gaps[2]:.3f} test with seed 2 (+{gaps[0]:.3f} and +{gaps[1]:.3f} with seeds 0 and 1), above in each of "
        f"the three seeds, by {min(gaps):.3f}-{max(gaps):.3f}" in note
    )


def test_table2_row1_note_quotes_the_committed_data():
    """The note on Table 2 row 1 (where first) quotes its every-epoch data and Table 1 row 1's phase ends exactly."""
    note = _note()
    where = _row_epochs("table2-row1-paper-cpu", "table2/1")
    what = _row_epochs("table1-row1-paper-cpu", "table1/1")
    assert where.index.tolist() == list(range(1, 181))
    assert _beside_table1(where.loc[180], what.loc[180], 1, "; the write-up has no Table 2") in note
    assert (where.loc[1:5, "phase"] == "where").all()
    measured = [c for c in where.columns if c.startswith(("train_", "test_"))]
    for column in measured:  # "no loss, accuracy or mean alpha at three decimals (the focus shares by less than 0.001)"
        if column.endswith(("_loss", "_acc", "_alpha")):
            assert _at(where, 1, column) == _at(where, 5, column), column
        else:
            assert abs(where.loc[5, column] - where.loc[1, column]) < 0.001, column
    assert {"train_loss", "test_acc", "test_fg_alpha", "test_ftpt"} <= set(measured)
    assert (
        f"running train loss {_at(where, 1, 'train_loss')} and test accuracy {_at(where, 1, 'test_acc')} at epochs 1 "
        f"and 5, mean foreground alpha {_at(where, 5, 'test_fg_alpha')} (uniform)" in note
    )
    first = where.index[where["test_fg_alpha"] > 0.112].min()
    assert first in range(31, 36) and (where.loc[31:35, "phase"] == "where").all()  # the fourth where phase
    first_what = what.index[what["test_fg_alpha"] > 0.112].min()  # phase ends only: epochs 5, 10, ...
    assert first_what == 30 and what.loc[30, "phase"] == "where" and what.loc[25, "phase"] == "what"
    assert (where.loc[41:45, "phase"] == "where").all() and (what.loc[40, "phase"]) == "where"
    assert (
        f"first exceeds 0.112 at epoch {first}, in its fourth where phase (row 1: in its third, epochs 26-30, whose "
        f"end is committed) and is {_at(where, 45, 'test_fg_alpha')} at the end of the fifth where phase (epoch 45; "
        f"row 1: {_at(what, 40, 'test_fg_alpha')} at the end of its fourth" in note
    )
    ends = where[where.index % 5 == 0]  # row 1 committed its phase ends only: compare like with like
    assert what.index.tolist() == ends.index.tolist()
    best, best_what = ends["test_acc"].idxmax(), what["test_acc"].idxmax()
    assert best == best_what
    assert (
        f"({_at(where, 180, 'test_acc')} against {_at(what, 180, 'test_acc')}; at the phase ends, the epochs "
        f"committed of both, both peak at epoch {best}: {_at(where, best, 'test_acc')} and "
        f"{_at(what, best, 'test_acc')})" in note
    )
    assert (where.loc[176:180, "phase"] == "what").all() and what.loc[180, "phase"] == "where"
    assert f"fell from {_at(what, 175, 'train_acc')} (epoch 175) to {_at(what, 180, 'train_acc')} (180)" in note


def _both_orders(
    row: int, k: int, epochs: int, what_folder: str | None = None, aside: str = "", ours: str = "ours"
) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The published notes, and the committed phase ends of Table 2 row `row` (CPU, where first) and of Table 1's
    row of the same settings, the same epochs; the note's first line (`aside`, `ours`: as `_beside_table1`'s) and
    the first phase checked. `what_folder`: a Table 1 run that committed every epoch (its phase ends are compared),
    instead of table1-row<row>-paper-cpu."""
    note = _note()
    ends = list(range(k, epochs + 1, k))
    where = _row_epochs(f"table2-row{row}-paper-cpu", f"table2/{row}")
    what = _row_epochs(what_folder or f"table1-row{row}-paper-cpu", f"table1/{row}")
    if what_folder:  # every epoch there: like with like
        assert what.index.tolist() == list(range(1, epochs + 1))
        what = what.loc[ends]
    assert where.index.tolist() == what.index.tolist() == ends
    assert _beside_table1(where.loc[epochs], what.loc[epochs], row, aside, ours) in note
    assert where.loc[k, "phase"] == "where"
    return note, where, what


def test_table2_row2_note_quotes_the_committed_data():
    """The note on Table 2 row 2 quotes its phase ends and Table 1 row 2's exactly."""
    note, where, what = _both_orders(2, k=10, epochs=200)
    assert (
        f"leaves running train loss {_at(where, 10, 'train_loss')}, test accuracy {_at(where, 10, 'test_acc')} and "
        f"foreground alpha {_at(where, 10, 'test_fg_alpha')}" in note
    )
    later = range(90, 201, 10)
    assert where.loc[80, "test_fg_alpha"] < what.loc[80, "test_fg_alpha"]  # hence "from epoch 90 on"
    for column in ("test_fg_alpha", "test_alpha_ge_half"):  # "sharper than Table 1 row 2's at every phase end"
        assert all(where.loc[e, column] > what.loc[e, column] for e in later), column

    def spread(rows, column):
        return f"{min(rows.loc[later, column]):.3f}-{max(rows.loc[later, column]):.3f}"

    assert (
        f"(foreground alpha {spread(where, 'test_fg_alpha')} against {spread(what, 'test_fg_alpha')}; largest alpha "
        f">= 0.5 in {spread(where, 'test_alpha_ge_half')} of the test mosaics against "
        f"{spread(what, 'test_alpha_ge_half')})" in note
    )
    assert (where.loc[200, "phase"], what.loc[190, "phase"], what.loc[200, "phase"]) == ("what", "what", "where")
    assert (
        f"alike ({_at(where, 200, 'test_acc')} at epoch 200, Table 1 row 2 {_at(what, 190, 'test_acc')} at 190); "
        f"Table 1's last phase, a where phase, then took its test accuracy to {_at(what, 200, 'test_acc')} and its "
        f"foreground alpha from {_at(what, 190, 'test_fg_alpha')} to {_at(what, 200, 'test_fg_alpha')}" in note
    )


def test_table2_row2_seed1_note_quotes_the_committed_data():
    """The note on Table 2 row 2's seed 1 quotes its phase ends, and both seeds of both orders, exactly."""
    note = _note()
    (what0, what1), (where0, where1) = _seeds(1, 2), _seeds(2, 2)
    assert where1.index.tolist() == list(range(10, 201, 10))  # phase ends only; where first, k = 10
    assert (where1.loc[range(10, 201, 20), "phase"] == "where").all()
    last = where1.loc[200]
    seed0 = f"; Table 2 row 2 seed 0: {_train_test(where0.loc[200])}"
    assert _beside_table1(last, what1.loc[200], 2, seed0, ours="ours, seed 1") in note
    # the first what phase of seed 1 moved nothing in either order (ln 3), seed 0's did
    assert all(abs(rows.loc[e, "train_loss"] - math.log(3)) < 0.001 for rows, e in ((where1, 20), (what1, 10)))
    assert all(rows.loc[e, "train_loss"] < 1.08 for rows, e in ((where0, 20), (what0, 10)))
    assert (
        f"(running train loss {_at(where1, 20, 'train_loss')}, ln 3, and test accuracy {_at(where1, 20, 'test_acc')} "
        f"at epoch 20; Table 1 seed 1: {_at(what1, 10, 'train_loss')} and {_at(what1, 10, 'test_acc')} at 10; seed 0: "
        f"{_at(where0, 20, 'train_loss')} and {_at(where0, 20, 'test_acc')} at 20 where first, "
        f"{_at(what0, 10, 'train_loss')} and {_at(what0, 10, 'test_acc')} at 10 what first)" in note
    )
    alpha = where1["test_fg_alpha"]
    assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001 < alpha.loc[70] - 1 / 9
    assert (what1.loc[:70, "test_fg_alpha"] - 1 / 9).abs().max() < 0.001 < what1.loc[80, "test_fg_alpha"] - 1 / 9
    assert (where0.loc[:20, "test_fg_alpha"] - 1 / 9).abs().max() < 0.001 < where0.loc[30, "test_fg_alpha"] - 1 / 9
    assert (
        f"(epochs 61-70: {_at(where1, 70, 'test_fg_alpha')} at 70), as Table 1 row 2's seed 1 did "
        f"({_at(what1, 80, 'test_fg_alpha')} after its fourth, epoch 80); seed 0 of Table 2 had left it in its second "
        f"({_at(where0, 30, 'test_fg_alpha')} at 30, {_at(where0, 50, 'test_fg_alpha')} at 50)" in note
    )
    assert alpha.loc[range(70, 191, 20)].diff().iloc[1:].gt(0).all() and alpha.idxmax() == 190  # "rose in every"
    rose = ", ".join(f"{_at(where1, e, 'test_fg_alpha')} at {e}" for e in (90, 110, 150, 190))
    assert f"rose in every where phase to the end ({rose})" in note
    peaks = []
    for rows in (what0, what1, where0):  # peaked before the end and fell
        top = rows["test_fg_alpha"].idxmax()
        assert top < 190 and rows.loc[200, "test_fg_alpha"] < rows.loc[top, "test_fg_alpha"]
        peaks.append(f"{_at(rows, top, 'test_fg_alpha')} at {top}")
    assert (
        f"(Table 1 seed 0: {peaks[0]}, {_at(what0, 200, 'test_fg_alpha')} at the end; seed 1: {peaks[1]}, "
        f"{_at(what1, 200, 'test_fg_alpha')}; Table 2 seed 0: {peaks[2]}, {_at(where0, 200, 'test_fg_alpha')})" in note
    )
    pairs = ((what0, where0), (what1, where1))
    at_end = [where.loc[200, "test_acc"] - what.loc[200, "test_acc"] for what, where in pairs]
    at_last_what = [where.loc[200, "test_acc"] - what.loc[190, "test_acc"] for what, where in pairs]
    cost = [what.loc[190, "test_acc"] - what.loc[200, "test_acc"] for what, _ in pairs]
    assert all(0 < late < end for late, end in zip(at_last_what, at_end, strict=True))
    assert (
        f"+{at_end[0]:.3f} test with seed 0, +{at_end[1]:.3f} with seed 1; against Table 1's test accuracy at the end "
        f"of its last what phase (epoch 190: {_at(what0, 190, 'test_acc')} and {_at(what1, 190, 'test_acc')}), "
        f"+{at_last_what[0]:.3f} and +{at_last_what[1]:.3f}" in note
    )
    assert f"which cost its seeds {cost[0]:.3f} and {cost[1]:.3f}, not the order" in note


def test_table2_row2_seed2_note_quotes_the_committed_data():
    """The note on Table 2 row 2's seed 2 quotes its phase ends, and three seeds of both orders, exactly: where first
    ended higher with every seed, and seed 2's lead does not come from Table 1's closing where phase."""
    note = _note()
    what, where = _seeds(1, 2, count=3), _seeds(2, 2, count=3)
    two = where[2]
    assert two.index.tolist() == list(range(10, 201, 10))  # phase ends only
    others = f"; Table 2 row 2 seeds 0 and 1: {_train_test(where[0].loc[200])} and {_train_test(where[1].loc[200])}"
    assert _beside_table1(two.loc[200], what[2].loc[200], 2, others, ours="ours, seed 2") in note
    moved = [rows.loc[20, "train_loss"] < 1.09 for rows in where]  # ln 3 = 1.0986: seed 1's did not move
    assert moved == [True, False, True]
    assert (
        f"(running train loss {_at(two, 20, 'train_loss')} and test accuracy {_at(two, 20, 'test_acc')} at epoch 20; "
        f"seed 0: {_at(where[0], 20, 'train_loss')} and {_at(where[0], 20, 'test_acc')}; seed 1: "
        f"{_at(where[1], 20, 'train_loss')} and {_at(where[1], 20, 'test_acc')})" in note
    )
    alpha = two["test_fg_alpha"]
    assert (alpha.loc[:40] - 1 / 9).abs().max() < 0.001 < alpha.loc[50] - 1 / 9
    assert (
        f"left it slowly in the third ({_at(two, 50, 'test_fg_alpha')} at 50, {_at(two, 70, 'test_fg_alpha')} at 70)"
        in note
    )
    assert alpha.idxmax() == 130 and alpha.loc[range(130, 191, 20)].is_monotonic_decreasing
    fell = ", ".join(f"{_at(two, e, 'test_fg_alpha')} at {e}" for e in (150, 170, 190))
    assert (
        f"peaked before the end ({_at(two, 130, 'test_fg_alpha')} at epoch 130) and fell in every where phase "
        f"after ({fell})" in note
    )
    assert two["test_acc"].idxmax() == 200
    train = pd.Series([rows.loc[200, "final_train_acc"] for rows in where])
    test = pd.Series([rows.loc[200, "test_acc"] for rows in where])
    assert f"train {train.mean():.3f} ± {train.std():.3f}, test {test.mean():.3f} ± {test.std():.3f}" in note
    test_gap = pd.Series([a.loc[200, "test_acc"] - b.loc[200, "test_acc"] for a, b in zip(where, what, strict=True)])
    train_gap = [
        a.loc[200, "final_train_acc"] - b.loc[200, "final_train_acc"] for a, b in zip(where, what, strict=True)
    ]
    assert min(test_gap) > 0 and min(train_gap) > 0  # "higher with every seed"
    assert (
        f"+{test_gap[0]:.3f}, +{test_gap[1]:.3f} and +{test_gap[2]:.3f} test (+{test_gap.mean():.3f} ± "
        f"{test_gap.std():.3f}), +{train_gap[0]:.3f}, +{train_gap[1]:.3f} and +{train_gap[2]:.3f} train" in note
    )
    closing = [rows.loc[200, "test_acc"] - rows.loc[190, "test_acc"] for rows in what]
    assert closing[0] < 0 and closing[1] < 0 < closing[2]
    assert f"({_at(what[2], 190, 'test_acc')} -> {_at(what[2], 200, 'test_acc')}, its note)" in note
    late = [a.loc[200, "test_acc"] - b.loc[190, "test_acc"] for a, b in zip(where, what, strict=True)]
    assert late[2] > test_gap[2] and all(late[s] < test_gap[s] for s in (0, 1))
    assert f"where first leads by +{late[2]:.3f} (seeds 0 and 1: +{late[0]:.3f} and +{late[1]:.3f})" in note


def _row2_where_first_seed(note: str, seed: int) -> tuple[tuple, tuple]:
    """Row 2's seeds what first (0 .. seed-1) and where first (0 .. seed), having checked how the note on Table 2's
    `seed`, published alone on CPU, opens: beside the published Table 1 row 2 and Table 2's earlier seeds."""
    what, where = _seeds(1, 2, count=seed), _seeds(2, 2, count=seed + 1)
    rows = where[seed]
    assert rows.index.tolist() == list(range(10, 201, 10))  # phase ends only
    published = get_space("table1").experiments[1].reference  # row 2
    others = ", ".join(_train_test(r.loc[200]) for r in where[:seed])
    beside = f"Table 1 row 2: {_published(published)}; Table 2 row 2 seeds 0-{seed - 1}: {others}"
    assert _cpu_seed_note(2, 2, seed) + _final_line(rows.loc[200], beside) + "." in note
    return what, where


def test_table2_row2_seed3_note_quotes_the_committed_data():
    """The note on Table 2 row 2's seed 3 quotes its phase ends, and the other seeds of both orders, exactly: its first
    what phase moved nothing, as seed 1's did, and the two seeds that wasted it ended lowest where first."""
    note = _note()
    what, where = _row2_where_first_seed(note, 3)
    three = where[3]
    wasted = [abs(rows.loc[20, "train_loss"] - math.log(3)) < 0.001 for rows in where]
    assert wasted == [False, True, False, True] and three.loc[20, "phase"] == "what"
    assert (
        "**its first what phase (epochs 11-20) moved nothing, as seed 1's did** (running train loss "
        f"{_at(three, 20, 'train_loss')}, ln 3, and test accuracy {_at(three, 20, 'test_acc')} at "
        f"epoch 20; seed 1: {_at(where[1], 20, 'train_loss')} and {_at(where[1], 20, 'test_acc')}); its second did "
        f"({_at(three, 40, 'train_loss')} and {_at(three, 40, 'test_acc')} at 40)" in note
    )
    assert three.loc[40, "train_loss"] < 1.09
    for rows in (three, where[1]):  # "within 0.001 of 1/9 ... to epoch 60 and left it in the fourth"
        alpha = rows["test_fg_alpha"]
        assert (alpha.loc[:60] - 1 / 9).abs().max() < 0.001 < alpha.loc[70] - 1 / 9
    alpha = three["test_fg_alpha"]
    assert alpha.idxmax() == 130 and alpha.loc[[130, 150, 170]].is_monotonic_decreasing
    assert alpha.loc[190] > alpha.loc[170] and three.loc[190, "phase"] == "where"
    assert (
        "As seed 1's, its mean foreground alpha stayed within 0.001 of 1/9 through three where phases (to epoch 60) "
        f"and left it in the fourth ({_at(three, 70, 'test_fg_alpha')} at 70; seed 1: "
        f"{_at(where[1], 70, 'test_fg_alpha')}); it peaked at epoch 130 ({_at(three, 130, 'test_fg_alpha')}), fell to "
        f"{_at(three, 170, 'test_fg_alpha')} at 170 and rose to {_at(three, 190, 'test_fg_alpha')} in the last where "
        "phase; its test accuracy was highest at the end." in note
    )
    assert three["test_acc"].idxmax() == 200
    final = [rows.loc[200, "test_acc"] for rows in where]
    assert max(final[1], final[3]) < min(final[0], final[2])  # "ended lowest"
    assert (
        f"ended lowest where first (seeds 1 and 3: {final[1]:.3f} and {final[3]:.3f} test; seeds 0 and 2: "
        f"{final[0]:.3f} and {final[2]:.3f})." in note
    )
    assert (
        f"Four seeds where first: train {_mean_sd(where, 200, 'final_train_acc')}, test "
        f"{_mean_sd(where, 200, 'test_acc')} (what first, three seeds: {_mean_sd(what, 200, 'final_train_acc')} / "
        f"{_mean_sd(what, 200, 'test_acc')})." in note
    )


def test_table2_row2_seed4_note_quotes_the_committed_data():
    """The note on Table 2 row 2's seed 4, the fifth where first, quotes its phase ends and the other seeds exactly: it
    moved early and still ended below seed 1, so the seeds that wasted their first what phase are not the two lowest."""
    note = _note()
    what, where = _row2_where_first_seed(note, 4)
    four = where[4]
    assert four.loc[20, "train_loss"] < 1.09 and four.loc[20, "phase"] == "what"
    assert (
        "its first what phase (epochs 11-20) moved the networks (running train loss "
        f"{_at(four, 20, 'train_loss')} and test accuracy {_at(four, 20, 'test_acc')} at epoch 20)" in note
    )
    alpha = four["test_fg_alpha"]
    assert (alpha.loc[:20] - 1 / 9).abs().max() < 0.001 < alpha.loc[30] - 1 / 9 and four.loc[30, "phase"] == "where"
    assert (where[0].loc[:20, "test_fg_alpha"] - 1 / 9).abs().max() < 0.001 < where[0].loc[30, "test_fg_alpha"] - 1 / 9
    assert alpha.loc[30] > max(rows.loc[30, "test_fg_alpha"] for rows in where[:4])  # "and furthest"
    assert (
        "its attention left uniform in its second where phase, as seed 0's did, and furthest "
        f"({_at(four, 30, 'test_fg_alpha')} at 30; seed 0: {_at(where[0], 30, 'test_fg_alpha')})." in note
    )
    peaks = [rows["test_fg_alpha"].max() for rows in where[:4]]
    assert alpha.idxmax() == 110 and alpha.max() < min(peaks)
    assert alpha.loc[range(110, 191, 20)].is_monotonic_decreasing and alpha.loc[200] == alpha.loc[190]
    assert alpha.loc[200] < min(rows.loc[200, "test_fg_alpha"] for rows in where[:4])
    assert four["test_acc"].idxmax() == 180
    assert (
        f"Its foreground alpha peaked at epoch 110 ({_at(four, 110, 'test_fg_alpha')}), below every other seed's peak "
        f"({min(peaks):.3f}-{max(peaks):.3f}), fell in every where phase after, to {_at(four, 190, 'test_fg_alpha')}, "
        "the lowest final alpha of the five; its test accuracy was highest at epoch 180 "
        f"({_at(four, 180, 'test_acc')})." in note
    )
    final = [rows.loc[200, "test_acc"] for rows in where]
    assert final[3] < final[4] < final[1] < min(final[0], final[2])
    assert (
        f"**It ended below seed 1** ({final[4]:.3f} against {final[1]:.3f}): with five seeds where first, the seeds "
        "that wasted their first what phase (1 and 3) are no longer the two lowest." in note
    )
    assert (
        f"Five seeds where first: train {_mean_sd(where, 200, 'final_train_acc')}, test "
        f"{_mean_sd(where, 200, 'test_acc')} (what first, four seeds: {_mean_sd(what, 200, 'final_train_acc')} / "
        f"{_mean_sd(what, 200, 'test_acc')})." in note
    )


def test_table2_row3_note_quotes_the_committed_data():
    """The note on Table 2 row 3 quotes its phase ends and Table 1 row 3's (three seeds) exactly."""
    seeds = _seeds(1, 3, count=3)
    others = f"; seeds 1 and 2: {_train_test(seeds[1].loc[280])} and {_train_test(seeds[2].loc[280])}"
    note, where, what = _both_orders(3, k=20, epochs=280, aside=others, ours="ours, seed 0")
    assert (
        f"moves nothing (running train loss {_at(where, 20, 'train_loss')}, test accuracy {_at(where, 20, 'test_acc')})"
        in note
    )

    def alpha(epoch: int) -> str:
        return _at(where, epoch, "test_fg_alpha")

    assert {alpha(e) for e in range(20, 121, 20)} == {"0.111"}  # "still 0.111 at epoch 120"
    assert (where.loc[[20, 60, 100], "phase"] == "where").all()  # "after three where phases"
    assert (
        f"still {alpha(120)} at epoch 120, after three where phases, {alpha(140)} at 140, {alpha(180)} at 180 and "
        f"{alpha(280)} at the end" in note
    )
    assert (where["test_alpha_ge_half"] == 0).all()  # "no test mosaic has a largest alpha >= 0.5 at any phase end"
    assert (what.loc[[40, 80], "phase"] == "where").all() and what.loc[60, "phase"] == "what"
    assert (
        f"{_at(what, 40, 'test_fg_alpha')} after its first where phase, epoch 40, {_at(what, 80, 'test_fg_alpha')} "
        f"after its second, {_at(what, 280, 'test_fg_alpha')} at the end" in note
    )
    assert (
        f"running train accuracy {_at(where, 40, 'train_acc')} at epoch 40, {_at(where, 160, 'train_acc')} at 160, "
        f"{_at(where, 280, 'train_acc')} at 280" in note
    )
    best = where["test_acc"].idxmax()
    assert f"highest at epoch {best} ({_at(where, best, 'test_acc')}) and ends at {_at(where, 280, 'test_acc')}" in note
    diff = where.loc[280, "test_acc"] - what.loc[280, "test_acc"]
    assert f"ends {-diff:.3f} below what first's seed 0 here" in note and diff < 0
    mean_diff = where.loc[280, "test_acc"] - pd.Series([rows.loc[280, "test_acc"] for rows in seeds]).mean()
    assert f"and {-mean_diff:.3f} below the mean of what first's three seeds" in note and mean_diff < 0
    assert all((rows["test_fg_alpha"] - 1 / 9).abs().max() < 0.005 for rows in seeds[1:])
    assert "its seeds 1 and 2 stayed within 0.005 of 1/9 at every phase end" in note
    assert (alpha(60), alpha(100)) == ("0.111", "0.111")  # after its second and third where phases
    assert f"took it from {_at(what, 60, 'test_fg_alpha')} to {_at(what, 80, 'test_fg_alpha')}" in note
    published = get_space("table1").experiments[2].reference  # row 3
    assert f"lie closer to the published Table 1 row 3 ({_published(published)})" in note
    for column, value in (("test_acc", published.test_acc), ("final_train_acc", published.train_acc)):
        assert abs(where.loc[280, column] - value) < abs(what.loc[280, column] - value), column
    for rows in seeds[1:]:  # "its seeds 1 and 2 are nearer in train accuracy, farther in test"
        ours, theirs = where.loc[280], rows.loc[280]
        assert abs(theirs["final_train_acc"] - published.train_acc) < abs(ours["final_train_acc"] - published.train_acc)
        assert abs(theirs["test_acc"] - published.test_acc) > abs(ours["test_acc"] - published.test_acc)
    assert "(its seeds 1 and 2 are nearer in train accuracy, farther in test)" in note


ROWS_4_5 = ROOT / PUBLISHED / "table1-rows4-5-paper-h200"


def _row3_where_first_seed(note: str, seed: int, earlier: str) -> tuple[tuple, tuple]:
    """Row 3's seeds what first (three) and where first (0 .. seed), having checked how the note on Table 2's `seed`
    opens (beside Table 1's same seed and Table 2's `earlier` seeds) and that its first where phase moved nothing."""
    what, where = _seeds(1, 3, count=3), _seeds(2, 3, count=seed + 1)
    rows = where[seed]
    assert rows.index.tolist() == list(range(20, 281, 20))  # phase ends only
    others = f"; Table 2 row 3 {earlier}: " + " and ".join(_train_test(r.loc[280]) for r in where[:seed])
    opening = _beside_table1(rows.loc[280], what[seed].loc[280], 3, others, ours=f"ours, seed {seed}")
    assert _cpu_seed_note(2, 3, seed) + opening in note
    assert rows.loc[20, "train_loss"] > 1.0986  # ln 3: "moved nothing"
    assert (
        f"(running train loss {_at(rows, 20, 'train_loss')}, test accuracy {_at(rows, 20, 'test_acc')} at epoch 20)"
        in note
    )
    return what, where


def _row3_uniform_runs(what, where) -> tuple[list, pd.DataFrame, list[float]]:
    """Row 3's runs whose attention never left uniform (all but Table 1's seed 0), that seed, and their final alphas."""
    uniform, moved = [*what[1:], *where], what[0]
    assert all((rows["test_alpha_ge_half"] == 0).all() for rows in uniform)
    ends = [rows.loc[280, "test_fg_alpha"] for rows in uniform]
    assert max(ends) < 0.12 < moved.loc[280, "test_fg_alpha"]
    return uniform, moved, ends


def test_table2_row3_seed1_note_quotes_the_committed_data():
    """The note on Table 2 row 3's seed 1 quotes its phase ends and the other four runs of row 3 exactly: four of
    five learned no attention and went the same way."""
    note = _note()
    what, where = _row3_where_first_seed(note, 1, "seed 0")
    one = where[1]
    alpha = one["test_fg_alpha"]
    assert (alpha.loc[:140] - 1 / 9).abs().max() < 0.0001 < alpha.loc[180] - 1 / 9
    assert (one.loc[range(20, 141, 40), "phase"] == "where").all() and len(range(20, 141, 40)) == 4
    assert "alpha stayed within 0.0001 of 1/9 to epoch 140 (four where phases)" in note
    assert f"then rose to {_at(one, 180, 'test_fg_alpha')} at 180 and {_at(one, 220, 'test_fg_alpha')} at 220" in note
    assert _at(one, 220, "test_fg_alpha") == _at(one, 280, "test_fg_alpha")  # "and at the end"
    assert (one["test_alpha_ge_half"] == 0).all()  # the share of test mosaics with a largest alpha >= 0.5
    assert "no test mosaic had a largest alpha >= 0.5 at any phase end. The what network" in note
    assert "Measured at the phase ends: **it went as seed 0 did: its attention never left uniform**." in note
    assert "memorised the training mosaics as seed 0's did (running train accuracy" in note
    now, before = ([_at(rows, e, "train_acc") for e in (40, 160, 280)] for rows in (one, where[0]))
    assert (
        f"(running train accuracy {now[0]} at epoch 40, {now[1]} at 160, {now[2]} at 280; seed 0: {', '.join(before)})"
        in note
    )
    assert one["test_acc"].idxmax() == where[0]["test_acc"].idxmax() == 140
    assert (
        f"highest at epoch 140 ({_at(one, 140, 'test_acc')}; seed 0: {_at(where[0], 140, 'test_acc')}, at 140 too) "
        f"and ended at {_at(one, 280, 'test_acc')}" in note
    )
    uniform, moved, ends = _row3_uniform_runs(what, where)
    assert (
        "**Four of the five runs of row 3's settings, in either order, learned no attention** (Table 1 seeds 1 and 2, "
        f"Table 2 seeds 0 and 1: foreground alpha {min(ends):.3f}-{max(ends):.3f} at the end)" in note
    )

    def span(values) -> str:
        return f"{min(values):.3f}-{max(values):.3f}"

    peaks = [rows["test_acc"].max() for rows in uniform]
    tests = [rows.loc[280, "test_acc"] for rows in uniform]
    trains = [rows.loc[280, "final_train_acc"] for rows in uniform]
    assert f"peaking at {span(peaks)}, ending at {span(tests)}" in note
    only = f"({_at(moved, 280, 'test_fg_alpha')} at its end), and it ended at {_at(moved, 280, 'test_acc')}."
    assert f"Only Table 1's seed 0 left uniform {only}" in note and moved.loc[280, "test_acc"] > max(peaks)
    assert (
        f"train {_mean_sd(where, 280, 'final_train_acc')}, test {_mean_sd(where, 280, 'test_acc')} (what first, three "
        f"seeds: {_mean_sd(what, 280, 'final_train_acc')} / {_mean_sd(what, 280, 'test_acc')})" in note
    )
    gaps = [a.loc[280, "test_acc"] - b.loc[280, "test_acc"] for a, b in zip(where, what, strict=False)]
    assert f"seed by seed: {gaps[0]:.3f} and +{gaps[1]:.3f} test" in note and gaps[0] < 0 < gaps[1]
    published = get_space("table1").experiments[2].reference  # row 3
    assert (
        f"The published Table 1 row 3 ({_published(published)}) lies near the four (train "
        f"{span(trains)}, test {span(tests)}), not near Table 1's seed 0" in note
    )
    assert min(trains) <= published.train_acc <= max(trains) and published.test_acc - max(tests) < 0.01
    assert abs(moved.loc[280, "test_acc"] - published.test_acc) > 0.09


def test_table2_row3_seed2_note_quotes_the_committed_data():
    """The note on Table 2 row 3's seed 2 quotes its phase ends and the other five runs of row 3 exactly: five of six
    learned no attention, and the orders differ only where one of them did."""
    note = _note()
    what, where = _row3_where_first_seed(note, 2, "seeds 0 and 1")
    two = where[2]
    alpha = two["test_fg_alpha"]
    assert (alpha.loc[:200] - 1 / 9).abs().max() < 0.001 < alpha.loc[220] - 1 / 9
    where_ends = two.loc[range(20, 201, 40), "phase"]
    assert (where_ends == "where").all() and len(where_ends) == 5
    assert "stayed within 0.001 of 1/9 to epoch 200 (five where phases)" in note
    assert f"then rose to {_at(two, 220, 'test_fg_alpha')} at 220 and {_at(two, 260, 'test_fg_alpha')} at 260" in note
    assert _at(two, 260, "test_fg_alpha") == _at(two, 280, "test_fg_alpha")  # "and at the end"
    assert (two["test_alpha_ge_half"] == 0).all()  # the share of test mosaics with a largest alpha >= 0.5
    assert "no test mosaic had a largest alpha >= 0.5 at any phase end. Its what network" in note
    assert all((rows["test_fg_alpha"] < 0.12).all() for rows in where)
    assert "Measured at the phase ends: **as seeds 0 and 1 did, its attention never left uniform**." in note
    train = [_at(two, e, "train_acc") for e in (40, 160, 280)]
    assert (
        f"(running train accuracy {train[0]} at epoch 40, {train[1]} at 160, {train[2]} at 280; seeds 0 and 1: "
        f"{_at(where[0], 280, 'train_acc')} and {_at(where[1], 280, 'train_acc')} at 280)" in note
    )
    assert two["test_acc"].idxmax() == 100 and [rows["test_acc"].idxmax() for rows in where[:2]] == [140, 140]
    assert (
        f"highest at epoch 100 ({_at(two, 100, 'test_acc')}; seeds 0 and 1: {_at(where[0], 140, 'test_acc')} and "
        f"{_at(where[1], 140, 'test_acc')}, at 140) and ended at {_at(two, 280, 'test_acc')}" in note
    )
    uniform, moved, ends = _row3_uniform_runs(what, where)

    def span(values) -> str:
        return f"{min(values):.3f}-{max(values):.3f}"

    peaks = [rows["test_acc"].max() for rows in uniform]
    tests = [rows.loc[280, "test_acc"] for rows in uniform]
    assert (
        "**Five of the six runs of row 3's settings learned no attention**, all but Table 1's seed 0 (foreground alpha "
        f"{span(ends)} at the end; test accuracy at the phase ends peaking at {span(peaks)}, ending at {span(tests)})"
        in note
    )
    assert (
        f"Three seeds where first: train {_mean_sd(where, 280, 'final_train_acc')}, test "
        f"{_mean_sd(where, 280, 'test_acc')} (what first: {_mean_sd(what, 280, 'final_train_acc')} / "
        f"{_mean_sd(what, 280, 'test_acc')})" in note
    )
    gaps = [a.loc[280, "test_acc"] - b.loc[280, "test_acc"] for a, b in zip(where, what, strict=True)]
    assert gaps[0] < 0 < gaps[1] and gaps[2] < 0
    assert (
        f"seed by seed: −{-gaps[0]:.3f}, +{gaps[1]:.3f} and −{-gaps[2]:.3f} test: with seeds 1 and 2, which learned no "
        f"attention in either order, the orders ended {gaps[1]:.3f} and {-gaps[2]:.3f} apart; the one large gap is "
        "seed 0's, whose Table 1 run is the one that learned attention." in note
    )
    assert max(abs(g) for g in gaps[1:]) < 0.01 < abs(gaps[0])
    published = get_space("table1").experiments[2].reference  # row 3
    _assert_inside_two_sd(where, 280, published)
    assert (
        f"The published Table 1 row 3 ({_published(published)}) lies inside where first's mean ± 2 sd in train and "
        "test accuracy." in note
    )


def _rows_4_5() -> tuple[pd.DataFrame, pd.DataFrame]:
    row4, row5 = (_row_epochs(ROWS_4_5.name, f"table1/{n}") for n in (4, 5))
    assert row4.index.tolist() == list(range(1, 321)) and row5.index.tolist() == list(range(1, 361))
    return row4, row5


def test_rows_4_and_5_notes_quote_the_committed_data():
    """The notes on Table 1 rows 4 and 5 quote their run's epochs (all committed: --every-epoch) exactly."""
    note = _note()
    row4, row5 = _rows_4_5()
    row3 = _row_epochs("table1-row3-paper-cpu", "table1/3")
    last = row4.loc[320]
    assert _final_line(last, "0.97 / 0.79") in note
    row3_40 = row3.loc[40, "test_fg_alpha"]
    assert (
        f"the mean foreground alpha is {row4.loc[40, 'test_fg_alpha']:.3f} after the first where phase (epoch 40; "
        f"row 3: {row3_40:.3f}) and {row4.loc[80, 'test_fg_alpha']:.3f} after the second (80)" in note
    )
    best = row4["test_acc"].idxmax()
    assert (
        f"climbs to {row4.loc[120, 'test_acc']:.3f} by epoch 120 and ends at {last['test_acc']:.3f} (highest "
        f"{row4.loc[best, 'test_acc']:.3f}, epoch {best})" in note
    )

    assert _headline(row5.loc[360], "0.99 / 0.76") + ": **the where network died**" in note
    assert (
        f"the test accuracy was {row5.loc[270, 'test_acc']:.3f} and the mean foreground alpha "
        f"{row5.loc[270, 'test_fg_alpha']:.3f}" in note
    )
    loss = [f"{row5.loc[e, 'train_loss']:.3f}" for e in (271, 290, 291, 292)]
    assert f"rose from {loss[0]} (epoch 271) to {loss[1]} (epoch 290), {loss[2]} (291) and {loss[3]} (292)" in note
    for split, first in (("test", 291), ("train", 292)):  # 1/9 on every tile: so the mean, and no alpha >= 0.5
        dead = row5.loc[first:]  # the test pass after epoch 291; the running training metrics from epoch 292
        assert (dead[f"{split}_fg_alpha"] - 1 / 9).abs().max() < 1e-6 and (dead[f"{split}_alpha_ge_half"] == 0).all()
        assert abs(row5.loc[first - 1, f"{split}_fg_alpha"] - 1 / 9) > 1e-3
    assert (row5.loc[60:290, "train_fg_alpha"] - 1 / 9).min() > 0.3  # it had left uniform after the 1st where phase
    for start in (292, 331):  # "the where phases repeat the same numbers epoch after epoch"
        phase = row5.loc[start:300] if start == 292 else row5.loc[start:360]
        assert (phase["phase"] == "where").all() and phase["train_loss"].round(6).nunique() == 1
    best = row5["test_acc"].idxmax()
    assert f"The best test accuracy of the run, {row5.loc[best, 'test_acc']:.3f} (epoch {best})" in note
    # the README's generated line says so too (report_checks.collapse_checks: the first exactly uniform test pass)
    readme = _one_line(ROOT / "README.md")
    assert "The attention collapsed to uniform at epoch 291 and stayed (in 1 of 2 seeds)" in readme


# The published trials whose notes say their where network died: (folder, experiment).
DEAD_WHERE_NETWORKS = [(ROWS_4_5.name, "table1/5"), ("table1-row6-seed1-paper-cpu", "table1/6")]


@pytest.mark.parametrize("folder, experiment", DEAD_WHERE_NETWORKS, ids=lambda v: v.replace("/", "-"))
def test_committed_where_network_is_dead(real_images, folder, experiment):
    """No unit of the committed WhereNet's last hidden layer fires on any test tile, so every tile gets alpha 1/9
    and no weight of the where network gets a gradient (the note's explanation, from the repository alone)."""
    from trainables import StageWiseTrainer, TrainConfig

    rows = _row_epochs(folder, experiment)
    row1 = _row_epochs("table1-row1-paper-cpu", "table1/1")  # row 4's state went for the budget; row 1's is alive
    states = {
        "dead": _committed_state(ROOT / PUBLISHED / folder, rows["trial_id"].iloc[0]),
        "alive": _committed_state(ROOT / PUBLISHED / "table1-row1-paper-cpu", row1["trial_id"].iloc[0]),
    }
    trainer = StageWiseTrainer(TrainConfig.from_flat(states["dead"]["config"]), real_images, "cpu")
    where, what, test = trainer.nets["where"], trainer.nets["what"], trainer.sets["test"]
    what.load_state_dict(full_weights(states["dead"]["nets"]["what"]))
    active = {}
    hook = where.fc3.register_forward_hook(lambda m, i, out: active.__setitem__("n", (out > 0).sum().item()))
    try:
        for name, expect_dead in (("dead", True), ("alive", False)):  # row 1, alive, for contrast
            where.load_state_dict(full_weights(states[name]["nets"]["where"]))
            fired = 0
            for idx in torch.arange(len(test)).split(2000):  # every test mosaic, in batches (memory)
                with torch.no_grad():
                    _, alphas = where(test.patches(idx))
                fired += active["n"]
                if expect_dead:
                    assert torch.allclose(alphas, torch.full_like(alphas, 1 / 9))
                elif fired:
                    break  # one batch with a live unit shows the contrast; the rest would only cost time
            assert (fired == 0) == expect_dead, (name, fired)
    finally:
        hook.remove()
    where.load_state_dict(full_weights(states["dead"]["nets"]["where"]))
    idx = torch.arange(500)
    weighted, _ = where(test.patches(idx))
    torch.nn.functional.cross_entropy(what(weighted), test.label[idx]).backward()
    grads = {name: p.grad for name, p in where.named_parameters()}
    assert all(g is None or g.count_nonzero() == 0 for name, g in grads.items() if name != "fc4.bias")
    # zero for any where network, dead or alive (the softmax ignores a shift shared by all tiles): only rounding
    assert grads["fc4.bias"] is None or grads["fc4.bias"].abs().max() < 1e-6
    assert any(p.grad is not None and p.grad.count_nonzero() > 0 for p in what.parameters())  # the loss is live


def test_the_collapse_check_dates_row_5_from_its_committed_epochs():
    """Every epoch kept: the collapse is at epoch 291; phase ends only (publish_run's default) between 271 and 300."""
    from orchestrator.aggregate import trial_results
    from orchestrator.publish_run import epochs_to_publish
    from orchestrator.report_checks import collapse_checks

    _rows_4_5()
    (run,) = read_runs([str(ROWS_4_5)], str(ROOT / PUBLISHED))
    for epochs, at, after in (
        (run.epochs, 291, 290),
        (epochs_to_publish(pa.Table.from_pandas(run.epochs)).to_pandas(), 300, 270),
    ):
        results = trial_results(run.trials, epochs)
        checks = collapse_checks(results, epochs).join(results["experiment"])
        row5 = checks.set_index("experiment").loc["table1/5"]
        assert (row5["collapsed_at"], row5["collapsed_after"]) == (at, after)
        assert checks.set_index("experiment").loc[["table1/4"], "collapsed_at"].isna().all()


def test_every_epoch_keeps_the_whole_curve_and_says_so(tmp_path, capsys):
    from test_report import epoch_rows, write_run

    row = {**get_space("table1").trials("paper")[0], "seed": 0}  # k = 5: epochs 5 and 7 are the phase ends
    accs = [0.3, 0.4, 0.5, 0.45, 0.6, 0.55, 0.62]
    run = write_run(tmp_path, "row1", "table1", "paper", [(row, "t0", epoch_rows(row, "t0", accs, 0.7), "TERMINATED")])
    for every, name, epochs in ((False, "ends", [5, 7]), (True, "all", list(range(1, 8)))):
        argv = [str(run), "--as", name, "--states", "0", "--root", str(tmp_path)] + ["--every-epoch"] * every
        assert publish_run.main(argv) == 0
        out = capsys.readouterr().out
        assert f"-> {tmp_path / PUBLISHED / name}" in out
        assert f"results/published now holds {published_bytes(tmp_path):,} of its 3,000,000-byte budget" in out
        table = pq.read_table(tmp_path / PUBLISHED / name / "epochs" / EPOCHS_FILE)
        assert table["epoch"].to_pylist() == epochs and table["test_acc"].to_pylist() == [accs[e - 1] for e in epochs]
        said = json.loads((tmp_path / PUBLISHED / name / "run.json").read_text())["published"]["epochs"]
        assert said == publish_run.EPOCHS_KEPT["every_epoch" if every else "phase_ends"]


def test_a_paper_scale_search_is_not_refused_for_its_sampled_settings(tmp_path):
    """A search's samples differ from its base row in what it sampled, by design: not a change of settings."""
    from test_report import epoch_rows, write_run

    from orchestrator.errors import UsageError
    from search_spaces import get_space

    base = {**get_space("search").trials("paper")[0], "run": "search-paper"}
    samples = [{**base, "what_lr": lr, "where_lr": lr / 2, "k": k, "seed": 0} for lr, k in ((1e-3, 1), (2e-2, 2))]
    trials = [
        (s, f"s{i}", epoch_rows(s, f"s{i}", [0.3, 0.4], final_train=0.5), "TERMINATED") for i, s in enumerate(samples)
    ]
    run = write_run(tmp_path, "search-paper", "search", "paper", trials)
    published = publish(str(run), tmp_path, states=0)
    assert len(pq.read_table(published / "trials.parquet")) == 2
    off = [{**s, "n_train": 400} for s in samples]  # a size, not a sampled setting, still is a change
    trials = [(s, f"o{i}", epoch_rows(s, f"o{i}", [0.3], final_train=0.5), "TERMINATED") for i, s in enumerate(off)]
    write_run(tmp_path, "off", "search", "paper", trials)
    with pytest.raises(UsageError, match=r"search/random ran with n_train 400 \(paper 30,000\): only the paper's"):
        publish(str(tmp_path / "off"), tmp_path, states=0)


def test_slim_state_keeps_the_networks_compact():
    from orchestrator.publish_run import HALF_MAX, compact_weights, slim_state

    kernel = torch.randn(6, 3, 5, 5)
    kernel[2] = 0.0  # a unit whose weights are all zero
    nets = {
        "where": {
            "conv.weight": kernel,
            "w": torch.tensor([0.1, -2.5], dtype=torch.float32),
            "big": torch.tensor([2 * HALF_MAX]),
            "bad": torch.tensor([[1.0, float("nan")]]),
        },
        "what": {
            "count": torch.tensor([3]),
            "empty": torch.zeros(0),
            "w64": torch.tensor([1 / 3], dtype=torch.float64),
        },
    }
    state = {"format": 1, "config": {}, "epoch": 2, "outcome": "completed", "nets": nets, "optimizers": {}}
    slim = slim_state(state)
    assert set(slim) == set(STATE_KEYS)  # no optimiser state or history
    where = slim["nets"]["where"]
    # a kernel: int8 times a float32 scale per output unit, its largest magnitude at 127; back within half a step
    assert "conv.weight" not in where and where["conv.weight.int8"].dtype == torch.int8
    assert where["conv.weight.scale"].dtype == torch.float32 and where["conv.weight.scale"].shape == (6,)
    assert where["conv.weight.int8"].abs().reshape(6, -1).amax(1).tolist() == [127, 127, 0, 127, 127, 127]
    back = full_weights(where)["conv.weight"]
    step = where["conv.weight.scale"].reshape(6, 1, 1, 1)
    assert back.dtype == torch.float32 and ((back - kernel).abs() <= step / 2 + 1e-7).all() and (back[2] == 0).all()
    # vectors in float16; beyond its range, non-finite, integers and empty tensors keep their dtype
    assert where["w"].dtype == torch.float16 and where["w"].tolist() == [pytest.approx(0.1, abs=1e-4), -2.5]
    assert slim["nets"]["what"]["w64"].dtype == torch.float16
    assert where["big"].dtype == torch.float32 and where["bad"].dtype == torch.float32
    assert slim["nets"]["what"]["count"].dtype == torch.int64 and slim["nets"]["what"]["empty"].dtype == torch.float32
    assert full_weights(slim["nets"]["what"]).keys() == nets["what"].keys()
    plain = {"w": torch.ones(2, 2), "ln.scale": torch.ones(2), "x.int8": torch.ones(2, 2), "y.int8": torch.ones(1)}
    back = full_weights({**plain, "y.scale": torch.ones(1)})  # any other state_dict comes back as it is
    assert back.keys() == {*plain, "y.scale"} and all(back[k] is plain[k] for k in plain)
    with pytest.raises(ValueError, match=r"names end in \.int8 or \.scale: \['ln\.scale'\]"):
        compact_weights({"ln.scale": torch.ones(2, 2)})
    assert nets["where"]["w"].dtype == torch.float32  # the run's own state is not touched
    net = WhereNet()
    compact = slim_state({**state, "nets": {"where": net.state_dict()}})["nets"]["where"]
    with pytest.raises(RuntimeError, match="Missing key"):  # loaded without full_weights: loud, not cast
        net.load_state_dict(compact)
    net.load_state_dict(full_weights(compact))


H200_THROUGHPUT = """device: NVIDIA H200; synthetic images; 5000 training + 1666 test mosaics per member and epoch
precision pack groups train/s/member train/s/device speedup eval/s/device paper epoch GPU busy peak GiB
unpacked     1      1          60523          60523    1.00        253404      0.54 s        -        -
fp32         1      1          37144          37144    0.61        235431      0.85 s      65%      0.7
fp32         4      1          13916          55663    0.92        237468      2.32 s      76%      0.8
fp32        16      1          10419         166707    2.75        467239      3.22 s     186%      3.4
tf32        16      1          12484         199750    3.30        603549      2.67 s     162%      5.1
"""


def test_gpu_plan_prices_the_published_h200_run_and_picks_what_fits(tmp_path, capsys):
    """benchmarks/gpu_plan.py on the H200's measured throughput (README, Benchmarks): it prices the published run of
    rows 4 and 5 (a 422-s sweep, unpacked) and those of row 7 (411 s) and row 5's seed 1 (245 s), two trials at a
    time, within 10 %; prefers two unpacked trials at a time for 2 rows and a pack for 16."""
    import gpu_plan

    from search_spaces import get_space

    unpacked, packs = gpu_plan.read_throughput(H200_THROUGHPUT, "fp32")
    assert [m["n"] for m in packs] == [1, 4, 16] and unpacked["n"] == 1
    assert gpu_plan.unpacked_s([320, 360], unpacked) == pytest.approx(422, rel=0.10)
    rows = get_space("tables").trials("paper")
    plans = gpu_plan.plan([r for r in rows if r["experiment"] in ("table1/4", "table1/5")], unpacked, packs, 460)
    assert [p["rows"] for p in plans] == [["table1/4"], ["table1/4", "table1/5"]]
    assert all(p["pack"] == "1" and p["fits"] for p in plans)
    assert [p["gpus_per_trial"] for p in plans] == ["1", "0.5"]  # one trial: alone; two: sharing the GPU
    assert plans[1]["paired_s"] < plans[1]["unpacked_s"] < plans[1]["packed_s"]
    assert gpu_plan.paired_s([600, 600], unpacked) == pytest.approx(411, rel=0.10)
    assert gpu_plan.paired_s([360, 360], unpacked) == pytest.approx(245, rel=0.10)
    assert gpu_plan.paired_s([320], unpacked) == gpu_plan.unpacked_s([320], unpacked)
    (everything,) = [p for p in gpu_plan.plan(rows, unpacked, packs, 1800) if len(p["rows"]) == 16]
    assert max(everything["packed_s"], everything["paired_s"]) < everything["unpacked_s"] and not everything["fits"]
    (seeds,) = gpu_plan.plan([r for r in rows if r["experiment"] == "table1/4"] * 16, unpacked, packs, 1800)
    assert seeds["pack"] == "16" and seeds["gpus_per_trial"] == "1" and seeds["packed_s"] < seeds["paired_s"]
    throughput = tmp_path / "throughput.txt"
    throughput.write_text(H200_THROUGHPUT)
    assert gpu_plan.main([str(throughput), "--window", "520", "--only", "table1/*", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    for folder in FOLDERS:  # the rows published already are left out
        for experiment in pq.read_table(folder / "trials.parquet").column("experiment").to_pylist():
            assert f"{experiment}," not in out.split("\n", 1)[1] and f"{experiment} " not in out.split("\n", 1)[1]
    assert "nothing left to run: every trial of tables --only table1/* is published (more seeds: --space seeds)" in out
    # seeds: what is published counts by (row, seed): with seeds 0 and 1 of Table 1 row 3 published, 2-4 are left
    two_seeds = tmp_path / "two-seeds"  # whatever the repository holds later
    for folder in ("table1-row3-paper-cpu", "table1-row3-seed1-paper-cpu"):
        shutil.copytree(ROOT / PUBLISHED / folder, two_seeds / PUBLISHED / folder)
    args = ["--window", "900", "--space", "seeds", "--only", "table1/3", "--root", str(two_seeds)]
    assert gpu_plan.main([str(throughput), *args]) == 0
    out = capsys.readouterr().out
    assert "fits  3 trials:" in out and "--only table1/3 --seeds 3 --first-seed 2 --pack" in out
    seed0 = tmp_path / "seed0"  # row 1 of both tables with seed 0 published, whatever the repository holds later
    for folder in ("table1-row1-paper-cpu", "table2-row1-paper-cpu"):
        shutil.copytree(ROOT / PUBLISHED / folder, seed0 / PUBLISHED / folder)
    args = ["--window", "540", "--space", "seeds", "--only", "table1/1,table2/1", "--root", str(seed0)]
    assert gpu_plan.main([str(throughput), *args]) == 0
    out = capsys.readouterr().out  # seeds 1-4 of row 1 of both tables: two at a time, in one session
    assert "fits  8 trials:" in out and "--seeds 4 --first-seed 1 --pack 1 --gpus-per-trial 0.5\n" in out
    mixed = gpu_plan.run_flags(
        [{"experiment": "a", "seed": 1}, {"experiment": "a", "seed": 2}, {"experiment": "b", "seed": 2}]
    )
    assert mixed == "--only a,b (seeds differ: a [1, 2]; b [2])"
    assert gpu_plan.run_flags([{"experiment": "a", "seed": 0}, {"experiment": "b", "seed": 0}]) == "--only a,b"
    # under `seeds` (five seeds a row) seed 0 alone must say so, or the run would train all five
    assert (
        gpu_plan.run_flags([{"experiment": "a", "seed": 0}], several_seeds=True) == "--only a --seeds 1 --first-seed 0"
    )
    assert gpu_plan.main([str(throughput), "--window", "540", "--only", "table9/*"]) == 2  # a typo: not "nothing left"
    assert "--only 'table9/*' matches no experiment of tables" in capsys.readouterr().err
    throughput.write_text("no table here")
    assert gpu_plan.main([str(throughput), "--window", "460"]) == 2


ROWS_T2_5_6 = "table2-rows5-6-paper-h200"


def _table2_rows_5_6() -> tuple[pd.DataFrame, pd.DataFrame]:
    row5, row6 = (_row_epochs(ROWS_T2_5_6, f"table2/{n}") for n in (5, 6))
    assert row5.index.tolist() == list(range(1, 361)) and row6.index.tolist() == list(range(1, 501))  # every epoch
    return row5, row6


def test_table2_row5_note_quotes_the_committed_data():
    """The note on Table 2 row 5 quotes its every-epoch data (and Table 1 row 5's) exactly."""
    note = _note()
    row5, _ = _table2_rows_5_6()
    _, what = _rows_4_5()
    last = row5.loc[360]
    assert _beside_table1(last, what.loc[360], 5) in note
    best = row5["test_acc"].idxmax()
    assert (
        f"(epoch 300) the test accuracy was {_at(row5, 300, 'test_acc')} (highest {_at(row5, best, 'test_acc')}, "
        f"epoch {best}) and the mean foreground alpha {_at(row5, 300, 'test_fg_alpha')}" in note
    )
    assert (row5.loc[301:330, "phase"] == "where").all() and row5.loc[300, "phase"] == "what"
    starts = row5.index[row5["phase"].ne(row5["phase"].shift())]  # first epoch of each phase
    assert starts.tolist() == list(range(1, 361, 30)) and row5.loc[1, "phase"] == "where"
    assert (starts.get_loc(271) + 1, starts.get_loc(301) + 1) == (10, 11)  # the fifth what, the sixth where phase
    loss = [_at(row5, e, "train_loss") for e in (301, 311, 312, 313)]
    assert f"rose from {loss[0]} (epoch 301) to {loss[1]} (311), {loss[2]} (312) and {loss[3]} (313)" in note
    assert (row5.loc[312:, "test_alpha_ge_half"] == 1).all() and row5.loc[311, "test_alpha_ge_half"] < 0.5
    assert (
        f"every test mosaic has a largest alpha >= 0.5 ({_at(row5, 312, 'test_alpha_ge_half')}) while the mean "
        f"foreground alpha fell to {_at(row5, 312, 'test_fg_alpha')} (312), {_at(row5, 313, 'test_fg_alpha')} (313) "
        f"and {_at(row5, 314, 'test_fg_alpha')} (314)" in note
    )
    on_fg = row5.loc[314, "test_ftpt"] + row5.loc[314, "test_ftpf"]  # largest alpha on the foreground tile
    assert f"one mosaic of ten ({on_fg:.3f} of the test mosaics at epoch 314)" in note and 0.09 < on_fg < 0.11
    assert (
        f"mostly wrong and sure of it (test loss {_at(row5, 314, 'test_loss')}, test accuracy "
        f"{_at(row5, 314, 'test_acc')})" in note
    )
    tests = [c for c in row5.columns if c.startswith("test_")]
    assert (row5.loc[314:330, tests].round(6).nunique() == 1).all()  # "repeats the same numbers from epoch 314"
    assert row5.loc[313:330, tests].round(6).nunique().max() > 1
    assert (
        row5.loc[316:330, "train_loss"].round(6).nunique() == 1
        and row5.loc[315, "train_loss"] != row5.loc[316, "train_loss"]
    )
    assert f"from epoch 314 to 330, the running train loss is {_at(row5, 316, 'train_loss')} from 316 on" in note
    assert (row5.loc[331:360, "phase"] == "what").all()
    assert {_at(row5, e, "train_loss") for e in range(332, 361)} == {"1.099"}
    assert (row5.loc[331:, "test_loss"] - math.log(3)).abs().max() < 0.001
    assert f"to {_at(row5, 331, 'train_loss')} in its first epoch (331) and to 1.099 = ln 3 from 332 to the end" in note
    assert f"(the test mosaics' share of trucks: {last['test_acc']:.3f})" in note
    assert f"after a best test accuracy of {_at(what, what['test_acc'].idxmax(), 'test_acc')})" in note
    # "rows 4 and 6 of Table 1 and row 6 of Table 2 did not": no flag, and each ends near its best
    results, _ = published_summary(ROOT)
    seed0 = results[results["seed"] == 0].set_index("experiment")
    rows = seed0.loc[["table1/4", "table1/6", "table2/6", "table2/5", "table1/5"]]
    assert rows["collapsed_at"].notna().tolist() == [False, False, False, False, True]
    assert rows["saturated_at"].notna().tolist() == [False, False, False, True, False]
    assert rows["fell_at"].notna().tolist() == [False, False, False, True, False]
    assert (rows["test_acc"].iloc[:3] > 0.74).all()
    assert (seed0.loc["table2/5", "saturated_at"], seed0.loc["table2/5", "fell_at"]) == (312, 331)
    assert '("attention saturated at epoch 312; fell back to chance at epoch 331")' in note
    # the README's generated line says so too (report_checks.fall_checks: the first test pass at chance for good)
    readme = _one_line(ROOT / "README.md")
    assert "The test accuracy fell back to chance at epoch 331 and stayed (in 1 of 2 seeds)" in readme
    assert (
        "attention saturated at epoch 312; fell back to chance at epoch 331"
        in (ROOT / REPORT / "report.md").read_text()
    )


def test_table2_row5s_committed_networks_answer_one_class_through_one_tile(real_images):
    """The committed final networks of Table 2 row 5: the where network gives one tile of each test mosaic all of its
    attention, and no unit of the what network's last hidden layer fires, so it answers one class (truck) whatever
    the mosaic: the note's explanation, from the repository alone."""
    from trainables import StageWiseTrainer
    from trainables.cifar import CLASSES

    row5, _ = _table2_rows_5_6()
    state = _committed_state(ROOT / PUBLISHED / ROWS_T2_5_6, row5["trial_id"].iloc[0])
    config = TrainConfig.from_flat(state["config"])
    trainer = StageWiseTrainer(config, real_images, "cpu")
    for name, net in trainer.nets.items():
        net.load_state_dict(full_weights(state["nets"][name]))
    where, what, test = trainer.nets["where"], trainer.nets["what"], trainer.sets["test"]
    fired = []
    hook = what.fc3.register_forward_hook(lambda m, i, out: fired.append(int((out > 0).sum())))
    try:
        with torch.no_grad():
            for idx in torch.arange(len(test)).split(2000):  # every test mosaic, in batches (memory)
                weighted, alphas = where(test.patches(idx))
                assert (alphas.max(dim=1).values > 1 - 1e-6).all()
                assert (what(weighted).argmax(dim=1) == config.mosaic.foreground.index(CLASSES.index("truck"))).all()
    finally:
        hook.remove()
    assert sum(fired) == 0 and len(fired) == 5 and what.fc3.out_features == 10  # "fc3, 10 ReLUs"


def test_table2_row6_note_quotes_the_committed_data():
    """The note on Table 2 row 6 quotes its every-epoch data and Table 1 row 6's exactly."""
    note = _note()
    _, where = _table2_rows_5_6()
    what, seed1 = _seeds(1, 6)
    assert _beside_table1(where.loc[500], what.loc[500], 6, "; published 0.86 / 0.41", ours="ours, seed 0") in note
    assert f"Table 1's seed 1 ends near it ({_at(seed1, 500, 'test_acc')})" in note
    assert (where.loc[1:50, "phase"] == "where").all() and where.loc[50:51, "phase"].tolist() == ["where", "what"]
    for column in ("train_loss", "test_acc", "test_fg_alpha"):  # "moves nothing": the same at 3 decimals throughout
        assert where.loc[1:50, column].round(3).nunique() == 1, column
    assert (
        f"moves nothing (running train loss {_at(where, 50, 'train_loss')}, test accuracy "
        f"{_at(where, 50, 'test_acc')}, foreground alpha {_at(where, 50, 'test_fg_alpha')})" in note
    )
    assert (where.loc[101:150, "phase"] == "where").all()
    assert (
        f"takes the foreground alpha from {_at(where, 100, 'test_fg_alpha')} to {_at(where, 150, 'test_fg_alpha')} "
        f"and the test accuracy from {_at(where, 100, 'test_acc')} to {_at(where, 150, 'test_acc')} (Table 1 row 6's "
        f"first where phase: {_at(what, 100, 'test_fg_alpha')} and {_at(what, 100, 'test_acc')} by epoch 100)" in note
    )
    assert f"(running train accuracy {_at(where, 200, 'train_acc')} at epoch 200)" in note
    assert (where.loc[201:250, "phase"] == "where").all()
    assert (
        f"at epoch 201 the foreground alpha fell from {_at(where, 200, 'test_fg_alpha')} to "
        f"{_at(where, 201, 'test_fg_alpha')}, the running train accuracy to {_at(where, 201, 'train_acc')} and the "
        f"test accuracy from {_at(where, 200, 'test_acc')} to {_at(where, 201, 'test_acc')}, and the phase ended at "
        f"alpha {_at(where, 250, 'test_fg_alpha')}, below where it began (Table 1 row 6's second where phase: from "
        f"{_at(what, 150, 'test_fg_alpha')} to {_at(what, 151, 'test_fg_alpha')}, ending at "
        f"{_at(what, 200, 'test_fg_alpha')})" in note
    )
    fourth, last = where.loc[301:350], where.loc[401:450]
    assert (fourth["phase"] == "where").all() and (last["phase"] == "where").all()
    low = fourth["test_fg_alpha"].idxmin()
    assert (
        f"the fourth fell to {_at(where, low, 'test_fg_alpha')} (epoch {low}) and ended at "
        f"{_at(where, 350, 'test_fg_alpha')}; the last hardly moved (lowest {last['test_fg_alpha'].min():.3f}, from "
        f"{_at(where, 400, 'test_fg_alpha')}, ending at {_at(where, 450, 'test_fg_alpha')})" in note
    )
    best = where["test_acc"].idxmax()
    ends = where.loc[range(250, 501, 50), "test_acc"]
    assert (
        f"highest at epoch {best} ({_at(where, best, 'test_acc')}) and stays between {ends.min():.3f} and "
        f"{ends.max():.3f} at the phase ends from epoch 250 on, ending at {_at(where, 500, 'test_acc')}: where first "
        f"− what first = {where.loc[500, 'test_acc'] - what.loc[500, 'test_acc']:.3f}" in note
    )


def test_table2_row4_note_quotes_the_committed_data():
    """The note on Table 2 row 4 quotes its phase ends and Table 1 row 4's (every epoch committed) exactly."""
    note, where, what = _both_orders(4, k=20, epochs=320, what_folder=ROWS_4_5.name)
    assert (
        f"moves nothing (running train loss {_at(where, 20, 'train_loss')}, test accuracy {_at(where, 20, 'test_acc')})"
        in note
    )
    assert (where.loc[[20, 60, 100], "phase"] == "where").all() and (what.loc[[40, 80], "phase"] == "where").all()
    assert (
        f"the mean foreground alpha is {_at(where, 60, 'test_fg_alpha')} after its second where phase (epoch 60; "
        f"Table 1 row 4: {_at(what, 40, 'test_fg_alpha')} after its first, epoch 40) and "
        f"{_at(where, 100, 'test_fg_alpha')} after its third (100; Table 1 row 4: {_at(what, 80, 'test_fg_alpha')} "
        "after its second, 80)" in note
    )
    best, best_what = where["test_acc"].idxmax(), what["test_acc"].idxmax()
    diff = where.loc[320, "test_acc"] - what.loc[320, "test_acc"]
    assert (
        f"highest at the end, epoch {best} ({_at(where, best, 'test_acc')}; Table 1 row 4: "
        f"{_at(what, best_what, 'test_acc')} at {best_what}): where first − what first = {diff:+.3f}" in note
    )
    assert best == 320


ROW5_SEED1 = "tables-row5-seed1-paper-h200"
ROW7 = "tables-row7-paper-h200"
ROW8 = "tables-row8-paper-h200"


def test_row5_seed1_notes_quote_the_committed_data():
    """The notes on seed 1 of row 5 (both orders, phase ends committed) quote their epochs and the report's flags."""
    note = _note()
    what, where = (_row_epochs(ROW5_SEED1, f"table{t}/5") for t in (1, 2))
    assert what.index.tolist() == where.index.tolist() == list(range(30, 361, 30))
    seed0_what = _row_epochs(ROWS_4_5.name, "table1/5")
    seed0_where = _row_epochs("table2-rows5-6-paper-h200", "table2/5")
    s0 = f"seed 0: {_at(seed0_what, 360, 'final_train_acc')} / {_at(seed0_what, 360, 'test_acc')}"
    last = what.loc[360]
    headline = "**the attention saturated on one tile away from the foreground in the last where phase**"
    assert f"{_final_line(last, '0.99 / 0.76; ' + s0)}: {headline}" in note
    assert what["test_acc"].idxmax() == 330 and what.loc[330, "test_acc"] > 0.76
    assert f"was {_at(what, 120, 'test_acc')} at epoch 120 and {_at(what, 330, 'test_acc')} at 330, its highest" in note
    assert (what.loc[[120, 300, 360], "phase"] == "where").all() and what.loc[330, "phase"] == "what"
    assert (
        f"the mean foreground alpha {_at(what, 120, 'test_fg_alpha')} after the second where phase (120) and "
        f"{_at(what, 300, 'test_fg_alpha')} after the fifth (300)" in note
    )
    assert last["test_alpha_ge_half"] == 1.0 and last["test_fg_alpha"] < 1 / 9
    assert 0.09 < last["test_ftpt"] + last["test_ftpf"] < 0.12  # "the foreground tile in about one of ten"
    assert f"the mean foreground alpha is {_at(what, 360, 'test_fg_alpha')}, below uniform (0.111)" in note
    assert (
        f"running train loss is {_at(what, 360, 'train_loss')} and the test loss {_at(what, 360, 'test_loss')}" in note
    )
    results, _ = published_summary(ROOT)
    trials = results.set_index(["experiment", "seed"])
    assert tuple(trials.loc[("table1/5", 1), ["saturated_at", "saturated_after"]]) == (360, 330)
    assert trials.loc[("table2/5", 0), "saturated_at"] == 312 and "row 5's seed 0 did at epoch 312" in note
    assert "attention saturated by epoch 360" in (ROOT / REPORT / "report.md").read_text()

    end = where.loc[360]
    assert (
        f"clean-pass train {end['final_train_acc']:.3f}, test {end['test_acc']:.3f} (seed 0: "
        f"{_at(seed0_where, 360, 'final_train_acc')} / {_at(seed0_where, 360, 'test_acc')}); "
        f"{_focus_and_attention(end)}. It did not break" in note
    )
    ends = [30, 90, 150, 210, 270, 330]  # every where phase's end
    assert where.loc[where["phase"] == "where"].index.intersection(ends).tolist() == ends
    alphas = [f"{_at(where, e, 'test_fg_alpha')} ({e})" for e in ends[1:]]
    assert (
        f"is {_at(where, 30, 'test_fg_alpha')} after its first where phase (epoch 30), then {alphas[0]}, "
        f"{', '.join(alphas[1:4])} and {alphas[4]}" in note
    )
    assert where["test_acc"].idxmax() == 360
    assert f"highest at the end ({_at(where, 360, 'test_acc')}, epoch 360), {end['test_acc'] - 0.76:.3f} above" in note
    # "broke in 3 of the 4 trials run so far ... after test accuracies of 0.78-0.83"
    row5 = results[results["experiment"].isin(["table1/5", "table2/5"])].set_index(["experiment", "seed"])
    broke = row5[["collapsed_at", "saturated_at", "fell_at"]].notna().any(axis=1)
    assert len(row5) == 4 and broke.sum() == 3 and not broke[("table2/5", 1)]
    curves = {("table1/5", 0): seed0_what, ("table2/5", 0): seed0_where, ("table1/5", 1): what}
    best = sorted(curves[key]["test_acc"].max() for key in curves)
    assert f"after test accuracies of {best[0]:.2f}-{best[-1]:.2f}, above the published 0.76" in note
    assert "**Row 5's settings (k = 30, both learning rates 0.01) broke in 3 of the 4 trials run so far**" in note
    # "each in a late where phase (epoch 291; 312; between 331 and 360)"
    assert (trials.loc[("table1/5", 0), "collapsed_at"], trials.loc[("table2/5", 0), "saturated_at"]) == (291, 312)
    assert seed0_what.loc[291, "phase"] == seed0_where.loc[312, "phase"] == what.loc[360, "phase"] == "where"
    assert "(epoch 291; 312; between 331 and 360)" in note
    assert f"did not break ends {end['test_acc'] - 0.76:.3f} above the published test accuracy" in note
    # seed 0's note on Table 2 row 5 says how seed 1 of each order went
    assert pd.isna(trials.loc[("table1/5", 1), "fell_at"]) and pd.notna(trials.loc[("table2/5", 0), "fell_at"])
    assert "Table 1's attention saturated as this one's did, without a fall back to chance after it" in note


def _where_phase_starts(rows: pd.DataFrame) -> list[int]:
    """The first epoch of each where phase of a row kept every epoch (kept at phase ends: each where phase's end)."""
    where = rows["phase"] == "where"
    return rows.index[where & ~where.shift(1, fill_value=False)].tolist()


def _assert_one_phase_late(note: str, what, where, row: int, ends: range, within: str, quoted: tuple) -> None:
    """A Table 2 note's claim that its row is Table 1's one phase (k epochs) late: its first line beside Table 1's,
    its first where phase moving nothing, and its test accuracy at each phase end `ends` + k within `within` (rounded
    up to the quoted digit) of Table 1's at the phase end k epochs earlier, two such pairs quoted."""
    k, last = ends.step, what.index.max()
    assert _beside_table1(where.loc[last], what.loc[last], row) in note
    assert where.loc[k, "phase"] == "where"
    assert f"(running train loss {_at(where, k, 'train_loss')}, test accuracy {_at(where, k, 'test_acc')})" in note
    gaps = [abs(where.loc[e + k, "test_acc"] - what.loc[e, "test_acc"]) for e in ends]
    assert float(within) - 0.001 < max(gaps) < float(within)
    assert f"within {within} of Table 1 row {row}'s {k} epochs earlier" in note
    pairs = [f"{_at(where, e + k, 'test_acc')} at {e + k} against {_at(what, e, 'test_acc')} at {e}" for e in quoted]
    assert f"({pairs[0].replace(' at ', ' at epoch ', 1)}, {pairs[1]})" in note


def test_row7_notes_quote_the_committed_data():
    """The notes on row 7 of both tables (one run, phase ends committed) quote their epochs exactly."""
    note = _note()
    what, where = (_row_epochs(ROW7, f"table{t}/7") for t in (1, 2))
    assert what.index.tolist() == where.index.tolist() == list(range(50, 601, 50))
    last = what.loc[600]
    assert _final_line(last, "0.97 / 0.82") in note
    row6, row6_seed1 = _seeds(1, 6)
    assert f"(test accuracy {_at(what, 50, 'test_acc')} at epoch 50)" in note
    assert (
        f"(mean foreground alpha {_at(what, 100, 'test_fg_alpha')} at epoch 100; row 6, what lr 0.01: "
        f"{_at(row6, 100, 'test_fg_alpha')} and {_at(row6_seed1, 100, 'test_fg_alpha')}, seeds 0 and 1)" in note
    )
    assert (
        f"takes it to {_at(what, 200, 'test_fg_alpha')} and the test accuracy to {_at(what, 200, 'test_acc')}, the "
        f"third (251-300) to {_at(what, 300, 'test_fg_alpha')} and {_at(what, 300, 'test_acc')}" in note
    )
    best = what["test_acc"].idxmax()
    assert (
        best == 550
        and f"highest at epoch 550 ({_at(what, 550, 'test_acc')}) and ends at {last['test_acc']:.3f}" in note
    )
    assert (
        f"within {last['test_acc'] - 0.82:.3f} of the published 0.82 (row 6, ours: {_at(row6, 500, 'test_acc')} with "
        f"seed 0, {_at(row6_seed1, 500, 'test_acc')} with seed 1, whose where network died)" in note
    )

    row6_settings, row7_settings = (get_space("table1").experiments[i].values for i in (5, 6))
    assert {k: row7_settings[k] for k in ("k", "epochs", "what_lr")} == {"k": 50, "epochs": 600, "what_lr": 0.001}
    assert (row6_settings["k"], row6_settings["what_lr"], row6_settings["where_lr"]) == (50, 0.01, 0.01)
    assert "Row 7 is row 6's k = 50 with the what network's learning rate cut to 0.001 (600 epochs)" in note

    _assert_one_phase_late(note, what, where, 7, range(50, 551, 50), "0.014", (200, 400))
    ends = [150, 250, 350, 450, 550]
    assert (where.loc[ends, "phase"] == "where").all()
    alphas = [f"{_at(where, e, 'test_fg_alpha')} ({e})" for e in ends]
    assert f"is {', '.join(alphas[:4])} and {alphas[4]}" in note
    assert where.loc[600, "phase"] == "what" and last["phase"] == "where"
    assert f"where first − what first = {where.loc[600, 'test_acc'] - last['test_acc']:+.3f}" in note


def test_row8_notes_quote_the_committed_data():
    """The notes on row 8 of both tables (one run, every epoch committed) quote their epochs exactly: both broke in
    the first epoch of the third where phase that follows a what phase."""
    note = _note()
    what, where = (_row_epochs(ROW8, f"table{t}/8") for t in (1, 2))
    assert what.index.tolist() == where.index.tolist() == list(range(1, 801))
    last = what.loc[800]
    assert _final_line(last, "0.97 / 0.83") in note
    row7, row8 = (get_space("table1").experiments[i].values for i in (6, 7))
    assert {k: row7[k] for k in ("what_lr", "where_lr")} == {k: row8[k] for k in ("what_lr", "where_lr")}
    assert (row8["k"], row8["epochs"], row8["what_lr"], row8["where_lr"]) == (100, 800, 0.001, 0.01)
    assert "Row 8 is row 7's learning rates (what 0.001, where 0.01) with k = 100 (800 epochs)" in note

    ends = ", ".join(f"{_at(what, e, 'test_acc')} ({e})" for e in (100, 200, 300, 400))
    assert f"the test accuracy at the phase ends was {ends} and {_at(what, 500, 'test_acc')} (500)" in note
    assert what["test_acc"].idxmax() == 493 and f"highest {_at(what, 493, 'test_acc')} at epoch 493" in note
    assert (
        f"{_at(what, 200, 'test_fg_alpha')} after the first where phase (200) and {_at(what, 400, 'test_fg_alpha')} "
        f"after the second (400)" in note
    )
    assert (what.loc[401:500, "phase"] == "what").all() and what.loc[501, "phase"] == "where"
    assert (
        f"fell to {_at(what, 500, 'train_loss')} and the test loss rose from {_at(what, 400, 'test_loss')} (epoch 400) "
        f"to {_at(what, 500, 'test_loss')} (500)" in note
    )
    assert what.loc[501, "test_alpha_ge_half"] == 1.0 and _where_phase_starts(what)[2] == 501  # the third
    assert (
        f"(501) the running train loss rose to {_at(what, 501, 'train_loss')}, every test mosaic got a largest alpha "
        f">= 0.5 ({_at(what, 501, 'test_alpha_ge_half')}), the mean foreground alpha fell from "
        f"{_at(what, 500, 'test_fg_alpha')} to {_at(what, 501, 'test_fg_alpha')} and the test accuracy from "
        f"{_at(what, 500, 'test_acc')} to {_at(what, 501, 'test_acc')}" in note
    )
    stuck = what.loc[512:, "test_fg_alpha"]
    assert stuck.nunique() == 1 and what.loc[511, "test_fg_alpha"] != stuck.iloc[0]
    assert f"from epoch 512 to the end the mean foreground alpha stays {stuck.iloc[0]:.3f}" in note
    assert (what.loc[601:700, "phase"] == "what").all() and (what.loc[701:800, "phase"] == "where").all()
    assert (
        f"took the running train loss from {_at(what, 600, 'train_loss')} to {_at(what, 700, 'train_loss')} without "
        f"moving the test accuracy ({_at(what, 600, 'test_acc')} at epoch 600, {_at(what, 700, 'test_acc')} at 700)"
        in note
    )
    after = what.loc[700:800, ["test_acc", "test_loss", "test_fg_alpha", "test_alpha_ge_half"]]
    assert len(after.drop_duplicates()) == 1
    assert f"(test loss {_at(what, 700, 'test_loss')} at epochs 700 and 800)" in note
    results, _ = published_summary(ROOT)
    flagged = results.set_index("experiment")
    row7_flags = flagged.loc[["table1/7"], [f"{flag.prefix}_at" for flag in DATED_FLAGS]]
    row7_epochs = _row_epochs(ROW7, "table1/7")
    assert len(_where_phase_starts(row7_epochs)) == 6 and row7_epochs.index.max() == 600
    assert row7_flags.isna().all(axis=None) and get_space("table1").experiments[6].values["k"] == 50
    assert "Row 7, what phases of 50 epochs, did not break in its six where phases" in note

    assert (where.loc[1:100, "phase"] == "where").all()
    _assert_one_phase_late(note, what, where, 8, range(100, 501, 100), "0.007", (100, 500))
    assert where["test_acc"].idxmax() == 597 and f"highest {_at(where, 597, 'test_acc')} at epoch 597" in note
    assert (
        f"{_at(where, 300, 'test_fg_alpha')} after its second where phase (300) and {_at(where, 500, 'test_fg_alpha')} "
        f"after its third (500)" in note
    )
    assert where.loc[600, "phase"] == "what" and _where_phase_starts(where)[3] == 601  # the fourth
    assert (
        f"(601, the third after a what phase, as Table 1's 501) the running train loss rose from "
        f"{_at(where, 600, 'train_loss')} to {_at(where, 601, 'train_loss')}, the mean foreground alpha fell from "
        f"{_at(where, 600, 'test_fg_alpha')} to {_at(where, 601, 'test_fg_alpha')} and the test accuracy from "
        f"{_at(where, 600, 'test_acc')} to {_at(where, 601, 'test_acc')}" in note
    )
    assert where.loc[601:, "test_alpha_ge_half"].min() >= 0.999
    stuck = where.loc[609:, "test_fg_alpha"]
    assert stuck.nunique() == 1 and where.loc[608, "test_fg_alpha"] != stuck.iloc[0]
    assert f"from epoch 609 to the end the mean foreground alpha stays {stuck.iloc[0]:.3f}" in note
    below = where["test_fg_alpha"] <= 2 / 9
    assert below.loc[606:].all() and not below.loc[605]
    assert [flagged.loc[f"table{t}/8", "saturated_at"] for t in (2, 1)] == [606, 501]  # the report's dates
    assert "the report dates the saturation from epoch 606" in note and "Table 1 row 8's from 501" in note
    assert where.loc[800, "phase"] == "what" and last["phase"] == "where"  # "Its last phase trains the what network"
    assert f"where first − what first = {where.loc[800, 'test_acc'] - last['test_acc']:+.3f}, both broken" in note
    peaks = [rows["test_acc"].max() for rows in (what, where)]
    assert f"after highest test accuracies of {peaks[0]:.3f} and {peaks[1]:.3f} (published 0.83)" in note


def _seeds_named(sentence: str) -> dict[str, set[int]]:
    """The seeds a `seeds_to_run` sentence names, read back: experiment label -> seeds still to run."""

    def numbers(spans: str) -> set[int]:
        out = set()
        for span in re.split(r", | and ", spans):
            first, _, last = span.partition("-")
            out |= set(range(int(first), int(last or first) + 1))
        return out

    named: dict[str, set[int]] = {}
    for table, phrases in re.findall(r"Table (\d): (.*?)(?:;|\.$)", sentence):
        for rows, seeds in re.findall(r"rows? ([\d ,and-]+?) seeds? ([\d ,and-]+?)(?:, (?=row)|$)", phrases):
            for row in numbers(rows):
                named[f"table{table}/{row}"] = numbers(seeds)
    return named


def test_seeds_to_run_names_each_rows_missing_seeds_and_groups_rows_alike():
    rows = [("table1/1", s, True) for s in range(5)]  # complete
    rows += [("table1/2", 0, True), ("table1/2", 2, True), ("table1/2", 1, False)]  # seed 1 did not finish
    rows += [("table1/3", 0, True), ("table1/3", 2, True)]
    rows += [(f"table2/{n}", s, True) for n in range(1, 9) for s in range(5) if (n, s) != (5, 4)]
    rows += [(f"table1/{n}", s, True) for n in range(4, 9) for s in range(5) if n != 6]
    results = pd.DataFrame(rows, columns=["experiment", "seed", "finished"])
    sentence = seeds_to_run(results)
    assert sentence == (
        "Still to run for 5 seeds a row (seeds 0-4, the `seeds` space), 12 trials: Table 1: rows 2-3 seeds 1 and 3-4, "
        "row 6 seeds 0-4; Table 2: row 5 seed 4."
    )
    assert _seeds_named(sentence) == {
        "table1/2": {1, 3, 4},
        "table1/3": {1, 3, 4},
        "table1/6": set(range(5)),
        "table2/5": {4},
    }
    rows += [("table1/2", s, True) for s in (1, 3, 4)] + [("table1/3", s, True) for s in (1, 3, 4)]
    rows += [("table1/6", s, True) for s in range(5)] + [("table2/5", 4, True)]
    assert seeds_to_run(pd.DataFrame(rows, columns=results.columns)) == "Every row has its 5 seeds (seeds 0-4)."
    nothing = seeds_to_run(pd.DataFrame())
    assert nothing.startswith("Still to run for 5 seeds a row (seeds 0-4, the `seeds` space), 80 trials: ")
    assert nothing.endswith("Table 1: rows 1-8 seeds 0-4; Table 2: rows 1-8 seeds 0-4.")


def test_readme_names_the_seeds_still_to_run():
    """The Results section's list of seeds still to run, read back, is what the committed trials leave out."""
    trials = _all_trials()
    labels = [e.label for t in TABLES for e in get_space(t).experiments]
    published = trials.groupby("experiment")["seed"].apply(set)
    expected = {label: set(range(5)) - published.get(label, set()) for label in labels}
    expected = {label: seeds for label, seeds in expected.items() if seeds}
    section = " ".join(current_section((ROOT / "README.md").read_text()).split())
    sentence = re.search(r"Still to run for 5 seeds a row .*?\.(?= |$)", section).group(0)
    assert _seeds_named(sentence) == expected
    assert f", {sum(map(len, expected.values()))} trials: " in sentence


def test_readme_names_the_rows_not_run_yet():
    _, summary = published_summary(ROOT)
    ran = set(summary.loc[summary["seeds"] > 0, "experiment"])
    missing = {t: [e.label.split("/")[1] for e in get_space(t).experiments if e.label not in ran] for t in TABLES}
    parts = [
        f"all of Table {t[-1]}" if len(m) == 8 else f"Table {t[-1]} row{'s' if len(m) > 1 else ''} {', '.join(m)}"
        for t, m in missing.items()
        if m
    ]
    readme = _one_line(ROOT / "README.md")
    assert (f"Not run yet: {'; '.join(parts)}." if parts else "Every row has run.") in readme
