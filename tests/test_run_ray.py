"""`mosaic-sweep run` through real Ray: a two-node local cluster (head + worker, 1 CPU each) for the session."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import ray
import ray.cloudpickle
import torch
from conftest import TINY, TINY_SET, cli_process, exit_code, real_data_dir

from orchestrator.cli import main
from orchestrator.results import EPOCH_SCHEMA, TRIAL_SCHEMA
from search_spaces import get_space
from trainables import StageWiseTrainer, TrainConfig, load_cifar
from trainables.tune_trial import train_mosaic

pytestmark = pytest.mark.ray
# Trial wrappers defined here must travel to Ray workers by value: this test module is not importable there.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
TIMING = {"mosaics_per_s", "epoch_s"}


def run_args(data_dir, results, *extra, verify=False):
    return ["run", *extra, "--data-dir", str(data_dir), "--results-dir", str(results), "--progress-every", "30"] + (
        [] if verify else ["--no-verify"]
    )


def read_epochs(run_dir):
    return pd.read_parquet(run_dir / "epochs")


def wait_for_rows(run_dir, n: int, driver, trials: int = 1, timeout_s: float = 300) -> None:
    """Until the driver subprocess has written `n` epoch rows, of at least `trials` trials (it must still be
    running): tiny epochs can fill `n` rows from one trial before another has started."""
    deadline, rows, started = time.time() + timeout_s, 0, 0
    while time.time() < deadline and (rows < n or started < trials):
        time.sleep(0.5)
        try:
            epochs = read_epochs(run_dir)
            rows, started = len(epochs), epochs.trial_id.nunique()
        except (OSError, ValueError):
            rows, started = 0, 0
        assert driver.poll() is None, driver_output(driver)
    if rows < n or started < trials:
        os.killpg(driver.pid, signal.SIGKILL)
        raise AssertionError(f"{rows} rows of {started} trials after {timeout_s:g} s:\n{driver_output(driver)}")


def driver_output(driver) -> str:
    """The last lines the (ended or killed) driver printed, to say why a test's driver did not get where expected."""
    out, err = driver.communicate()
    return "".join(part.decode()[-3000:] for part in (out, err) if part)


def assert_complete(run_dir, expected_epochs: dict):
    """One row per trial and epoch 1..E, no gaps, no duplicates; every trial TERMINATED."""
    epochs = read_epochs(run_dir)
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert sorted(trials.experiment) == sorted(expected_epochs)
    assert (trials.status == "TERMINATED").all(), trials[["experiment", "status", "error"]]
    for _, rows in epochs.groupby("trial_id"):
        label = rows.experiment.iloc[0]
        assert sorted(rows.epoch) == list(range(1, expected_epochs[label] + 1)), label
    assert len(epochs) == sum(expected_epochs.values())
    return epochs, trials


GOLDEN = Path(__file__).parent / "data" / "golden-table1-1-smoke"
ADDED_SINCE = {"pack_id", "precision"}  # columns added after the golden files were written (issue 9)
# Columns that name the run (the golden run was `table1`, this one `tables`), the attempt or the machine, or time
# it: everything else is a result.
NOT_RESULTS = {"run", "space", "trial_id", "time_total_s", "pid", "node_id", "node_ip", "hostname", "wall_s", *TIMING}


