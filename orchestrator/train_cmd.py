"""`mosaic-sweep train`: one configuration, in this process, without Ray."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from trainables import StageWiseTrainer, StateMismatch, TrainConfig
from trainables.config import FLAT_FIELDS
from trainables.host_memory import keep_freed_memory
from trainables.metrics import FOCUS, FOCUS_NAMES, PASSES

from .cli_args import add_data_flags, load_images
from .errors import RunFailed, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one configuration here, without Ray",
        description="Train one configuration in this process and print its final metrics.",
    )
    defaults = TrainConfig().to_flat()
    # One flag per flat config key, typed and documented where the key is defined. None when not given: a flag left
    # out takes the default, or the value in the --state file being continued.
    for f in FLAT_FIELDS:
        flag = "--" + f.name.replace("_", "-")
        if f.kind is bool:
            p.add_argument(flag, dest=f.name, action="store_true", default=None, help=f.help)
        else:
            p.add_argument(flag, dest=f.name, type=f.kind, default=None, help=f"{f.help} (default: {defaults[f.name]})")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    add_data_flags(p)
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        help="save the full training state here after every epoch; resume from it if it exists (settings not "
        "given as flags are the file's own: a copy of a run's checkpoint goes on with no other flag)",
    )
    p.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    state = read_state(args.state) if args.state is not None and args.state.exists() else None
    given = {f.name: getattr(args, f.name) for f in FLAT_FIELDS if getattr(args, f.name) is not None}
    try:
        config = TrainConfig.from_flat({**(state["config"] if state else {}), **given})
    except ValueError as exc:
        raise UsageError(f"invalid configuration: {exc}") from None
    images = load_images(args.data_dir, args.download, verify=not args.no_verify)
    keep_freed_memory()  # the command only trains from here on: its batches may keep the heap
    trainer = StageWiseTrainer(config, images, args.device)
    if state is not None:
        try:
            trainer.load_state_dict(state)
        except StateMismatch as exc:
            raise UsageError(f"cannot resume from {args.state}: {exc}") from None
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a part missing or of the wrong shape
            raise unreadable(args.state, f"the file is not a whole training state ({type(exc).__name__})") from None
    bar = tqdm(total=config.schedule.epochs, initial=trainer.epoch, unit="epoch", dynamic_ncols=True)
    row = trainer.history[-1] if trainer.history else {}
    for row in trainer.epochs():
        bar.update(1)
        bar.set_postfix(
            phase=row["phase"], train_acc=f"{row['train_acc']:.3f}", test_acc=f"{row.get('test_acc', math.nan):.3f}"
        )
        if args.state is not None:
            trainer.save(args.state)
    bar.close()
    if args.json:
        print(json.dumps({**config.to_flat(), **row, "device": str(trainer.device)}))
    else:
        print(format_metrics(row, str(trainer.device)))
    if row.get("outcome") == "diverged":
        raise RunFailed(
            f"training diverged at epoch {row['epoch']} (non-finite loss); lower the learning rates", code=3
        )
    return 0


def read_state(path: Path) -> dict:
    """A training state file (StageWiseTrainer's format), or a one-line UsageError."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or corrupt: torch and pickle raise many kinds
        raise unreadable(path, f"the file is unreadable ({type(exc).__name__})") from None
    if not (isinstance(state, dict) and isinstance(state.get("config"), dict)):
        raise unreadable(path, "the file holds no training state")
    return state


def unreadable(path: Path, problem: str) -> UsageError:
    return UsageError(
        f"cannot resume from {path}: {problem}; it was not written whole (a crash of an older version?) or is not "
        f"a training state: delete it to start over"
    )


def format_metrics(row: dict, device: str) -> str:
    lines = [f"outcome {row.get('outcome')} after {row.get('epoch')} epochs on {device}"]
    for prefix in PASSES:
        if f"{prefix}acc" not in row:
            continue
        focus = " ".join(f"{FOCUS_NAMES[f]} {row[prefix + f]:.3f}" for f in FOCUS)
        lines.append(
            f"{prefix[:-1]:<12} acc {row[prefix + 'acc']:.4f}  loss {row[prefix + 'loss']:.4f}  {focus}  "
            f"alpha>=0.5 {row[prefix + 'alpha_ge_half']:.3f}"
        )
    return "\n".join(lines)
