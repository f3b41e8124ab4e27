"""Replay training from a saved state and follow the WhereNet's last hidden layer (fc3, 10 ReLU units) step by step.

    python benchmarks/where_units.py STATE --epochs 20 --data-dir ../shared [--probe 200] [--out replay.csv]

STATE is a full training state (a checkpoint's state.pt, or a pack member's members/<trial id>.pt; not a published
slim state, which has no optimiser). After every step of the where network's optimiser it records the gradient norm
the step used, the momentum buffer's norm after it, how many fc3 units fire (pre-activation > 0) on at least one
tile of a fixed probe of test mosaics, and the probe's mean alpha on the foreground tile. When no fc3 unit fires on
any tile, every tile scores fc4's bias alone: the alphas are 1/tiles and no gradient reaches the where network
again. That is how Table 1 row 6's where networks died (results/published/README.md); this shows the way there.

The replay is the run's own training (the state's optimisers and shuffling go on): on the machine type that made
the state it follows the original; elsewhere float rounding sends it its own way within a few steps.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainables import StageWiseTrainer, TrainConfig, load_cifar, precision  # noqa: E402
from trainables.cifar import DataError  # noqa: E402
from trainables.nets import WhereNet  # noqa: E402

FIELDS = ("epoch", "step", "grad_norm", "momentum_norm", "live_units", "probe_fg_alpha")


@torch.no_grad()
def fc3_units(where: WhereNet, patches: torch.Tensor, fg_slot: torch.Tensor) -> tuple[int, float]:
    """(fc3 units firing on at least one tile, mean alpha on the foreground tile) of mosaics `patches` (B, S, ...)."""
    hidden = []  # fc3's output (before its ReLU), caught on the network's own forward pass
    hook = where.fc3.register_forward_hook(lambda module, inputs, output: hidden.append(output))
    try:
        _, alphas = where(patches)
    finally:
        hook.remove()
    return int((hidden[0] > 0).any(0).sum()), float(alphas[torch.arange(len(fg_slot)), fg_slot].mean())


def _norm(tensors) -> float:
    """The 2-norm of all `tensors` together; NaN when there are none (an optimiser that keeps no momentum)."""
    squares = [(t.double() ** 2).sum() for t in tensors]
    return float(torch.stack(squares).sum().sqrt()) if squares else math.nan


def probe_units(trainer: StageWiseTrainer, patches: torch.Tensor, fg_slot: torch.Tensor) -> tuple[int, float]:
    """`fc3_units` of the probe at the trainer's precision, as its evaluation runs."""
    with precision.float32_math(trainer.config.precision, trainer.device, trainer.dtype), trainer.autocast():
        return fc3_units(trainer.nets["where"], patches, fg_slot)


def probe_mosaics(trainer: StageWiseTrainer, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` test mosaics' patches and foreground slots: the same probe at every step."""
    test = trainer.sets["test"]
    idx = torch.arange(min(n, len(test)), device=trainer.device)
    return test.patches(idx), test.fg_slot[idx]


def replay(trainer: StageWiseTrainer, epochs: int, probe: int = 200) -> tuple[list[dict], list[dict]]:
    """Train `epochs` more epochs; return (a row per where step, the trainer's epoch rows)."""
    where, optimizer = trainer.nets["where"], trainer.optimizers["where"]
    patches, fg_slot = probe_mosaics(trainer, probe)
    steps: list[dict] = []
    real_step = optimizer.step

    def step(*args, **kwargs):
        grad = _norm(p.grad for p in where.parameters() if p.grad is not None)
        out = real_step(*args, **kwargs)
        buffers = (optimizer.state.get(p, {}).get("momentum_buffer") for p in where.parameters())
        live, alpha = probe_units(trainer, patches, fg_slot)
        steps.append(
            {
                "epoch": trainer.epoch + 1,
                "step": len(steps) + 1,
                "grad_norm": grad,
                "momentum_norm": _norm(b for b in buffers if b is not None),
                "live_units": live,
                "probe_fg_alpha": alpha,
            }
        )
        return out

    own = vars(optimizer).get("step")  # a wrapper some library set on this instance, if any
    optimizer.step = step  # an instance attribute: the optimiser itself, and its state_dict, stay as they were
    try:
        rows = [trainer.run_epoch() for _ in range(epochs) if not trainer.done]
    finally:
        if own is None:
            del optimizer.step
        else:
            optimizer.step = own
    return steps, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("state", help="a full training state file (state.pt)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--no-verify", action="store_true", help="skip the CIFAR-10 md5 check")
    parser.add_argument("--probe", type=int, default=200, help="test mosaics the units are counted on")
    parser.add_argument("--out", help="write a CSV row per where step here")
    args = parser.parse_args(argv)
    for flag, value in (("--epochs", args.epochs), ("--probe", args.probe)):
        if value < 1:
            parser.error(f"{flag}: must be a positive integer, got {value}")

    try:
        state = torch.load(args.state, map_location="cpu", weights_only=True)
    except Exception as exc:  # missing, truncated or not a torch file: one line, not a traceback
        parser.error(f"cannot read training state {args.state}: {str(exc).splitlines()[0]}")
    if not state.get("optimizers"):
        parser.error(f"{args.state} has no optimiser state (a published slim state?): replay needs a full one")
    try:
        images = load_cifar(args.data_dir, verify=not args.no_verify)
    except DataError as exc:
        parser.error(str(exc))
    trainer = StageWiseTrainer(TrainConfig.from_flat(state["config"]), images)
    trainer.load_state_dict(state)
    live, alpha = probe_units(trainer, *probe_mosaics(trainer, args.probe))
    print(f"epoch {trainer.epoch}: {live} fc3 units firing, probe foreground alpha {alpha:.4f}")
    steps, rows = replay(trainer, args.epochs, args.probe)
    for row in rows:
        mine = [s for s in steps if s["epoch"] == row["epoch"]]
        line = (
            f"epoch {row['epoch']} ({row['phase']}): running train loss {row['train_loss']:.3f}, test acc "
            f"{row['test_acc']:.3f}, test fg alpha {row['test_fg_alpha']:.4f}"
        )
        if mine:  # a where epoch
            units = [s["live_units"] for s in mine]
            line += f"; fc3 units firing {min(units)}-{max(units)}, {units[-1]} at its end; largest gradient "
            line += f"{max(s['grad_norm'] for s in mine):.3f}"
        print(line)
    if args.out:
        with open(args.out, "w", newline="") as out:
            writer = csv.DictWriter(out, FIELDS)
            writer.writeheader()
            writer.writerows(steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