@pytest.mark.realdata
def test_smoke_run_files_equal_those_written_before_the_module_refactor(ray_cluster, tmp_path, capsys):
    """tests/data/golden-table1-1-smoke holds table1/1 of `run table1 --scale smoke` on the official CIFAR-10 copy,
    written by the code as it was before issue 8 moved names between modules: same schema, same values (to within a
    float32 rounding step)."""
    if real_data_dir() is None:
        pytest.skip("official CIFAR-10 copy not present")
    argv = run_args(real_data_dir(), tmp_path, "tables", "--scale", "smoke", "--only", "table1/1", verify=True)
    assert main(argv) == 0, capsys.readouterr()
    run_dir = tmp_path / "tables-smoke"
    golden_epochs = pq.read_table(next((GOLDEN / "epochs").glob("*.parquet")))
    golden_trials = pq.read_table(GOLDEN / "trials.parquet")
    for ours, golden in [
        (pq.read_table(run_dir / "epochs").schema, golden_epochs.schema),
        (pq.read_schema(run_dir / "trials.parquet"), golden_trials.schema),
    ]:
        # the same columns, in the same order, of the same types; plus the columns added since, by name
        assert [f for f in ours if f.name not in ADDED_SINCE] == list(golden.remove_metadata())
        assert {f.name for f in ours} - set(golden.names) == ADDED_SINCE

    for name, golden, ours in [
        ("epochs", golden_epochs.to_pandas(), read_epochs(run_dir)),
        ("trials", golden_trials.to_pandas(), pd.read_parquet(run_dir / "trials.parquet")),
    ]:
        ours = ours[ours.experiment == "table1/1"].sort_values("epoch" if name == "epochs" else "experiment")
        columns = [c for c in golden.columns if c not in NOT_RESULTS]
        # rtol: float32 sums may differ in their last bit between CPUs (a Sapphire Rapids machine, 2026-11-28: test
        # loss 1.1077607727 against the golden 1.1077606964, one float32 step); any change to training moves far more
        pd.testing.assert_frame_equal(
            ours[columns].reset_index(drop=True), golden[columns].reset_index(drop=True), check_exact=False, rtol=1e-6
        )


def test_tables_smoke_end_to_end(tables_smoke_run):
    run_dir, code, out = tables_smoke_run
    assert code == 0, out
    assert "Ray dashboard" in out and "16/16 trials finished" in out

    space = get_space("tables")
    expected = {t["experiment"]: t["epochs"] for t in space.trials("smoke")}
    epochs, trials = assert_complete(run_dir, expected)
    assert len(epochs) == space.total_epochs("smoke") == 144

    # schema: exactly the documented columns and types, in every file; no object columns for pandas
    for path in (run_dir / "epochs").iterdir():
        assert pq.read_schema(path).remove_metadata() == EPOCH_SCHEMA
    assert pq.read_schema(run_dir / "trials.parquet").remove_metadata() == TRIAL_SCHEMA
    assert not any(str(t) == "object" for t in epochs.dtypes)

    # rows describe themselves: config columns equal the space's rows (with the run's --set); phases follow each
    # row's schedule
    for _, trial in trials.iterrows():
        row = {**next(t for t in space.trials("smoke") if t["experiment"] == trial.experiment), **TINY}
        for key in ("order", "k", "epochs", "what_lr", "where_lr", "n_train", "n_test", "batch_size"):
            assert trial[key] == row[key], (trial.experiment, key)
        mine = epochs[epochs.trial_id == trial.trial_id].sort_values("epoch")
        first, second = ("what", "where") if row["order"] == "what_first" else ("where", "what")
        assert list(mine.phase) == [first if (e - 1) % (2 * row["k"]) < row["k"] else second for e in mine.epoch]
        assert trial.outcome == "completed" and trial.epochs_completed == row["epochs"]
        assert trial.test_acc == mine.test_acc.iloc[-1]
    assert trials.ref_test_acc.notna().sum() == 8  # Table 1 has published numbers, Table 2 none
    assert set(trials.device) == {"cpu"} and trials.node_id.notna().all() and trials.hostname.notna().all()
    assert trials.node_id.nunique() == 2  # both nodes of the session cluster ran trials


def test_no_auth_token_is_written_into_results(tables_smoke_run):
    run_dir, code, out = tables_smoke_run
    token_file = os.path.expanduser("~/.ray/auth_token")
    tokens = [open(token_file).read().strip()] if os.path.exists(token_file) else []
    tokens += [os.environ["RAY_AUTH_TOKEN"]] if os.environ.get("RAY_AUTH_TOKEN") else []
    if not tokens:
        pytest.skip("this Ray runs without a token")
    assert all(t not in out for t in tokens)
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert all(t.encode() not in data for t in tokens), path


def flaky(marker_path, fail_at_epoch, damage=None):
    """train_mosaic, but the first attempt raises right after reporting `fail_at_epoch` (after calling `damage()`,
    which may spoil what the attempt left behind)."""

    def trial(config, images, **options):
        from ray import tune

        real_report = tune.report
        attempt = 2 if os.path.exists(marker_path) else 1

        def report(metrics, checkpoint=None):
            with open(f"{marker_path}.log", "a") as log:  # which attempt reported which epoch
                log.write(f"{attempt} {metrics['epoch']}\n")
            real_report(metrics, checkpoint=checkpoint)
            if metrics["epoch"] == fail_at_epoch and not os.path.exists(marker_path):
                if damage is not None:
                    damage()
                open(marker_path, "w").close()
                raise RuntimeError("injected fault")

        tune.report = report
        try:
            train_mosaic(config, images, **options)
        finally:
            tune.report = real_report

    return trial


