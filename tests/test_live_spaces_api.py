"""Watching runs (console, TensorBoard, Ray's metrics), spaces from YAML files, the Python API, and connecting."""

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import cli_process, exit_code

from orchestrator import load_run, report, run
from search_spaces import dump_space, get_space, load_space
from search_spaces.files import SpaceFileError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "search_spaces" / "examples"


# -- console and TensorBoard -----------------------------------------------------------------------------------------
@pytest.mark.ray
def test_progress_lines_show_the_best_and_worst_current_test_accuracy(tables_smoke_run):
    _, code, out = tables_smoke_run
    lines = [line for line in out.splitlines() if "| test acc best" in line]
    assert code == 0 and lines, out[-2000:]
    assert " worst " in lines[-1] and "(table" in lines[-1]


def test_a_resumed_runs_progress_counts_the_epochs_of_trials_that_finished_before(capsys):
    """A trial finished before the resume reports nothing again; its epochs still count, and the ETA is from the
    epochs this session trains."""
    from types import SimpleNamespace

    from orchestrator.tune_callbacks import ProgressCallback

    done = SimpleNamespace(trial_id="a", status="TERMINATED", config={"trial": {"experiment": "table1/1"}})
    going = SimpleNamespace(trial_id="b", status="RUNNING", config={"trial": {"experiment": "table1/8"}})
    progress = ProgressCallback(total_epochs=24, every_s=3600, written={"a": 8, "b": 5})
    progress.start -= 60  # a minute into the resumed session
    progress.print_line([done, going])  # nothing trained yet in this session: no ETA to give
    assert "epochs 13/24 | ETA ?" in capsys.readouterr().out
    for epoch in (5, 6, 7):  # b went on from its epoch-4 checkpoint: epoch 5 again, then 6 and 7
        progress.on_trial_result(0, [done, going], going, {"epoch": epoch, "test_acc": 0.5, "outcome": "running"})
    progress.print_line([done, going])
    line = capsys.readouterr().out.strip()
    # 15 of 24 epochs; this session trained 3 (5 again, 6, 7) in 60 s, and 9 are left: 3 minutes
    assert "trials 1/2 done, 1 running" in line and "epochs 15/24 | ETA 3m00s" in line, line


def test_the_eta_weighs_the_epochs_left_by_what_each_phase_took(capsys):
    """A what epoch can cost a ninth of a where epoch: the ETA prices the epochs left phase by phase, says '?' until
    every phase left has been timed, and counts configurations Ray has not created yet and those that ended before
    a resume."""
    from types import SimpleNamespace

    from orchestrator.tune_callbacks import ProgressCallback

    def trial(trial_id, status, order="what_first"):
        row = {"experiment": f"x/{trial_id}", "order": order, "k": 2, "epochs": 8}
        return SimpleNamespace(trial_id=trial_id, status=status, config={"trial": row})

    def eta(progress, trials):
        progress.print_line(trials)
        return capsys.readouterr().out.split("| ETA ")[1].split(" |")[0].strip()

    going, waiting, done = trial("a", "RUNNING"), trial("b", "PENDING", "where_first"), trial("c", "TERMINATED")
    trials = [going, waiting, done]
    progress = ProgressCallback(total_epochs=24, every_s=3600)
    progress.start -= 1100  # the three epochs below took 100 + 100 + 900 s (long: the test's own time is lost)
    for epoch, phase, seconds in ((1, "what", 100.0), (2, "what", 100.0), (3, "where", 900.0)):
        if epoch == 3:
            assert eta(progress, trials) == "?"  # no where epoch timed yet: pricing it as a what epoch is 9x short
        row = {"epoch": epoch, "phase": phase, "epoch_s": seconds, "test_acc": 0.5, "outcome": "running"}
        progress.on_trial_result(0, trials, going, row)
    # a has epochs 4-8 left (k = 2: where, what, what, where, where): 3 where and 2 what, 2,900 s; b all 8, 4 of each,
    # 4,000 s; c ended. 6,900 s at the pace so far (1,100 s of epochs in 1,100 s); counted alike, 13 x 367 = 4,767 s
    assert eta(progress, trials) == "1h55m"
    # 16 epochs more in configurations Ray has not created yet (--max-concurrent): 8,000 s more, what and where alike
    progress.total_epochs = 40
    assert eta(progress, trials) == "4h08m"
    # a resumed run: b ended before the interruption (in a pack still running, say): 4,000 s less
    resumed = ProgressCallback(total_epochs=24, every_s=3600, written={"a": 3, "b": 4}, ended={"b"})
    resumed.phase_s, resumed.start = dict(progress.phase_s), progress.start
    assert eta(resumed, [going, trial("b", "RUNNING", "where_first"), done]) == "48m20s"


