"""Multi-node behaviour on a real two-node Ray cluster on this machine (head + worker, 1 CPU each)."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import ray
from conftest import TINY_SET

from orchestrator import shared_storage
from orchestrator.cli import main

pytestmark = pytest.mark.ray


def run_argv(data_dir, results, *extra):
    return [
        "run",
        "table1",
        "--scale",
        "smoke",
        "--data-dir",
        str(data_dir),
        "--no-verify",
        "--results-dir",
        str(results),
        "--progress-every",
        "30",
        *extra,
    ]


def test_storage_probe_asks_every_node(ray_cluster, tmp_path):
    assert sum(n["Alive"] for n in ray.nodes()) >= 2
    results = tmp_path / "results"
    assert shared_storage.nodes_missing_storage(str(results / "run")) == []
    assert not results.exists()  # the probe leaves nothing behind
    assert shared_storage.nodes_missing_storage("s3://bucket/prefix/run") == []


def test_node_local_storage_fails_fast_and_writes_nothing(
    ray_cluster, synthetic_cifar_dir, tmp_path, monkeypatch, capsys
):
    worker = next(iter(ray_cluster.worker_nodes)).node_id
    monkeypatch.setattr(shared_storage, "nodes_missing_storage", lambda storage: [worker])
    assert main(run_argv(synthetic_cifar_dir, tmp_path / "results")) == 2
    err = capsys.readouterr().err.strip()
    assert "is not shared" in err and "--storage" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results" / "table1-smoke" / "run.json").exists()


def test_sweep_uses_both_nodes_and_survives_losing_the_worker(ray_cluster, synthetic_cifar_dir, tmp_path):
    results = tmp_path / "results"
    run_dir = results / "table1-smoke"
    worker = next(iter(ray_cluster.worker_nodes))
    killed = {}

    def kill_worker_once_it_has_reported():
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(0.3)
            try:  # a file being written can read as a table without columns: that too is "not yet"
                rows = pd.read_parquet(run_dir / "epochs")
                killed["seen"] = rows.groupby("node_id").size().to_dict()
            except Exception as exc:  # not written yet, or being written: try again, and say so if it never works
                killed["last_error"] = repr(exc)
                continue
            on_worker = rows[rows.node_id == worker.node_id]
            if len(on_worker) >= 2:
                killed["rows_before"] = len(rows)
                ray_cluster.remove_node(worker, allow_graceful=False)
                return

    # both CPUs free (nothing left over from earlier tests), so one trial must start on the worker
    deadline = time.time() + 60
    while ray.available_resources().get("CPU", 0) < 2 and time.time() < deadline:
        time.sleep(0.5)
    killer = threading.Thread(target=kill_worker_once_it_has_reported, daemon=True)
    killer.start()
    code = main(
        run_argv(
            synthetic_cifar_dir,
            results,
            "--only",
            "table1/1,table1/2,table1/8",
            "--checkpoint-every",
            "2",
            "--max-failures",
            "3",
        )
    )
    killer.join(timeout=5)
    if "rows_before" in killed:  # heal the cluster for later tests: a head and one worker again
        ray_cluster.add_node(num_cpus=1, object_store_memory=400 * 2**20)
        ray_cluster.wait_for_nodes()
    assert "rows_before" in killed, f"the worker {worker.node_id} never ran a trial: {killed}"
    assert code == 0

    epochs = pd.read_parquet(run_dir / "epochs")
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert (trials.status == "TERMINATED").all() and (trials.outcome == "completed").all()
    expected = {"table1/1": 8, "table1/2": 8, "table1/8": 16}
    for _, rows in epochs.groupby("trial_id"):
        assert sorted(rows.epoch) == list(range(1, expected[rows.experiment.iloc[0]] + 1))
    assert len(epochs) == sum(expected.values())
    # trials ran on both nodes (the killed worker included), and each row says which node it came from
    assert worker.node_id in set(epochs.node_id) and epochs.node_id.nunique() >= 2
    assert epochs.node_ip.notna().all() and epochs.hostname.notna().all()
    # the trial cut off by the kill: its rows up to its last checkpoint (every 2 epochs) come from the killed node,
    # the rest from the node it was retried on; no row of the lost attempt after the checkpoint stays
    moved = [r for _, r in epochs.groupby("trial_id") if worker.node_id in set(r.node_id) and r.node_id.nunique() > 1]
    assert moved, "no trial was retried on another node"
    for rows in moved:
        before, after = rows[rows.node_id == worker.node_id].epoch, rows[rows.node_id != worker.node_id].epoch
        assert before.max() < after.min() and (after.min() - 1) % 2 == 0, rows[["epoch", "node_id"]]


def test_ray_job_submit_runs_a_sweep_on_the_cluster(ray_cluster, synthetic_cifar_dir, tmp_path):
    """`ray job submit -- mosaic-sweep run ...`: the job's driver runs on the head and joins through RAY_ADDRESS."""
    results = tmp_path / "results"
    ray_bin = Path(sys.executable).with_name("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "token"}  # the CLI sends the cluster's token (RAY_AUTH_TOKEN here)
    env.pop("RAY_ADDRESS", None)
    job = subprocess.run(
        [
            str(ray_bin),
            "job",
            "submit",
            "--address",
            ray_cluster.dashboard_url,
            "--",
            str(Path(sys.executable).with_name("mosaic-sweep")),
        ]
        + run_argv(synthetic_cifar_dir, results, "--only", "table1/1", *TINY_SET),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    assert "1/1 trials finished" in job.stdout
    epochs = pd.read_parquet(results / "table1-smoke" / "epochs")
    assert sorted(epochs.epoch) == list(range(1, 9))
    assert set(epochs.node_id) <= {n["NodeID"] for n in ray.nodes()}


@pytest.fixture
def s3_server():
    """An S3 server on loopback (moto): object storage as a cluster would use it, without a cloud."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"endpoint_override={host}:{port}&scheme=http&region=us-east-1&allow_bucket_creation=true"
    server.stop()


def test_sweep_writes_results_and_checkpoints_to_object_storage(ray_cluster, synthetic_cifar_dir, s3_server, capsys):
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    storage = f"s3://bucket/sweeps?{s3_server}"  # keys from the environment (conftest), as on a cluster
    secret = os.environ["AWS_SECRET_ACCESS_KEY"].encode()
    argv = [
        "run",
        "table1",
        "--scale",
        "smoke",
        "--only",
        "table1/8",
        "--checkpoint-every",
        "4",
        "--data-dir",
        str(synthetic_cifar_dir),
        "--no-verify",
        "--storage",
        storage,
        "--progress-every",
        "30",
        *TINY_SET,
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "s3://bucket/sweeps/table1-smoke" in out

    fs, root = pafs.FileSystem.from_uri(storage)
    run = f"{root}/table1-smoke"
    epochs = pads.dataset(f"{run}/epochs", filesystem=fs, format="parquet").to_table().to_pandas()
    assert sorted(epochs.epoch) == list(range(1, 17))
    files = [i.path for i in fs.get_file_info(pafs.FileSelector(f"{run}/tune", recursive=True))]
    assert any(p.endswith("/state.pt") for p in files) and any(p.endswith("/history.json") for p in files)
    everything = [
        i.path for i in fs.get_file_info(pafs.FileSelector(run, recursive=True)) if i.type == pafs.FileType.File
    ]
    assert any("/tune/" in p and "experiment_state" in p for p in everything)  # Ray's pickled state is scanned too
    for path in everything:
        with fs.open_input_stream(path) as stream:
            assert secret not in stream.readall(), path
    # and the run resumes from there (through the Python API): nothing left to do, same rows, and the handle
    # finds them (it keeps the URI's endpoint options, or it would look for the bucket at AWS)
    from orchestrator import api

    options = dict(scale="smoke", data_dir=str(synthetic_cifar_dir), no_verify=True, progress_every=30)
    handle = api.run("table1", storage=storage, resume=True, **options)
    assert handle.ok and handle.path == f"s3://bucket/sweeps/table1-smoke?{s3_server}"
    _, again = api.load_run(handle.path)
    assert len(again) == 16 and again.epoch.max() == 16