def truncate_newest_state(run_dir):
    """Cut the newest checkpoint's state file short, as a full disk or a node lost mid-upload can leave it."""

    def damage():
        state = max(Path(run_dir).glob("tune/*/checkpoint_*")) / "state.pt"
        state.write_bytes(state.read_bytes()[:1000])

    return damage


def test_a_retry_falls_back_to_the_previous_checkpoint_when_the_last_is_corrupt(
    ray_cluster, synthetic_cifar_dir, tmp_path
):
    from orchestrator.cli import build_parser
    from orchestrator.run_cmd import run_space

    marker = tmp_path / "corrupted-once"
    argv = ["table1", "--scale", "smoke", "--only", "table1/8", "--checkpoint-every", "3", *TINY_SET]
    args = build_parser().parse_args(run_args(synthetic_cifar_dir, tmp_path / "out", *argv))
    run_dir = tmp_path / "out" / "table1-smoke"
    assert run_space(args, trainable_fn=flaky(str(marker), 6, damage=truncate_newest_state(run_dir))) == 0
    assert marker.exists()
    assert_complete(run_dir, {"table1/8": 16})
    reported = [tuple(map(int, line.split())) for line in open(f"{marker}.log")]
    # the epoch-6 checkpoint is unreadable: the retry went on from the epoch-3 one, not from 1 nor failing again
    assert [e for a, e in reported if a == 2] == list(range(4, 17))


def test_failed_trial_is_retried_from_its_checkpoint_and_matches_an_uninterrupted_run(
    ray_cluster, synthetic_cifar_dir, tmp_path
):
    from orchestrator.cli import build_parser
    from orchestrator.run_cmd import run_space

    marker = tmp_path / "failed-once"
    args = build_parser().parse_args(
        run_args(
            synthetic_cifar_dir,
            tmp_path / "out",
            "table1",
            "--scale",
            "smoke",
            "--only",
            "table1/8",
            "--checkpoint-every",
            "3",
            *TINY_SET,
        )
    )
    assert run_space(args, trainable_fn=flaky(str(marker), fail_at_epoch=7)) == 0
    assert marker.exists()  # the fault happened
    epochs, trials = assert_complete(tmp_path / "out" / "table1-smoke", {"table1/8": 16})
    reported = [tuple(map(int, line.split())) for line in open(f"{marker}.log")]
    # the first attempt reported 1..7 and died; the retry started from the epoch-6 checkpoint, not from epoch 1
    assert [e for a, e in reported if a == 1] == list(range(1, 8))
    assert [e for a, e in reported if a == 2] == list(range(7, 17))

    # epochs 7..: re-run from the epoch-6 checkpoint; the result equals the engine run straight through
    row = {**get_space("table1").subset(["table1/8"]).trials("smoke")[0], **TINY}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trial (1 CPU): same kernels, same numbers
    try:
        trainer = StageWiseTrainer(TrainConfig.from_flat(row), load_cifar(synthetic_cifar_dir, verify=False), "cpu")
        direct = list(trainer.epochs())
    finally:
        torch.set_num_threads(threads)
    ours = epochs.sort_values("epoch")
    for want, (_, got) in zip(direct, ours.iterrows()):
        for key, value in want.items():
            if key not in TIMING:
                assert got[key] == value, (want["epoch"], key)


