"""How to share a CPU machine's cores between trials: paper-scale epochs per hour for each layout.

    python benchmarks/cpu_layout.py --data-dir ../shared [--layouts 1x2,2x1] [--mosaics 30000] [--no-verify]

A layout PxT runs P trials side by side with T PyTorch threads each: `run --num-cpus P*T --cpus-per-trial T`, P
trials at once. Each trial is a process of its own, as under Ray, training Table 2 row 1's paper configuration (a
where phase first) or Table 1 row 1's (a what phase first) on --mosaics training mosaics and a third as many test
mosaics (the paper's ratio). Each trains one warm-up epoch (which, in a what phase, also computes the frozen
WhereNet's outputs once), waits until all P are ready, and times its second epoch, so the P timed epochs overlap.
Printed per layout and phase: each trial's epoch scaled to paper size (x 30,000 / --mosaics) and the machine's
paper-scale epochs per hour, P x 3600 / the mean scaled epoch. Exit 2 when CIFAR-10 cannot be read.
Measure at paper size (the default): on the 2-core machine 3,000 mosaics scaled up ranked the layouts the other
way round from trials at paper size under Ray (README, Benchmarks).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch

from search_spaces import get_space
from trainables import DataError, StageWiseTrainer, TrainConfig, load_cifar
from trainables.host_memory import keep_freed_memory

PAPER_TRAIN = 30_000
PHASE_ROWS = {"where": "table2/1", "what": "table1/1"}  # paper configurations whose first phase is that one (k = 5)


def paper_config(phase: str, mosaics: int) -> TrainConfig:
    table = PHASE_ROWS[phase].split("/")[0]
    (row,) = [r for r in get_space(table).trials("paper") if r["experiment"] == PHASE_ROWS[phase]]
    return TrainConfig.from_flat({**row, "n_train": mosaics, "n_test": max(1, mosaics // 3)})


def worker(args) -> int:
    """One trial: warm up, say 'ready', wait for 'go' on stdin, time one epoch, print its seconds as JSON."""
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as a trial does
    try:
        images = load_cifar(args.data_dir, verify=not args.no_verify)
    except (OSError, DataError) as error:
        print(f"cpu_layout: {error}", file=sys.stderr)
        return 2
    trainer = StageWiseTrainer(paper_config(args.phase, args.mosaics), images, "cpu")
    trainer.run_epoch()
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()  # the wall clock, comparable between the workers
    row = trainer.run_epoch()
    print(json.dumps({"start": start, "end": time.time(), "phase": row["phase"]}), flush=True)
    return 0


def measure(layout: tuple[int, int], phase: str, args) -> list[dict]:
    """The timed epochs of P trials of T threads, started together: each one's start and end (s since the epoch)."""
    processes, threads = layout
    command = [sys.executable, __file__, "--worker", "--threads", str(threads), "--phase", phase]
    command += ["--mosaics", str(args.mosaics), "--data-dir", args.data_dir] + ["--no-verify"] * args.no_verify
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    workers = [subprocess.Popen(command, **pipes) for _ in range(processes)]
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise SystemExit(w.wait())  # the worker printed why
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [json.loads(w.stdout.readline()) for w in workers]
    finally:  # once the results are read, or a worker failed and left the others waiting for 'go'
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait()
    assert all(r["phase"] == phase for r in results), results  # the timed epoch is in the phase it is named for
    return results


def parse_layout(text: str) -> tuple[int, int]:
    try:
        processes, threads = (int(n) for n in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"layout {text!r} is not PxT (trials x threads), e.g. 2x1") from None
    if processes < 1 or threads < 1:
        raise argparse.ArgumentTypeError(f"layout {text!r}: trials and threads must be at least 1")
    return processes, threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", type=lambda s: [parse_layout(t) for t in s.split(",")], default="1x2,2x1")
    parser.add_argument("--phases", default="where,what", help="comma-separated: where, what")
    parser.add_argument("--mosaics", type=int, default=PAPER_TRAIN, help="training mosaics a trial")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--no-verify", action="store_true", help="skip the CIFAR-10 md5 check")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=sorted(PHASE_ROWS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    phases = args.phases.split(",")
    if unknown := set(phases) - set(PHASE_ROWS):
        parser.error(f"unknown phase {sorted(unknown)[0]!r} (choose from where, what)")

    scale = PAPER_TRAIN / args.mosaics
    print(f"{args.mosaics} training mosaics a trial, epochs scaled to the paper's {PAPER_TRAIN:,}")
    print("layout  phase  paper epoch of each trial (s)  paper epochs per hour")
    for layout in args.layouts:
        for phase in phases:
            seconds = [(r["end"] - r["start"]) * scale for r in measure(layout, phase, args)]
            per_hour = len(seconds) * 3600 / statistics.mean(seconds)
            each = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"{layout[0]}x{layout[1]:<4} {phase:>5}  {each:>29}  {per_hour:21.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
