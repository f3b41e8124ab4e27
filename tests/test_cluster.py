"""Multi-node behaviour on a real two-node Ray cluster on this machine (head + worker, 1 CPU each)."""

import threading
import time

import pandas as pd
import pytest
import ray

from orchestrator import shared_storage
from orchestrator.cli import main

pytestmark = pytest.mark.ray


def run_argv(data_dir, results, *extra):
    return ["run", "table1", "--scale", "smoke", "--data-dir", str(data_dir), "--no-verify", "--results-dir",
            str(results), "--progress-every", "30", *extra]


def test_storage_probe_asks_every_node(ray_cluster, tmp_path):
    assert sum(n["Alive"] for n in ray.nodes()) >= 2
    results = tmp_path / "results"
    assert shared_storage.nodes_missing_storage(str(results / "run")) == []
    assert not results.exists()  # the probe leaves nothing behind
    assert shared_storage.nodes_missing_storage("s3://bucket/prefix/run") == []


def test_node_local_storage_fails_fast_and_writes_nothing(ray_cluster, synthetic_cifar_dir, tmp_path, monkeypatch,
                                                          capsys):
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
            try:
                rows = pd.read_parquet(run_dir / "epochs")
            except (OSError, ValueError):
                continue
            on_worker = rows[rows.node_id == worker.node_id]
            if len(on_worker) >= 2:
                killed["rows_before"] = len(rows)
                ray_cluster.remove_node(worker, allow_graceful=False)
                return

    killer = threading.Thread(target=kill_worker_once_it_has_reported, daemon=True)
    killer.start()
    code = main(run_argv(synthetic_cifar_dir, results, "--only", "table1/1,table1/2,table1/8", "--checkpoint-every",
                         "2", "--max-failures", "3"))
    killer.join(timeout=5)
    ray_cluster.add_node(num_cpus=1, object_store_memory=400 * 2**20)  # heal the cluster for later tests
    ray_cluster.wait_for_nodes()
    assert "rows_before" in killed, "the worker node never ran a trial"
    assert code == 0

    epochs = pd.read_parquet(run_dir / "epochs")
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert (trials.status == "TERMINATED").all() and (trials.outcome == "completed").all()
    expected = {"table1/1": 8, "table1/2": 8, "table1/8": 16}
    for trial_id, rows in epochs.groupby("trial_id"):
        assert sorted(rows.epoch) == list(range(1, expected[rows.experiment.iloc[0]] + 1))
    assert len(epochs) == sum(expected.values())
    # trials ran on both nodes (the killed worker included), and each row says which node it came from
    assert worker.node_id in set(epochs.node_id) and epochs.node_id.nunique() >= 2
    assert epochs.node_ip.notna().all() and epochs.hostname.notna().all()