def test_checkpoint_retention_counts_the_phase_ends_of_the_trial_that_has_most():
    from orchestrator.tuner import checkpoint_config
    from trainables.tune_trial import KEEP_SCORE, PACK_KEY

    table1 = get_space("table1")
    rows = table1.trials("paper")
    assert checkpoint_config(table1, rows, False).num_to_keep == 2
    kept = checkpoint_config(table1, rows, True)
    assert (kept.num_to_keep, kept.checkpoint_score_attribute) == (36 + 2, KEEP_SCORE)  # row 1: k=5 over 180 epochs
    pack = {PACK_KEY: [rows[7], rows[5]]}  # rows 8 (k=100, 800 epochs) and 6 (k=50, 500): 13 distinct phase ends
    assert checkpoint_config(table1, [pack], True).num_to_keep == 13 + 2
    search = get_space("search")  # k sampled: the phase ends are not known before a trial starts, so all stay
    assert checkpoint_config(search, search.trials("paper"), True).num_to_keep is None
    rates = replace(search, searcher=replace(search.searcher, sample={"what_lr": ("loguniform", [1e-4, 0.1])}))
    assert checkpoint_config(rates, rates.trials("paper"), True).num_to_keep == 200 // 5 + 2  # k=5 over 200 epochs


# Every epoch checkpointed; Ray keeps each trial's phase ends and its newest others, as many as the run's one count
# leaves: the most phase ends of a Ray trial (the pack of k=3 and k=2, whose configurations share each checkpoint and
# the union of their phase ends: 8) plus two. The k=6 trial alone has 2 phase ends, so it keeps 8 of its others.
KEPT_STATES = {
    "keep/k3": [2, 3, 4, 6, 7, 8, 9, 10, 11, 12],
    "keep/k2": [2, 3, 4, 6, 7, 8, 9, 10, 11, 12],
    "keep/k6": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
}


def test_kept_phase_ends_stay_beside_the_newest_checkpoints_and_go_on_outside_ray(
    ray_cluster, synthetic_cifar_dir, tmp_path
):
    from orchestrator.api import run

    rows = [{"label": f"keep/k{k}", "order": "what_first", "k": k, "epochs": 12} for k in (3, 2, 6)]
    handle = run(
        rows,
        scale="cpu",
        overrides=TINY,  # small, and without smoke's shorter schedules
        data_dir=str(synthetic_cifar_dir),
        no_verify=True,
        storage=str(tmp_path),
        checkpoint_every=1,
        keep_phase_ends=True,
        pack=2,  # packs evenly: k=3 and k=2 together, k=6 alone (unpacked)
        progress_every=30,
    )
    assert handle.ok
    run_dir = Path(handle.path)
    assert json.loads((run_dir / "run.json").read_text())["options"]["keep_phase_ends"] is True
    epochs = read_epochs(run_dir)
    packed = pd.read_parquet(run_dir / "trials.parquet").set_index("experiment").pack_id.notna().to_dict()
    assert packed == {"keep/k3": True, "keep/k2": True, "keep/k6": False}
    states = {}  # (trial id, epoch) -> state file
    for checkpoint in run_dir.glob("tune/*/checkpoint_*"):
        history = json.loads((checkpoint / "history.json").read_text())
        if isinstance(history, list):  # a trial alone: tune/<trial folder ending in its trial id>/checkpoint_*/state.pt
            trial_id = checkpoint.parent.name.rsplit("-", 1)[-1]
            history, files = {trial_id: history}, {trial_id: checkpoint / "state.pt"}
        else:  # a pack: {trial id: history}, members/<trial id>.pt
            files = {trial_id: checkpoint / "members" / f"{trial_id}.pt" for trial_id in history}
        states.update({(t, done[-1]["epoch"]): files[t] for t, done in history.items()})
    label = dict(zip(epochs.trial_id, epochs.experiment))
    assert {label[t] for t, _ in states} == set(KEPT_STATES)
    for trial_id, experiment in label.items():
        assert sorted(e for t, e in states if t == trial_id) == KEPT_STATES[experiment], experiment

    # each state at epoch 6 (a phase end of all three) goes on in a plain StageWiseTrainer to the run's own last epochs
    images = load_cifar(synthetic_cifar_dir, verify=False)
    for trial_id, experiment in label.items():
        state = states[trial_id, 6]
        config = TrainConfig.from_flat(torch.load(state, weights_only=True)["config"])
        assert (config.schedule.k, config.schedule.epochs) == (int(experiment[-1]), 12)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as the trial (1 CPU): same kernels, same numbers
        try:
            trainer = StageWiseTrainer(config, images, "cpu")
            trainer.load(state)
            after = list(trainer.epochs())
        finally:
            torch.set_num_threads(threads)
        ours = epochs[epochs.trial_id == trial_id].set_index("epoch")
        assert [r["epoch"] for r in after] == list(range(7, 13))
        assert [r["test_acc"] for r in after] == pytest.approx(ours.loc[7:12, "test_acc"].tolist(), rel=1e-9)
        # losses to a float32 rounding step: a pack's fused forward sums in another order than a trainer alone
        for column in ("train_loss", "test_loss"):
            assert [r[column] for r in after] == pytest.approx(ours.loc[7:12, column].tolist(), rel=1e-6), column


