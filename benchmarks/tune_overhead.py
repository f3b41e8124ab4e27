"""What running as a Ray Tune trial costs, measured against the engine called directly.

    python benchmarks/tune_overhead.py [--data-dir DIR] [--mosaics 3000] [--epochs 10] [--trials 16]

1. Per-epoch overhead: one trial and one direct run of the same schedule (3,000 training mosaics per epoch,
   1 CPU each). Ray's time between reports minus the engine's own epoch time is the cost of reporting and
   checkpointing (every epoch and every 5 epochs). Target: under 2 % of the epoch time.
2. Start-up: from `Tuner.fit()` to the first report, less the first epoch: actor start, torch import, images
   from the object store, mosaics built.
3. Memory while `--trials` trials run at once: driver RSS, each trial's unique memory (USS) and RSS, and the
   object store. The CIFAR images are in the object store once per node; trials map them, so a trial's USS
   stays far below the 184 MB of images.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import psutil
import torch

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, TrainConfig, load_cifar


def direct_epoch_seconds(images, config: TrainConfig) -> list[float]:
    torch.set_num_threads(1)
    trainer = StageWiseTrainer(config, images, "cpu")
    return [row["epoch_s"] for row in trainer.epochs()]


def tune_run(images, config: TrainConfig, n_trials: int, checkpoint_every: int, storage: str, cpus: float):
    from ray import tune

    from trainables.tune_trial import train_mosaic

    rows: list[dict] = []
    memory: list[dict] = []

    class Recorder(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            rows.append({**result, "arrived": time.time()})
            if len({r["trial_id"] for r in rows}) == n_trials and not memory:
                memory.append(sample_memory(rows))

    flat = {**config.to_flat(), "experiment": "bench", "space": "bench", "scale": "bench", "run": "bench"}
    trainable = tune.with_resources(
        tune.with_parameters(train_mosaic, images=images, checkpoint_every=checkpoint_every), {"cpu": cpus}
    )
    tuner = tune.Tuner(
        trainable,
        param_space={**flat, "seed": tune.grid_search(list(range(n_trials)))},
        run_config=tune.RunConfig(
            storage_path=storage, name=f"bench-{time.time_ns()}", verbose=0, callbacks=[Recorder()]
        ),
        tune_config=tune.TuneConfig(max_concurrent_trials=n_trials),
    )
    start = time.time()
    tuner.fit()
    return start, rows, memory


def sample_memory(rows: list[dict]) -> dict:
    import ray

    pids = sorted({int(r["pid"]) for r in rows})
    uss, rss = [], []
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_full_info()
            uss.append(info.uss)
            rss.append(info.rss)
        except psutil.Error:
            pass
    store = ray.available_resources().get("object_store_memory"), ray.cluster_resources().get("object_store_memory")
    used = (store[1] - store[0]) if None not in store else float("nan")
    return {
        "driver_rss": psutil.Process().memory_info().rss,
        "trial_uss": uss,
        "trial_rss": rss,
        "object_store_used": used,
    }


def ray_worker_baseline_uss() -> int:
    """Unique memory of an idle Ray worker that imported torch and Ray Tune and made one optimiser (torch.optim
    pulls in more of torch on first use): what every trial process pays before it holds any data."""
    import ray

    @ray.remote(num_cpus=0)
    def idle_worker_uss() -> int:
        import ray.tune  # noqa: F401

        torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
        return psutil.Process().memory_full_info().uss

    return ray.get(idle_worker_uss.remote())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MOSAIC_SWEEP_DATA") or Path(__file__).resolve().parents[1] / "../shared"
    parser.add_argument("--data-dir", default=str(default))
    parser.add_argument("--mosaics", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--storage", default="/tmp/mosaic-sweep-bench")
    args = parser.parse_args()

    import ray

    images = load_cifar(args.data_dir)
    config = TrainConfig(
        mosaic=MosaicSpec(n_train=args.mosaics, n_test=1000), schedule=StageSchedule("what_first", 1, args.epochs)
    )
    print(
        f"{args.mosaics} training + 1000 test mosaics per epoch, {args.epochs} epochs, what first k=1, "
        f"1 CPU per run, torch {torch.__version__}, {os.cpu_count()} cores"
    )

    direct = direct_epoch_seconds(images, config)
    print(f"direct engine: {statistics.mean(direct[1:]):.3f} s/epoch (epochs 2..{args.epochs})")

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    # Memory first, while the object store holds exactly one copy of the images.
    small = TrainConfig(mosaic=MosaicSpec(n_train=200, n_test=100), schedule=StageSchedule("what_first", 1, 6))
    _, rows, memory = tune_run(images, small, args.trials, 5, args.storage, 2 / args.trials)
    if memory:
        m, mb = memory[0], 2**20
        base = ray_worker_baseline_uss()
        print(
            f"{args.trials} trials at once on one node: driver RSS {m['driver_rss'] / mb:.0f} MB; per trial USS "
            f"mean {statistics.mean(m['trial_uss']) / mb:.0f} MB (max {max(m['trial_uss']) / mb:.0f}) against "
            f"{base / mb:.0f} MB for an idle Ray worker with torch + Ray Tune imported and an optimiser made: "
            f"{(statistics.mean(m['trial_uss']) - base) / mb:+.0f} MB of trial data; object store in use "
            f"{m['object_store_used'] / mb:.0f} MB for {images.nbytes / mb:.0f} MB of CIFAR images"
        )

    for every in (1, 5):
        start, rows, _ = tune_run(images, config, 1, every, args.storage, 1)
        rows.sort(key=lambda r: r["epoch"])
        between = [b["arrived"] - a["arrived"] for a, b in zip(rows, rows[1:])]
        engine = [r["epoch_s"] for r in rows[1:]]
        overhead = statistics.mean(between) - statistics.mean(engine)
        print(
            f"trial, checkpoint every {every}: {statistics.mean(between):.3f} s between reports, engine "
            f"{statistics.mean(engine):.3f} s/epoch -> overhead {overhead * 1000:.1f} ms/epoch = "
            f"{100 * overhead / statistics.mean(engine):.2f} % of an epoch"
        )
        if every == 5:
            startup = rows[0]["arrived"] - start - rows[0]["epoch_s"]
            print(f"trial start-up (fit() to first report, less epoch 1): {startup:.2f} s")
    ray.shutdown()


if __name__ == "__main__":
    main()
