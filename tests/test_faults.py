"""Bad input and broken files: one line, a non-zero exit, and nothing already written lost or overwritten."""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import exit_code

from orchestrator.errors import UsageError
from orchestrator.ray_session import protect_token
from orchestrator.results import EPOCH_SCHEMA, to_table
from orchestrator.storage import RunStorage
from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, StateMismatch, TrainConfig

GOLDEN = Path(__file__).parent / "data" / "golden-table1-1-smoke"


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", ".", "..", "a/b", "sp ace", ""])
def test_run_names_are_folder_names_not_paths(name, tmp_path, capsys):
    argv = ["run", "table1", "--name", name, "--results-dir", str(tmp_path / "r"), "--data-dir", str(tmp_path)]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert ("run name" in err or "already exists" in err) and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists() and not (tmp_path / "x").exists()


def test_a_run_is_claimed_by_exactly_one_driver(tmp_path):
    first, second = RunStorage(str(tmp_path / "run")), RunStorage(str(tmp_path / "run"))
    assert first.claim({"by": "first"}, "run.json")
    assert not second.claim({"by": "second"}, "run.json")
    assert json.loads((tmp_path / "run" / "run.json").read_text()) == {"by": "first"}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    storage = RunStorage(str(tmp_path / "run"))
    storage.write_table(to_table([{"epoch": 1}], EPOCH_SCHEMA), "epochs", "t.parquet")

    def broken(table, path, filesystem=None):
        Path(path).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="No space left"):
        storage.write_table(to_table([{"epoch": 2}], EPOCH_SCHEMA), "epochs", "t.parquet")
    monkeypatch.undo()
    assert os.listdir(tmp_path / "run" / "epochs") == ["t.parquet"]  # no hidden temporary left
    assert pq.read_table(tmp_path / "run" / "epochs" / "t.parquet").column("epoch").to_pylist() == [1]


def test_the_ray_token_file_is_made_private(tmp_path):
    token = tmp_path / "auth_token"
    token.write_text("x" * 64)
    token.chmod(0o644)
    protect_token(str(token))
    assert token.stat().st_mode & 0o777 == 0o600
    protect_token(str(tmp_path / "missing"))  # no file: nothing to do, no error


def small_config(**changes) -> TrainConfig:
    return TrainConfig(
        mosaic=MosaicSpec(n_train=60, n_test=30), schedule=StageSchedule("what_first", 1, 2), batch_size=30, **changes
    )


def test_a_state_from_before_a_new_config_field_loads_and_a_real_difference_is_named(fake_images, tmp_path):
    trainer = StageWiseTrainer(small_config(), fake_images, "cpu")
    trainer.run_epoch()
    state = trainer.state_dict()
    del state["config"]["precision"]  # as written before the field existed: it means the default
    resumed = StageWiseTrainer(small_config(), fake_images, "cpu")
    resumed.load_state_dict(state)
    assert resumed.epoch == 1
    other = StageWiseTrainer(small_config(what_lr=0.5, precision="tf32"), fake_images, "cpu")
    with pytest.raises(StateMismatch, match=r"differs in what_lr, precision"):
        other.load_state_dict(state)


def test_train_with_a_truncated_state_file_stops_with_one_line(synthetic_cifar_dir, tmp_path, capsys):
    state = tmp_path / "state.pt"
    argv = [
        "train",
        "--k",
        "1",
        "--epochs",
        "2",
        "--n-train",
        "60",
        "--n-test",
        "30",
        "--batch-size",
        "30",
        "--data-dir",
        str(synthetic_cifar_dir),
        "--no-verify",
        "--device",
        "cpu",
        "--state",
        str(state),
    ]
    assert exit_code(argv) == 0
    state.write_bytes(state.read_bytes()[:1000])  # truncated
    capsys.readouterr()
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot resume from" in err and "unreadable" in err and len(err.splitlines()) == 1
    torch.save({"format": 1, "config": {"k": 7}}, state)
    assert exit_code(argv) == 2 and "another configuration" in capsys.readouterr().err
    torch.save([1, 2], state)  # a readable file, but no training state
    assert exit_code(argv) == 2 and "the file holds no training state" in capsys.readouterr().err
    # the right settings (as the flags give them) but no weights: one line, not a traceback
    torch.save({"format": 1, "config": {"k": 1, "epochs": 2, "n_train": 60, "n_test": 30, "batch_size": 30}}, state)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not a whole training state (KeyError)" in err and len(err.splitlines()) == 1