def diverging(config, images, **options):
    config = {**config, "trial": {**config["trial"], "what_lr": 1e12, "where_lr": 1e12}}
    train_mosaic(config, images, **options)


def test_diverged_trial_is_reported_and_exits_non_zero(ray_cluster, synthetic_cifar_dir, tmp_path, capsys):
    from orchestrator.cli import build_parser
    from orchestrator.errors import RunFailed
    from orchestrator.run_cmd import run_space

    args = build_parser().parse_args(
        run_args(synthetic_cifar_dir, tmp_path, "table1", "--scale", "smoke", "--only", "table1/1", *TINY_SET)
    )
    with pytest.raises(RunFailed) as err:
        run_space(args, trainable_fn=diverging)
    assert err.value.code == 1 and "diverged" in str(err.value) and "\n" not in str(err.value)
    trials = pd.read_parquet(tmp_path / "table1-smoke" / "trials.parquet")
    assert list(trials.outcome) == ["diverged"]
    epochs = read_epochs(tmp_path / "table1-smoke")
    assert epochs.outcome.iloc[-1] == "diverged" and len(epochs) >= 1  # what was reported is kept


# Runs cut off mid-way: tiny epochs, enough of them (both rows' k divide 40) that the cut comes long before the end.
LONG_TINY = [*TINY_SET, "--set", "epochs=40"]


