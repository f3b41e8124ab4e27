"""Packed training throughput against one unpacked trial, and the projected wall time of `tables` and `seeds`.

    python benchmarks/gpu_throughput.py --data-dir ../shared            # real CIFAR-10
    python benchmarks/gpu_throughput.py --synthetic --packs 1,4,16       # random images, same cost
    options: --device auto|cpu|cuda  --mosaics N  --precisions fp32,tf32,bf16  --threads T

Pack members are the real rows of the spaces: pack size n <= 16 takes n rows of `tables`, table 1 and table 2
interleaved (seed 0: one set of mosaics and one batch order, the case packing was built for; in the timed epoch
half the members train the what network, half the where network); n > 16 takes rows of `seeds` (5 seeds, so up
to 5 data groups). The unpacked baseline averages table 1 row 1 (what phase) and table 2 row 1 (where phase).
Batch 250, float32, as at paper scale; only the number of mosaics per epoch is smaller.
Each pack runs one warm-up epoch and one timed epoch. Columns: training mosaics/s per member and per device
(evaluation excluded), speedup of the device's training rate over one unpacked StageWiseTrainer, the evaluation
rate, the time one paper-scale epoch of the whole pack would take (30,000 training + 10,000 test mosaics per
member), the GPU's busy fraction (CUDA kernel time from torch.profiler / wall time of the same epoch) and peak
GPU memory. Only eager mode exists: CUDA graphs and torch.compile are not implemented.

The projection plans each space's paper-scale trials into packs of at most the largest pack measured
(trainables.packed.plan_packs), lets every pack shrink as its members end, and prices each pack epoch at the
measured epoch time for its current size (linear between measured sizes), plus each member's final clean pass
over its training mosaics; against one unpacked trial at a time. One device; no start-up or checkpoint costs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from search_spaces import get_space
from trainables import CifarImages, StageWiseTrainer, TrainConfig, load_cifar, resolve_device
from trainables.packed import PackedTrainer, plan_packs

PAPER_TRAIN, PAPER_TEST = 30_000, 10_000


def synthetic_images(n_train: int = 10_000, n_test: int = 2_000) -> CifarImages:
    rng = np.random.default_rng(0)
    make = lambda n: (rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), np.arange(n, dtype=np.int64) % 10)  # noqa: E731
    return CifarImages(*make(n_train), *make(n_test))


def member_configs(n: int, n_train: int, n_test: int) -> list[TrainConfig]:
    """The first n rows, table 1 and table 2 interleaved (half the members in a what phase, half in a where
    phase, as in `tables`), whole seeds first."""
    rows = get_space("tables" if n <= 16 else "seeds").trials("paper")
    rows = sorted(rows, key=lambda r: (r["seed"], int(r["experiment"].split("/")[1]), r["experiment"]))[:n]
    if len(rows) < n:
        raise SystemExit(f"pack size {n}: the spaces have only {len(rows)} rows")
    return [TrainConfig.from_flat({**r, "n_train": n_train, "n_test": n_test}) for r in rows]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def kernel_seconds(run, device: torch.device) -> float:
    """CUDA kernel time of one call of `run`, from torch.profiler: the device-side events only (an operator's own
    `self_device_time_total` counts the kernels it launched again: summing every event gave busy fractions near
    twice the truth, 186 % on an H200)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        run()
        sync(device)
    return sum(e.self_device_time_total for e in prof.events() if e.device_type == DeviceType.CUDA) / 1e6