def test_resume_refuses_results_that_ray_cannot_restore(tmp_path, capsys):
    run = tmp_path / "r" / "table1-smoke"
    shutil.copytree(GOLDEN, run)  # results, but no tune/ experiment state
    before = sorted(p.name for p in run.rglob("*"))
    argv = ["run", "table1", "--resume", "--name", "table1-smoke", "--results-dir", str(tmp_path / "r")]
    assert exit_code(argv + ["--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot resume run 'table1-smoke'" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in run.rglob("*")) == before


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--max-failures", "7", "--max-failures 7: run 'table1-smoke' was started with 2"),
        ("--first-seed", "3", "--first-seed 3: run 'table1-smoke' was started with 0"),
        ("--seeds", "4", "--seeds 4: run 'table1-smoke' was started with 1 (the space's default)"),
        ("--only", "table1/2", "--only table1/2: run 'table1-smoke' was started with table1/1"),
        ("--pack", "4", "--pack 4: run 'table1-smoke' was started with auto"),
        ("--max-concurrent", "3", "--max-concurrent 3: run 'table1-smoke' was started with no limit"),
        ("--set", "what_lr=0.5", "--set/--precision what_lr=0.5: run 'table1-smoke' was started with none"),
        ("--precision", "bf16", "--set/--precision precision=bf16: run 'table1-smoke' was started with none"),
        ("--keep-phase-ends", None, "--keep-phase-ends: run 'table1-smoke' was started without it; leave it out"),
    ],
)
def test_resume_refuses_flags_that_would_change_the_run(flag, value, message, tmp_path, capsys):
    # Ray's restore runs the trials, settings and packs it pickled: a new value would be ignored, so it is refused
    run = tmp_path / "r" / "table1-smoke"
    shutil.copytree(GOLDEN, run)  # started with the space's one seed (recorded as null), first seed 0 (absent)
    argv = ["run", "table1", "--resume", "--name", "table1-smoke", flag, *([value] if value else [])]
    assert exit_code(argv + ["--results-dir", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_resume_refuses_a_new_max_failures_when_the_run_took_the_default(tmp_path, capsys):
    run = tmp_path / "r" / "table1-smoke"
    shutil.copytree(GOLDEN, run)
    info = json.loads((run / "run.json").read_text())
    info["options"]["max_failures"] = None  # started without --max-failures: Ray kept the default, 2
    (run / "run.json").write_text(json.dumps(info))
    argv = ["run", "table1", "--resume", "--name", "table1-smoke", "--max-failures", "7"]
    assert exit_code(argv + ["--results-dir", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert "--max-failures 7: run 'table1-smoke' was started with 2" in capsys.readouterr().err


def test_resume_refuses_only_when_the_run_started_with_every_experiment(tmp_path, capsys):
    run = tmp_path / "r" / "table1-smoke"
    shutil.copytree(GOLDEN, run)
    info = json.loads((run / "run.json").read_text())
    info["only"] = None  # started without --only
    (run / "run.json").write_text(json.dumps(info))
    argv = ["run", "table1", "--resume", "--name", "table1-smoke", "--only", "table1/2"]
    assert exit_code(argv + ["--results-dir", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert "--only table1/2: run 'table1-smoke' was started with every experiment" in capsys.readouterr().err


def test_resume_accepts_the_flags_the_run_started_with(tmp_path):
    from orchestrator.sweep import SweepRequest, plan_sweep

    shutil.copytree(GOLDEN, tmp_path / "table1-smoke")
    request = SweepRequest("table1", name="table1-smoke", results_dir=str(tmp_path), resume=True, seeds=1, first_seed=0)
    plan = plan_sweep(replace(request, only="table1/[1]", max_failures=2, pack="auto"))  # the same experiments
    assert [(t["experiment"], t["seed"]) for t in plan.trials] == [("table1/1", 0)] and plan.scale == "smoke"
    info = json.loads((tmp_path / "table1-smoke" / "run.json").read_text())
    info["options"]["overrides"] = {"what_lr": 0.5}  # started with --set what_lr=0.5: resumed without it, it stays
    info["options"]["cpus_per_trial"] = 2.0  # and with 2 CPUs (2 PyTorch threads) per trial: so it goes on
    (tmp_path / "table1-smoke" / "run.json").write_text(json.dumps(info))
    assert plan_sweep(request).trials[0]["what_lr"] == 0.5 and plan_sweep(request).cpus_per_trial == 2.0
    assert plan_sweep(replace(request, cpus_per_trial=0.5)).cpus_per_trial == 0.5  # resources may change
    assert plan_sweep(SweepRequest("table1", results_dir=str(tmp_path / "new"))).cpus_per_trial == 1.0
    assert not plan_sweep(request).selection.keep_phase_ends
    info["options"]["keep_phase_ends"] = True  # started with --keep-phase-ends: Ray restores its retention, so must we
    (tmp_path / "table1-smoke" / "run.json").write_text(json.dumps(info))
    assert plan_sweep(request).selection.keep_phase_ends and plan_sweep(replace(request, keep_phase_ends=True))
    with pytest.raises(UsageError, match="keep_phase_ends=False: run 'table1-smoke' was started with it; leave it out"):
        plan_sweep(replace(request, keep_phase_ends=False))  # as the Python API can say it


def test_a_resumed_run_keeps_its_share_of_a_gpu(tmp_path):
    # a run started with --gpus-per-trial 0.5 once resumed with 1 GPU per trial: its trials ran one at a time
    from orchestrator.sweep import SweepRequest, plan_sweep, trial_gpus

    shutil.copytree(GOLDEN, tmp_path / "table1-smoke")
    info = json.loads((tmp_path / "table1-smoke" / "run.json").read_text())
    info["options"]["gpus_per_trial"] = 0.5
    (tmp_path / "table1-smoke" / "run.json").write_text(json.dumps(info))
    request = SweepRequest("table1", name="table1-smoke", results_dir=str(tmp_path), resume=True)
    plan = plan_sweep(request)
    assert plan.gpus_per_trial == 0.5 and trial_gpus(plan, request, available=1.0) == (0.5, None)
    gpus, note = trial_gpus(plan, request, available=0.0)  # resumed where there is no GPU: it goes on on CPU
    assert gpus == 0.0 and "started with --gpus-per-trial 0.5; this machine's Ray has no GPUs" in note
    assert trial_gpus(plan, request, 0.0, joined=True) == (0.5, None)  # an autoscaling cluster: wait for GPU nodes
    given = replace(request, gpus_per_trial=1.0)  # a flag still decides
    assert trial_gpus(plan_sweep(given), given, available=1.0) == (1.0, None)
    new = SweepRequest("table1", results_dir=str(tmp_path / "new"))  # not resumed: the cluster decides
    assert [trial_gpus(plan_sweep(new), new, a)[0] for a in (2.0, 0.0)] == [1.0, 0.0]
    info["options"]["gpus_per_trial"] = 0.0  # started on CPU on purpose: resumed on a GPU machine, it stays there
    (tmp_path / "table1-smoke" / "run.json").write_text(json.dumps(info))
    assert trial_gpus(plan_sweep(request), request, available=1.0) == (0.0, None)
    del info["options"]  # a run.json without options (older runs): the cluster decides
    (tmp_path / "table1-smoke" / "run.json").write_text(json.dumps(info))
    assert plan_sweep(request).gpus_per_trial is None and trial_gpus(plan_sweep(request), request, 1.0)[0] == 1.0


def test_a_run_records_its_first_seed_and_plans_those_seeds(tmp_path):
    from orchestrator.sweep import SweepRequest, plan_sweep

    plan = plan_sweep(SweepRequest("table1", only="table1/3", seeds=2, first_seed=4, results_dir=str(tmp_path)))
    assert [t["seed"] for t in plan.trials] == [4, 5] and plan.info["first_seed"] == 4


class FlakyStorage(RunStorage):
    """A run folder whose writes fail while `down` is set (a full disk, an object store outage)."""

    down = False

    def write_table(self, table, *parts):
        if self.down:
            raise OSError(28, "No space left on device")
        super().write_table(table, *parts)


def test_a_storage_outage_keeps_rows_in_memory_and_writes_them_when_it_ends(tmp_path):
    from orchestrator.results import ResultsNotWritten, ResultsWriter

    storage = FlakyStorage(str(tmp_path / "run"))
    writer = ResultsWriter(storage, "run")
    writer.add_epoch("t1", {"epoch": 1, "test_acc": 0.5})
    storage.down = True
    with pytest.warns(ResultsNotWritten, match="kept in memory"):
        writer.add_epoch("t1", {"epoch": 2, "test_acc": 0.6})
        writer.add_epoch("t2", {"epoch": 1, "test_acc": 0.7})
        writer.set_trial("t1", {"experiment": "e"}, "RUNNING")
    assert writer.pending == {"t1", "t2", "trials.parquet"} and not writer.flush()
    assert pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet").num_rows == 1  # the old file, whole
    storage.down = False
    with pytest.warns(ResultsNotWritten, match="written again"):
        writer.add_epoch("t2", {"epoch": 2, "test_acc": 0.8})
    assert not writer.pending
    assert pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet").num_rows == 2
    assert pq.read_table(tmp_path / "run" / "epochs" / "t2.parquet").num_rows == 2
    assert pq.read_table(tmp_path / "run" / "trials.parquet").num_rows == 1
    assert not [p for p in (tmp_path / "run").rglob(".*")]  # no temporary left


def test_a_retry_drops_the_failed_attempts_rows_after_its_checkpoint(tmp_path):
    """on_trial_recover: the retry restarts from the checkpoint's epoch; rows after it are the failed attempt's."""
    from types import SimpleNamespace

    from ray.tune import Checkpoint

    from orchestrator.results import ResultsWriter
    from orchestrator.tune_callbacks import ParquetCallback

    writer = ResultsWriter(RunStorage(str(tmp_path / "run")), "run")
    for epoch in range(1, 8):
        writer.add_epoch("t1", {"epoch": epoch, "test_acc": 0.1 * epoch})
    folder = tmp_path / "checkpoint_000001"
    folder.mkdir()
    (folder / "history.json").write_text(json.dumps([{"epoch": e} for e in range(1, 5)]))
    trial = SimpleNamespace(
        trial_id="t1",
        config={"trial": {"experiment": "e", "k": 1}},
        checkpoint=Checkpoint.from_directory(str(folder)),
        get_error=lambda: "boom",
    )
    ParquetCallback(writer).on_trial_recover(0, [], trial)
    assert sorted(pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet").column("epoch").to_pylist()) == [1, 2, 3, 4]
    assert writer.trials["t1"]["status"] == "RETRYING"


def test_gpu_requests_above_the_cluster_are_refused_locally_and_awaited_on_a_joined_cluster():
    from orchestrator.errors import UsageError
    from orchestrator.sweep import check_gpu_request

    assert check_gpu_request(1, 2, joined=False) is None and check_gpu_request(0, 0, joined=True) is None
    with pytest.raises(UsageError, match="--gpus-per-trial 1 but the cluster has 0 GPUs"):
        check_gpu_request(1, 0, joined=False)
    assert "wait until the autoscaler adds GPU nodes" in check_gpu_request(1, 0, joined=True)
    # a resumed run's own number, no flag given now: the words say where it came from
    with pytest.raises(UsageError, match=r"--gpus-per-trial 2 \(the run's own; give the flag to change it\) but the"):
        check_gpu_request(2, 1, joined=False, resumed=True)


def test_a_sweep_refuses_credentials_in_its_storage_uri_without_printing_them(tmp_path, capsys):
    # Ray would pickle the filesystem, keys included, into the run's tune/ folder: only the environment may hold them
    from orchestrator.storage import credentials_in

    assert not credentials_in("hdfs://alice@namenode:8020/sweeps") and not credentials_in("/plain/path")
    uri = "s3://minio:secret-key@bucket/sweeps?endpoint_override=127.0.0.1:1&scheme=http&region=us-east-1"
    assert credentials_in(uri)
    assert exit_code(["run", "table1", "--storage", uri, "--data-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "secret-key" not in captured.err + captured.out and "minio" not in captured.err
    assert "s3://bucket/sweeps" in captured.err and "AWS_SECRET_ACCESS_KEY" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_credentials_in_a_uri_never_reach_an_error_line(tmp_path, capsys):
    uri = "s3://minio:secret-key@bucket/sweeps/run1?endpoint_override=127.0.0.1:1&scheme=http&region=us-east-1"
    assert exit_code(["report", uri, "--out", str(tmp_path / "rep")]) != 0  # reading may use them; nothing listens
    captured = capsys.readouterr()
    assert "secret-key" not in captured.err + captured.out and "minio" not in captured.err
    assert "bucket" in captured.err and len(captured.err.strip().splitlines()) == 1


def test_report_takes_options_between_and_after_its_runs(tmp_path, capsys):
    other = tmp_path / "copy-of-golden"
    shutil.copytree(GOLDEN, other)
    argv = ["report", str(GOLDEN), "--attention", "0", "--out", str(tmp_path / "rep"), str(other)]
    assert exit_code(argv) == 0, capsys.readouterr().err
    assert "2 trials" in capsys.readouterr().out
    assert (tmp_path / "rep" / "index.html").is_file()
    # the same run twice: its one seed counted twice, which the report says at the top
    assert (
        "The same seed more than once in table1/1: seed 0 (runs table1-smoke"
        in (tmp_path / "rep" / "report.md").read_text()
    )


def test_a_time_limit_is_refused_outside_the_main_thread(tmp_path):
    # the limit stops Tune with SIGINT, which Python delivers to the main thread only (e.g. not a notebook's worker)
    import threading

    from orchestrator.errors import UsageError
    from orchestrator.sweep import SweepRequest, run_sweep

    caught = []
    request = SweepRequest("table1", scale="smoke", results_dir=str(tmp_path), data_dir=str(tmp_path), time_limit=5)

    def target():
        try:
            run_sweep(request)
        except UsageError as exc:
            caught.append(str(exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert caught and "only the main thread" in caught[0] and not (tmp_path / "table1-smoke").exists()


def test_restore_skips_unreadable_checkpoints_newest_first_and_raises_what_is_not_about_the_file(tmp_path):
    from ray import tune

    from trainables.tune_trial import CheckpointUnreadable, restore

    trial = tmp_path / "trial"
    for n in (1, 2, 3, 4):
        (trial / f"checkpoint_00000{n}").mkdir(parents=True)
    torch.save({"epoch": 1}, trial / "checkpoint_000001" / "state.pt")
    torch.save({"epoch": 2}, trial / "checkpoint_000002" / "state.pt")
    (trial / "checkpoint_000002" / "state.pt").write_bytes((trial / "checkpoint_000002" / "state.pt").read_bytes()[:99])
    (trial / "checkpoint_000003" / "state.pt").write_bytes(b"not a torch file")  # 4: never written
    newest = tune.Checkpoint(str(trial / "checkpoint_000004"))
    loaded = []
    restore(newest, lambda folder: loaded.append(torch.load(folder / "state.pt", weights_only=True)["epoch"]))
    assert loaded == [1]

    def raising(error):
        def load(folder):
            raise error

        return load

    for error in (StateMismatch("another configuration"), torch.OutOfMemoryError("CUDA out of memory")):
        with pytest.raises(type(error)):
            restore(newest, raising(error))
    with pytest.raises(CheckpointUnreadable, match="checkpoint_000004: .*checkpoint_000001: garbled"):
        restore(newest, raising(RuntimeError("garbled")))


def test_the_time_limit_waits_for_tunes_handler_and_then_asks_it_to_stop():
    import signal
    import time

    from orchestrator.sweep import TimeLimit

    before, calls = signal.getsignal(signal.SIGUSR1), []
    try:
        with TimeLimit(0.2, time.monotonic()) as limit:
            time.sleep(0.6)
            assert not limit.reached  # the process's own SIGUSR1 action (here: end it) is never triggered
            signal.signal(signal.SIGUSR1, lambda *_: calls.append("stop"))  # what Tuner.fit installs
            for _ in range(50):
                time.sleep(0.05)
                if calls:
                    break
        assert limit.reached and calls == ["stop"]
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_a_resume_or_report_reads_cifar_as_the_run_did(tmp_path):
    from orchestrator.cli_args import DataSource, data_source

    run = {"options": {"data_dir": str(tmp_path), "no_verify": True}}
    assert data_source(None, False, run_info=run) == DataSource(str(tmp_path), verify=False)
    assert data_source("elsewhere", False, run_info=run) == DataSource("elsewhere", verify=True)  # a flag wins
    moved = {"options": {"data_dir": str(tmp_path / "gone"), "no_verify": True}}
    assert data_source(None, False, run_info=moved) == DataSource(None, verify=True)  # another copy: checked
    default = {"options": {"data_dir": None, "no_verify": True}}
    assert data_source(None, False, run_info=default) == DataSource(None, verify=False)  # the run's own default
    assert data_source(None, False, True, {}) == DataSource(None, verify=True, download=True)  # a new run


def test_an_unfinished_run_says_what_finishes_each_trial(tmp_path, capsys):
    """Interrupted or failed trials go on with --resume (in the run's own folder); a diverged trial has ended, and a
    resume would not train it again."""
    from test_report import epoch_rows, trial_config

    from orchestrator.errors import RunFailed
    from orchestrator.results import ResultsWriter
    from orchestrator.sweep import SweepRequest, print_final_table, resume_flags

    writer = ResultsWriter(RunStorage(str(tmp_path / "mine")), "mine")
    trials = {"d": ("table1/1", "diverged", "TERMINATED"), "e": ("table1/2", "running", "ERROR")}
    for trial_id, (label, outcome, status) in trials.items():
        for row in epoch_rows(trial_config(label, 0), trial_id, [0.3, 0.4], outcome=outcome):
            writer.add_epoch(trial_id, row)
        writer.set_trial(trial_id, trial_config(label, 0), status)
    go_on = resume_flags(SweepRequest("table1", results_dir=str(tmp_path)), "mine")
    assert go_on == f"--resume --name mine --results-dir {tmp_path}"
    assert resume_flags(SweepRequest("table1"), "mine") == "--resume --name mine"  # the default folder
    minio = "s3://bucket/my sweeps?endpoint_override=minio:9000&scheme=http"  # the endpoint is needed to go on
    assert resume_flags(SweepRequest("table1", results_dir=minio), "mine").endswith(f" --results-dir '{minio}'")
    with pytest.raises(RunFailed) as both:
        print_final_table(writer, writer.storage, go_on, 1.0)
    assert f"continue with {go_on}; 1 diverged (non-finite loss): rerun those with lower learning rates" in str(
        both.value
    )
    writer.trials.pop("e")
    with pytest.raises(RunFailed) as diverged:
        print_final_table(writer, writer.storage, go_on, 1.0)
    assert "--resume" not in str(diverged.value) and "1 diverged" in str(diverged.value)


def test_final_table_gives_the_clean_pass_train_accuracy_of_a_finished_trial(tmp_path, capsys):
    from test_report import epoch_rows, trial_config

    from orchestrator.results import ResultsWriter
    from orchestrator.sweep import print_final_table

    writer = ResultsWriter(RunStorage(str(tmp_path / "mine")), "mine")
    for trial_id, label, final in (("f", "table1/1", 0.9), ("g", "table1/2", None)):
        for row in epoch_rows(trial_config(label, 0), trial_id, [0.3, 0.6], final_train=final):
            writer.add_epoch(trial_id, row)
        writer.set_trial(trial_id, trial_config(label, 0), "TERMINATED" if final else "RUNNING")
    print_final_table(writer, writer.storage, "--resume --name mine", 1.0, check=False)
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if "table1/" in line}
    assert lines["table1/1"][5:7] == ["0.900", "0.600"]  # the clean pass, not the running 0.700
    assert lines["table1/2"][5:7] == ["0.700", "0.600"]  # no clean pass yet: the running accuracy
