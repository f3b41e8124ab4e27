"""Replay a recorded trial's first epochs with the code as it is now: are its numbers still the run's, and how long
does an epoch take here?

    python benchmarks/replay_run.py RUN [--experiment table2/2] [--epochs 20] [--data-dir DIR] [--no-verify]

RUN is a run folder (results/<run>, or a published copy: results/published/<run>). Its trials.parquet gives the
trial's configuration (the first trial, or the first of --experiment), its epochs/ the recorded metrics: every epoch,
or a published copy's phase ends. The trial trains here from scratch on the CPU, without Ray, for --epochs epochs;
every recorded value of those epochs must equal the replay's exactly (float32 on this kind of CPU is deterministic),
and each epoch's time is printed beside the recorded one, then the median per phase and the peak memory. Exit 0 when
every value is equal, 1 when one differs (each named), 2 when the run folder or CIFAR-10 cannot be read.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys

import pandas as pd
import torch

from orchestrator import load_run
from orchestrator.errors import UsageError
from trainables import DataError, StageWiseTrainer, TrainConfig, load_cifar
from trainables.host_memory import keep_freed_memory

TIMING = ("epoch_s", "mosaics_per_s")


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def recorded_trial(run: str, experiment: str | None) -> tuple[TrainConfig, pd.DataFrame]:
    """The configuration of the run's first trial (of `experiment`) and its recorded epochs, by epoch."""
    trials, epochs = load_run(run)
    if experiment is not None:
        trials = trials[trials["experiment"] == experiment]
    if trials.empty:
        raise ValueError(f"{run} has no trial{f' of {experiment}' if experiment else ''}")
    trial = trials.iloc[0]
    flat = {k: v for k, v in trial.items() if not (isinstance(v, float) and math.isnan(v))}
    epochs = epochs[epochs["trial_id"] == trial["trial_id"]].set_index("epoch")
    if epochs.empty:
        raise ValueError(f"{run}: trial {trial['trial_id']} has no recorded epochs")
    return TrainConfig.from_flat(flat), epochs


def differences(row: dict, recorded: pd.Series) -> list[str]:
    """The replay's values that are not the recorded ones, as 'name replay != recorded'."""
    return [
        f"{k} {row[k]!r} != {recorded[k]!r}"
        for k in row
        if k not in TIMING and k != "epoch" and k in recorded.index and not same(row[k], recorded[k])
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run folder: trials.parquet and epochs/")
    parser.add_argument("--experiment", help="replay this experiment's trial (default: the first trial)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--no-verify", action="store_true", help="skip the CIFAR-10 md5 check")
    args = parser.parse_args(argv)
    try:
        config, recorded = recorded_trial(args.run, args.experiment)
        images = load_cifar(args.data_dir, verify=not args.no_verify)
    except (OSError, ValueError, DataError, UsageError) as error:  # pyarrow's errors are OSError or ValueError
        print(f"replay_run: {error}", file=sys.stderr)
        return 2

    keep_freed_memory()  # as a trial does
    trainer = StageWiseTrainer(config, images, "cpu")
    print(
        f"replaying {args.run}: {config.schedule.order}, k {config.schedule.k}, seed {config.seed}; "
        f"{torch.get_num_threads()} PyTorch threads"
    )
    print("epoch phase  recorded_s  replay_s  values")
    times: dict[str, list[tuple[float, float]]] = {}
    compared = differing = 0
    while trainer.epoch < args.epochs and not trainer.done:
        row = trainer.run_epoch()
        epoch = row["epoch"]
        if epoch not in recorded.index:
            print(f"{epoch:5d} {row['phase']:>5} {'-':>11} {row['epoch_s']:9.1f}  not recorded")
            continue
        before = recorded.loc[epoch]
        diff = differences(row, before)
        compared, differing = compared + 1, differing + bool(diff)
        times.setdefault(row["phase"], []).append((before["epoch_s"], row["epoch_s"]))
        verdict = "equal" if not diff else "DIFFER: " + "; ".join(diff)
        print(f"{epoch:5d} {row['phase']:>5} {before['epoch_s']:11.1f} {row['epoch_s']:9.1f}  {verdict}")
    for phase, pairs in times.items():
        then, now = (statistics.median(p) for p in zip(*pairs, strict=True))
        print(f"median {phase} epoch: recorded {then:.1f} s, replay {now:.1f} s ({then / now:.2f}x)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{compared - differing} of {compared} recorded epochs equal; peak memory of this process {peak:,.0f} MiB")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