def test_a_resumed_run_reads_which_configurations_had_ended_from_its_results(tmp_path):
    """What the resumed progress line leaves out of its ETA: a configuration whose last epoch written ended it."""
    from orchestrator.results import ResultsWriter
    from orchestrator.storage import RunStorage

    writer = ResultsWriter(RunStorage(str(tmp_path / "run")), "run")
    outcomes = {"t1": ["running", "completed"], "t2": ["running", "running"], "t3": ["diverged"]}
    for trial_id, rows in outcomes.items():
        for epoch, outcome in enumerate(rows, 1):
            writer.add_epoch(trial_id, {"epoch": epoch, "outcome": outcome})
    assert ResultsWriter(RunStorage(str(tmp_path / "run")), "run").ended_trials() == {"t1", "t3"}


@pytest.mark.ray
def test_tensorboard_event_files_hold_per_epoch_metrics_not_config(tables_smoke_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, code, _ = tables_smoke_run
    epochs = pd.read_parquet(run_dir / "epochs")
    trial = epochs[epochs.experiment == "table1/8"]
    folder = next((run_dir / "tune").glob(f"*-{trial.trial_id.iloc[0]}"))
    events = EventAccumulator(str(folder)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"ray/tune/test_acc", "ray/tune/train_loss", "ray/tune/lr_what", "ray/tune/phase_what"} <= tags
    assert not {"ray/tune/k", "ray/tune/epochs", "ray/tune/what_lr", "ray/tune/seed"} & tags  # config: hparams
    test_acc = events.Scalars("ray/tune/test_acc")
    assert [e.step for e in test_acc] == sorted(trial.epoch)
    assert [e.value for e in test_acc] == pytest.approx(list(trial.sort_values("epoch").test_acc), abs=1e-6)
    phases = [e.value for e in events.Scalars("ray/tune/phase_what")]
    assert phases == [float(p == "what") for p in trial.sort_values("epoch").phase]


@pytest.mark.ray
def test_trial_gauges_reach_the_metrics_endpoint(tables_smoke_run, ray_cluster):
    """Every node's metrics agent serves Prometheus text; the trials' gauges are there with their tags."""
    import ray

    run_dir, code, _ = tables_smoke_run
    ports = {(n["NodeManagerAddress"], n["MetricsExportPort"]) for n in ray.nodes() if n.get("Alive")}
    deadline, found = time.time() + 60, ""
    while time.time() < deadline and "ray_mosaic_sweep_test_accuracy{" not in found:
        found = "".join(
            urllib.request.urlopen(f"http://{ip}:{port}/metrics", timeout=10).read().decode() for ip, port in ports
        )
        time.sleep(2)
    assert "ray_mosaic_sweep_test_accuracy{" in found
    trial_ids = set(pd.read_parquet(run_dir / "epochs").trial_id)
    lines = [line for line in found.splitlines() if line.startswith("ray_mosaic_sweep_epoch{")]
    tagged = [line for line in lines if 'run="tables-smoke"' in line and 'experiment="table' in line]
    assert tagged and all(re.search(r'trial_id="([^"]+)"', line).group(1) in trial_ids for line in tagged), lines[:5]
    assert "ray_mosaic_sweep_mosaics_per_second{" in found


# -- spaces from files -------------------------------------------------------------------------------------------------
def test_every_built_in_space_round_trips_through_its_yaml(tmp_path):
    for name in ("tables", "alternation", "search"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(dump_space(get_space(name)))
        back = load_space(path)
        assert back.trials("smoke") == get_space(name).trials("smoke")
        assert [e.reference for e in back.experiments] == [e.reference for e in get_space(name).experiments]
        assert back.searcher == get_space(name).searcher


def test_show_prints_a_space_file_with_the_scale_applied(tmp_path, capsys):
    assert exit_code(["show", "table1", "--scale", "smoke"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["name"] == "table1" and len(doc["rows"]) == 8
    assert doc["rows"][0] == {**doc["rows"][0], "k": 1, "epochs": 8, "n_train": 400, "batch_size": 100}
    assert doc["rows"][2]["reference"] == {"train_acc": 0.97, "test_acc": 0.43, "source": "write-up Table 1"}


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_space_files_load(example):
    space = load_space(example)
    assert space.trials("smoke") and space.trials("paper")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nrows:\n  - k: 5\n    epochs: 180\n    lr: 0.1\n", "line 5: unknown key 'lr' in row 1"),
        (
            "name: x\nrows:\n  - k: 5\n    epochs: 15\n",
            "line 3: row x/1: total epochs (15) must be a positive multiple",
        ),
        ("name: x\nrows:\n  - what_lr: -1\n", "line 3: row x/1: what_lr must be a positive number"),
        ("name: x\nrowz: []\n", "line 2: unknown key 'rowz' in top level"),
        ("name: x\nrows: [{k: 5, epochs: 180}, {k: 5, epochs: 180, label: x/1}]\n", "row labels must be distinct"),
        ("name: a b\nrows: [{}]\n", "line 1: name must be a word"),
        ("name: x\nrows: [{k: 5}\n", "not valid YAML"),
        (
            "name: x\nrows: [{n_val: 100}]\nsearch:\n  sample:\n    what_lr: {lognormal: [0.1, 1]}\n",
            "line 5: search.sample.what_lr: one of loguniform, uniform, choice, randint",
        ),
        ("name: x\nrows: [{k: 5, epochs: 10}]\nsearch:\n  sample:\n    k: {choice: [3]}\n", "no k of the choice"),
    ],
)
def test_bad_space_files_fail_in_one_line_naming_the_line(tmp_path, text, message, capsys):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(SpaceFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_space(path)
    assert exit_code(["run", str(path), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert message.split(":")[-1].strip()[:20] in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.ray
def test_a_yaml_space_runs_end_to_end_with_set_overrides(ray_cluster, synthetic_cifar_dir, tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nseeds: 1\nrows:\n"
        "  - {label: mine/fast, order: where_first, k: 1, epochs: 2, reference: {train_acc: 0.5, test_acc: 0.4}}\n"
        "  - {label: mine/both, order: simultaneous, k: 1, epochs: 2}\n"
    )
    argv = ["run", str(path), "--scale", "smoke", "--set", "what_lr=0.05", "--set", "n_train=300"]
    argv += ["--data-dir", str(synthetic_cifar_dir), "--no-verify", "--results-dir", str(tmp_path / "r")]
    assert exit_code(argv) == 0, capsys.readouterr().err
    epochs = pd.read_parquet(tmp_path / "r" / "mine-smoke" / "epochs")
    trials = pd.read_parquet(tmp_path / "r" / "mine-smoke" / "trials.parquet")
    assert sorted(trials.experiment) == ["mine/both", "mine/fast"] and set(epochs.space) == {"mine"}
    assert set(epochs.what_lr) == {0.05} and set(epochs.n_train) == {300}  # --set wins over the scale
    refs = trials.set_index("experiment").ref_test_acc
    assert refs["mine/fast"] == 0.4 and pd.isna(refs["mine/both"])


# -- the Python API ----------------------------------------------------------------------------------------------------
@pytest.mark.ray
def test_python_api_runs_rows_in_process_and_loads_them(ray_cluster, synthetic_cifar_dir, tmp_path):
    rows = [
        {"label": "api/a", "order": "what_first", "k": 1, "epochs": 2},
        {"order": "where_first", "k": 1, "epochs": 2},
    ]
    handle = run(rows, scale="smoke", data_dir=str(synthetic_cifar_dir), no_verify=True, storage=str(tmp_path))
    assert handle.ok and handle.name == "rows-smoke" and Path(handle.path) == tmp_path / "rows-smoke"
    trials, epochs = load_run(handle.path)
    assert sorted(trials.experiment) == ["api/a", "rows/2"] and len(epochs) == 4
    assert (trials.status == "TERMINATED").all()
    again = load_run("rows-smoke", results_dir=str(tmp_path))
    assert again[1].equals(epochs)
    where = report(handle.path, out=tmp_path / "report", attention=0)
    assert Path(where) == tmp_path / "report" and (tmp_path / "report" / "index.html").is_file()
    assert "api/a" in (tmp_path / "report" / "report.md").read_text()


def test_python_api_rejects_bad_rows_before_anything_runs(tmp_path):
    from orchestrator.errors import UsageError

    with pytest.raises(SpaceFileError, match="unknown key 'lr'"):
        run([{"lr": 0.1}], scale="smoke", storage=str(tmp_path))
    with pytest.raises(UsageError, match="unknown space"):
        run("tablez", storage=str(tmp_path))
    with pytest.raises(UsageError, match=r"unknown option 'seed' \(options: .*seeds"):  # not a TypeError
        run("table1", seed=1, storage=str(tmp_path))
    with pytest.raises(UsageError, match="precision must be one of fp32, tf32, bf16, got 'fp64'"):
        run("table1", scale="smoke", precision="fp64", storage=str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_python_api_takes_the_options_of_the_cli_by_their_python_names():
    from orchestrator.api import sweep_request
    from orchestrator.cli import build_parser
    from orchestrator.run_cmd import request_from_args

    flags = ["run", "table1", "--precision", "tf32", "--set", "dtype=float64", "--storage", "s", "--seeds", "2"]
    cli = request_from_args(build_parser().parse_args(flags))
    api = sweep_request("table1", precision="tf32", overrides={"dtype": "float64"}, storage="s", seeds=2)
    assert api == cli and api.overrides == {"dtype": "float64", "precision": "tf32"}


# -- connecting --------------------------------------------------------------------------------------------------
def clean_env() -> dict:
    """This machine's environment without the test session's cluster address: commands start their own Ray."""
    return {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"PYTHONUNBUFFERED": "1"}


def test_a_wrong_address_fails_fast_with_one_line(tmp_path):
    started = time.time()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "run",
            "table1",
            "--address",
            "127.0.0.1:1",
            "--results-dir",
            str(tmp_path / "r"),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and time.time() - started < 15  # seconds (2-3 measured), not minutes of retries
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "127.0.0.1:1" in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.ray
def test_two_sweeps_started_at_once_with_embedded_ray_both_finish(synthetic_cifar_dir, tmp_path):
    """Each starts its own Ray in its process (the default path, no RAY_ADDRESS); the second takes another
    dashboard port."""
    argvs = [
        [
            "run",
            "table1",
            "--only",
            "table1/1",
            "--scale",
            "smoke",
            "--num-cpus",
            "1",
            "--data-dir",
            str(synthetic_cifar_dir),
            "--no-verify",
            "--results-dir",
            str(tmp_path / f"r{i}"),
            "--set",
            "epochs=2",
            "--set",
            "k=1",
        ]
        for i in range(2)
    ]
    with contextlib.ExitStack() as running:
        procs = [
            running.enter_context(
                cli_process(a, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            )
            for a in argvs
        ]
        outs = [p.communicate(timeout=400)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    urls = [next(line for line in out.splitlines() if "Ray dashboard:" in line).split()[-1] for out in outs]
    assert len(set(urls)) == 2 and all(u.startswith("http://127.0.0.1:") for u in urls), urls
    for i in range(2):
        assert len(pd.read_parquet(tmp_path / f"r{i}" / "table1-smoke" / "epochs")) == 2
