"""Training throughput of the engine against the write-up's code path, same data, same process.

    python benchmarks/engine_vs_writeup.py [--data-dir DIR] [--mosaics 2000] [--device cpu]

Each path trains one what-phase epoch and one where-phase epoch on the same mosaics; we print training
mosaics/s (evaluation excluded) and the ratio. Targets on 2 CPU cores: >= 8x at float32, >= 1x at float64.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from writeup import Module1, Module2, writeup_epoch, writeup_loader  # benchmarks/writeup.py, beside this script

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, TrainConfig, load_cifar
from trainables.mosaics import build_mosaic_sets, normalise


def engine_rate(images, n: int, dtype: str, device: str) -> float:
    config = TrainConfig(
        mosaic=MosaicSpec(n_train=n, n_test=1), schedule=StageSchedule("what_first", 1, 2), dtype=dtype
    )
    trainer = StageWiseTrainer(config, images, device)
    seconds = 0.0
    for _ in range(2):  # what epoch, then where epoch; each row's rate covers its training pass only
        seconds += n / trainer.run_epoch()["mosaics_per_s"]
    return 2 * n / seconds


def writeup_rate(images, n: int, device: str) -> float:
    mosaics = build_mosaic_sets(MosaicSpec(n_train=n, n_test=1), images)["train"]
    pixels = torch.as_tensor(images.train_images)[torch.from_numpy(mosaics.slots)]
    loader = writeup_loader(
        normalise(pixels, torch.float64), torch.from_numpy(mosaics.label), torch.from_numpy(mosaics.fg_slot)
    )
    torch.manual_seed(0)
    where, what = Module1().double().to(device), Module2().double().to(device)
    opt_where = torch.optim.SGD(where.parameters(), lr=0.01, momentum=0.9)
    opt_what = torch.optim.SGD(what.parameters(), lr=0.01, momentum=0.9)
    start = time.perf_counter()
    seen = writeup_epoch(where, what, loader, False, opt_where, opt_what, device)
    seen += writeup_epoch(where, what, loader, True, opt_where, opt_what, device)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MOSAIC_SWEEP_DATA") or Path(__file__).resolve().parents[1] / "../shared"
    parser.add_argument("--data-dir", default=str(default))
    parser.add_argument("--mosaics", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    images = load_cifar(args.data_dir)
    print(
        f"device={args.device} threads={torch.get_num_threads()} torch={torch.__version__} "
        f"mosaics/epoch={args.mosaics}, one what epoch + one where epoch"
    )
    base = writeup_rate(images, args.mosaics, args.device)
    print(f"{'write-up path (float64, 9-slot loop, DataLoader)':<52} {base:9.1f} mosaics/s   1.00x")
    for dtype in ("float64", "float32"):
        rate = engine_rate(images, args.mosaics, dtype, args.device)
        print(f"{'engine ' + dtype:<52} {rate:9.1f} mosaics/s {rate / base:6.2f}x")


if __name__ == "__main__":
    main()
