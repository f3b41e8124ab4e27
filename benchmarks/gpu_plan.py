"""Which paper-scale rows still to publish fit in a GPU call, from the throughput that gpu_probe.sh just measured.

    python benchmarks/gpu_plan.py THROUGHPUT_TXT --window SECONDS [--space tables] [--only 'table1/*']
                                  [--precision fp32]

A lent GPU machine is held while this runs (README of results/published, "Adding a run"): it reads call 1's
throughput.txt (benchmarks/gpu_throughput.py's table), leaves out the trials (row and seed) results/published/ already
holds, sorts the rest by epochs and prints, for each epoch cut-off, the trials up to it and the seconds they take one
unpacked trial after another, two unpacked trials at a time on the GPU (`--gpus-per-trial 0.5`) and as one pack
(Tune's overhead and the start included, below), with the `--only` (for `--space seeds`, also `--seeds N
--first-seed S`), `--pack` and `--gpus-per-trial` to give gpu_session.sh: the last line marked `fits` is the run to
start.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpu_throughput import final_pass_s, paper_epoch_s, shrinking_pack_s  # noqa: E402

from search_spaces import get_space  # noqa: E402

TUNE_OVERHEAD = 1.10  # an unpacked paper trial ran 0.60 s an epoch through Tune against the benchmark's 0.54 (H200)
# Seconds of the sweep outside the trials' epochs: Ray, CIFAR-10 and the final table once, a trial's process and
# mosaics each (Table 1 rows 4 and 5 on the H200: a 422-s sweep of two trials with 398 s of trial time).
SWEEP_START_S, TRIAL_START_S = 30.0, 3.0
# Two unpacked trials sharing the GPU (--gpus-per-trial 0.5) each ran 1.09x their epoch time alone through Tune:
# Table 1 and 2 row 7 on the H200, 600 epochs in 388 and 382 s (0.65 s an epoch, against 0.60 alone), 1,200 epochs in
# a 411-s sweep. Three at a time (--gpus-per-trial 0.33, Table 1 row 6 seeds 2-4) gave no more: 1,414 epochs in
# a 474-s sweep, 3.0 an s against two's 2.9, so the plan goes no further than two.
SHARED_SLOWDOWN = 1.09


def read_throughput(text: str, precision: str) -> tuple[dict, list[dict]]:
    """(unpacked, packs) measurements of gpu_throughput.py's table: seconds of training and evaluation per epoch of
    the benchmark's size, per pack size, for one precision."""
    size = re.search(r"(\d+) training \+ (\d+) test mosaics", text)
    if size is None:
        raise ValueError("not gpu_throughput.py output: no 'N training + M test mosaics' line")
    n_train, n_test = int(size[1]), int(size[2])
    unpacked, packs = None, []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 7 or not f[1].isdigit() or f[0] not in ("unpacked", precision):
            continue
        n, rate, evals = int(f[1]), float(f[3]), float(f[6])
        m = {"n": n, "train_s": n_train / rate, "eval_s": n * n_test / evals, "n_train": n_train, "n_test": n_test}
        if f[0] == "unpacked":
            unpacked = m
        else:
            packs.append(m)
    if unpacked is None or not packs:
        raise ValueError(f"no unpacked line or no {precision} packs in the throughput table")
    return unpacked, sorted(packs, key=lambda m: m["n"])


def unpacked_s(epochs: list[int], unpacked: dict) -> float:
    """One trial after another: every epoch, each trial's final clean pass and start."""
    per_trial = final_pass_s(unpacked) + TRIAL_START_S
    return SWEEP_START_S + sum(e * paper_epoch_s(unpacked) * TUNE_OVERHEAD + per_trial for e in epochs)


def paired_s(epochs: list[int], unpacked: dict) -> float:
    """Two trials at a time in the given order (Tune starts them so): SHARED_SLOWDOWN of their speed alone while both
    run, full speed for the last one once it runs alone."""
    per_trial = final_pass_s(unpacked) + TRIAL_START_S
    queue = [e * paper_epoch_s(unpacked) * TUNE_OVERHEAD + per_trial for e in epochs]  # seconds of work, alone
    running: list[float] = []
    elapsed = SWEEP_START_S
    while queue or running:
        while queue and len(running) < 2:
            running.append(queue.pop(0))
        rate = 1 / SHARED_SLOWDOWN if len(running) == 2 else 1.0
        step = min(running)  # until the first of them ends
        elapsed += step / rate
        running = [w - step for w in running if w - step > 1e-9]
    return elapsed