def test_driver_killed_mid_run_then_resumed_gives_a_complete_dataset(ray_cluster, synthetic_cifar_dir, tmp_path):
    results = tmp_path / "out"
    argv = run_args(
        synthetic_cifar_dir,
        results,
        "table1",
        "--scale",
        "smoke",
        "--only",
        "table1/1,table1/8",
        "--checkpoint-every",
        "2",
        *LONG_TINY,
    )
    # RAY_ADDRESS, not --address: the driver must join this cluster through the environment alone. Tune saves its
    # experiment state after every step (not every 10 s), so the killed driver's state knows its last checkpoints.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_ADDRESS": ray_cluster.address, "TUNE_GLOBAL_CHECKPOINT_S": "0"}
    run_dir = results / "table1-smoke"
    with cli_process(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as driver:
        wait_for_rows(run_dir, 6, driver, trials=2)
        os.killpg(driver.pid, signal.SIGKILL)  # leaving the block reaps it (cli_process waits)

    # what the killed driver left is valid Parquet, and partial
    partial = read_epochs(run_dir)
    assert 6 <= len(partial) < 80
    assert not partial.duplicated(["trial_id", "epoch"]).any()
    assert set(partial.node_id) <= {n["NodeID"] for n in ray.nodes()}  # it ran on this cluster

    # resumed by name alone: the scale (and seeds, --only) come from the run's run.json
    assert main(run_args(synthetic_cifar_dir, results, "table1", "--resume", "--name", "table1-smoke")) == 0
    epochs, trials = assert_complete(run_dir, {"table1/1": 40, "table1/8": 40})
    # the rows written before the kill survived unchanged (exact resume re-reports the same numbers)
    merged = partial.merge(epochs, on=["trial_id", "epoch"], suffixes=("_before", ""))
    assert len(merged) == len(partial)
    assert (merged.test_acc_before == merged.test_acc).all() and (merged.train_loss_before == merged.train_loss).all()
    # per trial: the killed attempt's rows (its worker's pid) up to the checkpoint the resume started from, then
    # only the resumed attempt's; rows up to that checkpoint were not written again
    restarts = {}
    for trial_id, rows in epochs.sort_values("epoch").groupby("trial_id"):
        killed = set(partial[partial.trial_id == trial_id].pid)
        assert len(killed) == 1
        original = (rows.pid.isin(killed)).tolist()
        restart = original.index(False) if False in original else len(original)
        assert all(original[:restart]) and not any(original[restart:]), original
        restarts[trial_id] = restart
    last_written = partial.groupby("trial_id").epoch.max()
    assert all(e % 2 == 0 and e <= last_written.get(t, 0) for t, e in restarts.items()), restarts
    assert max(restarts.values()) >= 2, restarts  # the resume started from a checkpoint, not from epoch 1
    # a trial's wall_s counts both sessions (Tune's time_total_s goes on from the checkpoint), not the last alone
    last = epochs.sort_values("epoch").groupby("trial_id").time_total_s.last()
    assert trials.set_index("trial_id").wall_s.to_dict() == last.to_dict()


def test_ctrl_c_stops_gracefully_with_exit_130_and_a_resumable_run(
    ray_cluster, synthetic_cifar_dir, tmp_path, monkeypatch
):
    results = tmp_path / "out"
    # a packed run (two configurations in one Ray trial): --resume continues packs as well
    # started from the data's parent folder with a relative --data-dir; resumed below from elsewhere without one
    data = Path(synthetic_cifar_dir.name)
    argv = run_args(data, results, "table1", "--scale", "smoke", "--only", "table1/1,table1/8")
    argv += ["--pack", "2", "--checkpoint-every", "2", *LONG_TINY]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_ADDRESS": ray_cluster.address}
    run_dir = results / "table1-smoke"
    with cli_process(
        argv, env=env, cwd=synthetic_cifar_dir.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as driver:
        wait_for_rows(run_dir, 3, driver)
        driver.send_signal(signal.SIGINT)  # what Ctrl+C sends
        _, err = driver.communicate(timeout=300)
    assert driver.returncode == 130, err.decode()[-2000:]
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("mosaic-sweep: error: interrupted") and "--resume --name table1-smoke" in lines[-1]
    # a joined cluster's workers do not print into the driver's output (a killed one's late "SystemExit: 1" once
    # printed after the line above)
    assert not [line for line in lines if "pid=" in line], lines[-5:]
    partial = read_epochs(run_dir)
    assert len(partial) < 80 and partial.pack_id.nunique() == 1
    assert (pd.read_parquet(run_dir / "trials.parquet").status == "INTERRUPTED").any()
    # the line's own advice works as it is, from another folder: the run's data folder (recorded absolute) and its
    # --no-verify (the synthetic copy fails the md5 check) come from run.json, not from the default folder
    monkeypatch.setenv("MOSAIC_SWEEP_DATA", str(tmp_path / "no-cifar-here"))
    assert Path.cwd() != synthetic_cifar_dir.parent
    assert main(["run", "table1", "--resume", "--name", "table1-smoke", "--results-dir", str(results)]) == 0
    epochs, trials = assert_complete(run_dir, {"table1/1": 40, "table1/8": 40})
    assert set(epochs.pack_id) == set(partial.pack_id)  # the same pack went on


def test_a_time_limit_stops_like_ctrl_c_and_the_run_goes_on_under_the_next_one(
    ray_cluster, synthetic_cifar_dir, tmp_path, capsys
):
    results, run_dir = tmp_path / "out", tmp_path / "out" / "table1-smoke"
    long = ["--only", "table1/1", "--set", "epochs=400", "--checkpoint-every", "2"]  # far more than fits
    assert main(run_args(synthetic_cifar_dir, results, "table1", "--scale", "smoke", *long, "--time-limit", "15")) == 75
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("mosaic-sweep: error: time limit of 15 s reached; interrupted")
    assert "--resume --name table1-smoke" in last
    first = read_epochs(run_dir)
    assert 0 < len(first) < 400 and (pd.read_parquet(run_dir / "trials.parquet").status == "INTERRUPTED").all()

    # the next session is on another machine: the run folder was copied to another path, where it goes on
    results.rename(tmp_path / "moved")
    results, run_dir = tmp_path / "moved", tmp_path / "moved" / "table1-smoke"
    resume = ["table1", "--resume", "--name", "table1-smoke", "--time-limit", "15"]
    assert main(run_args(synthetic_cifar_dir, results, *resume)) == 75  # the next session's limit
    assert not (tmp_path / "out").exists()  # nothing written where the run was started
    second = read_epochs(run_dir)
    assert len(second) > len(first) and second.epoch.tolist() == list(range(1, len(second) + 1))
    # the first session's rows stay up to the checkpoint the second started from (an even epoch: --checkpoint-every
    # 2; not always the last one written, as the time limit may stop Tune before it registers a checkpoint just
    # reported), and every row after it is the second session's
    new = ~second.pid.isin(set(first.pid))
    restart = int(second.epoch[new].min())
    assert restart > 1 and (restart - 1) % 2 == 0 and restart - 1 <= first.epoch.max(), restart
    assert new[second.epoch >= restart].all() and not new[second.epoch < restart].any()
    kept = first[first.epoch < restart]
    assert second.set_index("epoch").loc[kept.epoch, "pid"].tolist() == kept.pid.tolist()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "tablez"], "unknown space 'tablez'; valid spaces: table1"),
        (["run", "table1", "--seeds", "0"], "--seeds: must be a positive integer"),
        (["run", "table1", "--gpus-per-trial", "-1"], "--gpus-per-trial: must be a non-negative number"),
        (["run", "table1", "--max-failures", "x"], "--max-failures: not an integer"),
        (["run", "table1", "--scale", "huge"], "argument --scale: invalid choice"),
        (["run", "table1", "--only", "table9/*"], "matches no experiment"),
        (["run", "table1", "--resume"], "nothing to resume"),
        (["run", "table1", "--set", "lr=0.1"], "--set: unknown config key 'lr'"),
        (["run", "table1", "--set", "seed=3"], "use --seeds N"),
        (["run", "table1", "--set", "what_lr=-1"], "what_lr must be a positive number"),
        (["run", "table1", "--logger", "wandb"], "--logger wandb needs the wandb package"),
        (["run", "no-such-space.yaml"], "no such space file"),
        (["report", "x", "--bogus"], "see mosaic-sweep report --help"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    results = tmp_path / "results"
    code = exit_code(argv + ["--results-dir", str(results), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not results.exists()


def test_missing_data_exits_before_ray_and_writes_nothing(tmp_path, capsys):
    results = tmp_path / "results"
    assert (
        main(["run", "table1", "--scale", "smoke", "--data-dir", str(tmp_path / "none"), "--results-dir", str(results)])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "no CIFAR-10 found" in err and len(err.splitlines()) == 1
    assert not results.exists()


def test_existing_run_is_never_overwritten(synthetic_cifar_dir, tmp_path, capsys):
    run_dir = tmp_path / "table1-smoke"
    run_dir.mkdir()
    (run_dir / "run.json").write_text('{"space": "table1", "scale": "smoke", "seeds": null}')
    assert main(run_args(synthetic_cifar_dir, tmp_path, "table1", "--scale", "smoke")) == 2
    assert "already exists" in capsys.readouterr().err
    assert (
        main(
            run_args(synthetic_cifar_dir, tmp_path, "table2", "--scale", "smoke", "--name", "table1-smoke", "--resume")
        )
        == 2
    )
    assert "resume it with those" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json"]


def test_more_gpus_than_the_cluster_has_is_refused_before_any_trial(ray_cluster, synthetic_cifar_dir, tmp_path, capsys):
    assert main(run_args(synthetic_cifar_dir, tmp_path, "table1", "--scale", "smoke", "--gpus-per-trial", "1")) == 2
    assert "the cluster has 0 GPUs" in capsys.readouterr().err
    assert not (tmp_path / "table1-smoke").exists()


def test_search_space_samples_learning_rates_and_k_under_asha(ray_cluster, synthetic_cifar_dir, tmp_path, capsys):
    assert (
        main(run_args(synthetic_cifar_dir, tmp_path, "search", "--scale", "smoke", *TINY_SET, "--set", "n_val=20")) == 0
    )
    trials = pd.read_parquet(tmp_path / "search-smoke" / "trials.parquet")
    epochs = read_epochs(tmp_path / "search-smoke")
    assert len(trials) == 4 and set(trials.outcome) <= {"completed", "stopped"}
    assert trials.what_lr.nunique() == 4 and trials.where_lr.between(1e-4, 0.1).all()
    assert all(e % (2 * k) == 0 for e, k in zip(trials.epochs, trials.k))
    assert epochs.val_acc.notna().all()  # ASHA ranks on validation mosaics
    for _, rows in epochs.groupby("trial_id"):
        assert sorted(rows.epoch) == list(range(1, len(rows) + 1))