def measure_pack(configs, images, device, precision: str, busy: bool, chunk: int | None) -> dict:
    """One warm-up epoch, one timed epoch (and, for `busy`, one profiled epoch) of a pack."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer = PackedTrainer(configs, images, device, precision=precision, chunk=chunk)
    trainer.run_epoch()
    sync(device)
    rows = trainer.run_epoch()
    sync(device)
    row = next(iter(rows.values()))
    n_train, n_test = configs[0].mosaic.n_train, configs[0].mosaic.n_test
    train_s = n_train / row["mosaics_per_s"]
    out = {
        "n": len(configs),
        "groups": len({(c.mosaic, c.seed) for c in configs}),
        "train_s": train_s,
        "eval_s": row["epoch_s"] - train_s,
        "epoch_s": row["epoch_s"],
        "n_train": n_train,
        "n_test": n_test,
    }
    if busy and device.type == "cuda":
        out["busy"] = kernel_seconds(trainer.run_epoch, device) / row["epoch_s"]
    if device.type == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def measure_unpacked(configs, images, device) -> dict:
    """One StageWiseTrainer per config (table 1 row 1 in a what phase, table 2 row 1 in a where phase), averaged."""
    train_s = eval_s = 0.0
    for config in configs:
        trainer = StageWiseTrainer(config, images, device)
        trainer.run_epoch()
        sync(device)
        row = trainer.run_epoch()
        train_s += config.mosaic.n_train / row["mosaics_per_s"] / len(configs)
        eval_s += (row["epoch_s"] - config.mosaic.n_train / row["mosaics_per_s"]) / len(configs)
    return {
        "n": 1,
        "train_s": train_s,
        "eval_s": eval_s,
        "n_train": configs[0].mosaic.n_train,
        "n_test": configs[0].mosaic.n_test,
    }


def paper_epoch_s(m: dict) -> float:
    """Seconds for one paper-scale epoch of every member of the measured pack (train + test pass)."""
    return m["train_s"] * PAPER_TRAIN / m["n_train"] + m["eval_s"] * PAPER_TEST / m["n_test"]


def final_pass_s(m: dict) -> float:
    """Seconds of one member's final clean pass over its paper-scale training mosaics, at m's evaluation rate."""
    return m["eval_s"] / m["n_test"] / m["n"] * PAPER_TRAIN


def shrinking_pack_s(ends: list[int], pack_epoch) -> float:
    """Seconds of a pack whose members end after `ends` epochs: between two ends it has one member fewer, and an
    epoch of k members costs pack_epoch(k)."""
    total, done = 0.0, 0
    for j, end in enumerate(sorted(ends)):
        total += (end - done) * pack_epoch(len(ends) - j)
        done = end
    return total


def project(space: str, measured: list[dict], unpacked: dict) -> tuple[int, int, float, float, int]:
    """(trials, epochs, unpacked seconds, packed seconds, packs) for a space at paper scale on one device."""
    configs = [TrainConfig.from_flat(t) for t in get_space(space).trials("paper")]
    sizes = [m["n"] for m in measured]
    epoch_s = [paper_epoch_s(m) for m in measured]
    final_per_member = [final_pass_s(m) for m in measured]
    pack_epoch = lambda k: float(np.interp(k, sizes, epoch_s))  # noqa: E731
    packs = plan_packs(configs, max(sizes))
    packed = 0.0
    for pack in packs:
        packed += shrinking_pack_s([configs[i].schedule.epochs for i in pack], pack_epoch)
        packed += len(pack) * float(np.interp(len(pack), sizes, final_per_member))
    epochs = sum(c.schedule.epochs for c in configs)
    unpacked_s = epochs * paper_epoch_s(unpacked) + len(configs) * final_pass_s(unpacked)
    return len(configs), epochs, unpacked_s, packed, len(packs)


def human(seconds: float) -> str:
    if seconds < 10:  # a paper epoch of a pack on a GPU: its tenths size a run
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="folder holding cifar-10-batches-bin (or -py), e.g. ../shared")
    source.add_argument("--synthetic", action="store_true", help="random images (same cost as real ones)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--packs", default=None, help="pack sizes (default 1,4,16,80 on GPU, 1,4,16 on CPU)")
    parser.add_argument("--mosaics", type=int, default=None, help="training mosaics per epoch (GPU 5000, CPU 500)")
    parser.add_argument("--precisions", default=None, help="GPU only (default fp32,tf32,bf16); CPU runs fp32")
    parser.add_argument("--chunk", type=int, default=None, help="members per fused call (PackedTrainer's chunk)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    packs = [int(p) for p in (args.packs or ("1,4,16,80" if gpu else "1,4,16")).split(",")]
    n_train = args.mosaics or (5000 if gpu else 500)
    n_test = max(250, n_train // 3)
    precisions = (args.precisions or "fp32,tf32,bf16").split(",") if gpu else ["fp32"]
    images = synthetic_images() if args.synthetic else load_cifar(Path(args.data_dir))
    threads = f"CPU, {torch.get_num_threads()} threads ({os.cpu_count()} cores)"
    name = torch.cuda.get_device_name(device) if gpu else threads
    print(
        f"device: {name}; torch {torch.__version__}; {'synthetic' if args.synthetic else 'CIFAR-10'} images; "
        f"{n_train} training + {n_test} test mosaics per member and epoch, batch 250, float32; eager only "
        "(no CUDA graphs / torch.compile)"
    )

    unpacked = measure_unpacked(member_configs(2, n_train, n_test), images, device)
    base_rate = unpacked["n_train"] / unpacked["train_s"]
    print(
        f"{'precision':<9} {'pack':>4} {'groups':>6} {'train/s/member':>14} {'train/s/device':>14} "
        f"{'speedup':>7} {'eval/s/device':>13} {'paper epoch':>11} {'GPU busy':>8} {'peak GiB':>8}"
    )
    print(
        f"{'unpacked':<9} {1:>4} {1:>6} {base_rate:>14.0f} {base_rate:>14.0f} {1:>7.2f} "
        f"{unpacked['n_test'] / unpacked['eval_s']:>13.0f} {human(paper_epoch_s(unpacked)):>11} {'-':>8} {'-':>8}"
    )
    results = {}
    for precision in precisions:
        results[precision] = []
        for n in packs:
            try:
                # a pack of 1 is timed like the unpacked baseline: a what-phase and a where-phase member, averaged
                configs = (
                    [[c] for c in member_configs(2, n_train, n_test)]
                    if n == 1
                    else [member_configs(n, n_train, n_test)]
                )
                parts = [measure_pack(c, images, device, precision, gpu, args.chunk) for c in configs]
                m = dict(parts[0])
                for key in {"train_s", "eval_s", "epoch_s", "busy"} & m.keys():
                    m[key] = sum(p[key] for p in parts) / len(parts)
            except torch.OutOfMemoryError:
                print(f"{precision:<9} {n:>4}  out of GPU memory")
                torch.cuda.empty_cache()
                continue
            results[precision].append(m)
            rate = m["n_train"] / m["train_s"]
            busy = f"{m['busy']:.0%}" if "busy" in m else "-"
            peak = f"{m['peak_gib']:.1f}" if "peak_gib" in m else "-"
            print(
                f"{precision:<9} {n:>4} {m['groups']:>6} {rate:>14.0f} {rate * n:>14.0f} "
                f"{rate * n / base_rate:>7.2f} {m['n'] * m['n_test'] / m['eval_s']:>13.0f} "
                f"{human(paper_epoch_s(m)):>11} {busy:>8} {peak:>8}",
                flush=True,
            )

    print("\nprojected wall time at paper scale on this one device (30,000 train + 10,000 test mosaics per epoch):")
    for precision, measured in results.items():
        if not measured:
            continue
        for space in ("tables", "seeds"):
            trials, epochs, alone_s, packed_s, n_packs = project(space, measured, unpacked)
            print(
                f"  {precision:<5} {space:<7} {trials:>3} trials, {epochs:>6} epochs: unpacked one at a time "
                f"{human(alone_s):>8}; packed (at most {max(m['n'] for m in measured)} per pack, {n_packs} packs) "
                f"{human(packed_s):>8}"
            )


if __name__ == "__main__":
    main()