def packed_s(epochs: list[int], packs: list[dict]) -> float:
    """One pack that shrinks as its members end, priced at the measured epoch time of its size (interpolated)."""
    sizes, epoch_s = [m["n"] for m in packs], [paper_epoch_s(m) for m in packs]
    final = float(np.interp(len(epochs), sizes, [final_pass_s(m) for m in packs]))
    pack_epoch = lambda k: float(np.interp(k, sizes, epoch_s)) * TUNE_OVERHEAD  # noqa: E731
    return SWEEP_START_S + TRIAL_START_S + len(epochs) * final + shrinking_pack_s(epochs, pack_epoch)


def plan(rows: list[dict], unpacked: dict, packs: list[dict], window: float, several_seeds: bool = False) -> list[dict]:
    """Per epoch cut-off: the rows up to it, the three timings, the fastest way (`pack`, `gpus_per_trial`) and
    whether it fits in `window`."""
    out = []
    for cut in sorted({r["epochs"] for r in rows}):
        chosen = [r for r in rows if r["epochs"] <= cut]  # in the space's order, as Tune starts them
        epochs = [r["epochs"] for r in chosen]
        ways = [  # (--pack, --gpus-per-trial, seconds); ties go to the first, the plainest
            ("1", "1", unpacked_s(epochs, unpacked)),
            ("1", "0.5", paired_s(epochs, unpacked)),
            (str(len(chosen)), "1", packed_s(epochs, packs)),
        ]
        pack, gpus, best = min(ways, key=lambda way: way[2])
        out.append(
            {
                "rows": [r["experiment"] for r in chosen],
                "flags": run_flags(chosen, several_seeds),
                "unpacked_s": ways[0][2],
                "paired_s": ways[1][2],
                "packed_s": ways[2][2],
                "pack": pack,
                "gpus_per_trial": gpus,
                "fits": best <= window,
            }
        )
    return out


def run_flags(rows: list[dict], several_seeds: bool = False) -> str:
    """The `--only` that runs `rows` and, for a space of several seeds (`seeds`) or beyond seed 0, the `--seeds N
    --first-seed S` when every row wants the same seeds; else the seeds each row wants, for the run to be split by
    hand."""
    seeds: dict[str, list[int]] = {}
    for r in rows:
        seeds.setdefault(r["experiment"], []).append(int(r.get("seed", 0)))
    flags = f"--only {','.join(seeds)}"
    wanted = {tuple(sorted(s)) for s in seeds.values()}
    if wanted == {(0,)} and not several_seeds:
        return flags
    if len(wanted) == 1:
        (same,) = wanted
        if same == tuple(range(same[0], same[0] + len(same))):
            return f"{flags} --seeds {len(same)} --first-seed {same[0]}"
    return f"{flags} (seeds differ: {'; '.join(f'{e} {sorted(s)}' for e, s in seeds.items())})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("throughput", type=Path, help="throughput.txt of gpu_probe.sh (or gpu_throughput.py)")
    parser.add_argument("--window", type=float, required=True, help="seconds the run may take (its --time-limit)")
    parser.add_argument("--space", default="tables")
    parser.add_argument("--only", default="*", help="comma-separated label patterns, as run's --only")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root")
    args = parser.parse_args(argv)
    try:
        unpacked, packs = read_throughput(args.throughput.read_text(), args.precision)
    except (OSError, ValueError) as exc:
        print(f"gpu_plan: error: {exc}", file=sys.stderr)
        return 2
    from orchestrator.published import finished_seeds, published_summary

    done: set[tuple[str, int]] = set()  # (experiment, seed) of every finished published trial
    if (args.root / "results" / "published").is_dir():
        done = finished_seeds(published_summary(args.root)[0])
    trials = get_space(args.space).subset(args.only.split(",")).trials("paper")
    if not trials:
        print(f"gpu_plan: error: --only {args.only!r} matches no experiment of {args.space}", file=sys.stderr)
        return 2
    rows = [r for r in trials if (r["experiment"], int(r.get("seed", 0))) not in done]
    print(
        f"published already: {len(done)} trials ({', '.join(sorted({e for e, _ in done})) or 'none'}); "
        f"window {args.window:.0f} s"
    )
    if not rows:
        more = " (more seeds: --space seeds)" if args.space != "seeds" else ""
        print(f"nothing left to run: every trial of {args.space} --only {args.only} is published{more}")
        return 0
    several_seeds = len({r.get("seed", 0) for r in trials}) > 1
    for p in plan(rows, unpacked, packs, args.window, several_seeds):
        mark = "fits" if p["fits"] else "    "
        print(
            f"{mark} {len(p['rows']):2d} trials: unpacked {p['unpacked_s']:5.0f} s, two at a time "
            f"{p['paired_s']:5.0f} s, packed {p['packed_s']:5.0f} s  {p['flags']} --pack {p['pack']}"
            + (f" --gpus-per-trial {p['gpus_per_trial']}" if p["gpus_per_trial"] != "1" else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
