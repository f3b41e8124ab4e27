"""`mosaic-sweep train`: one configuration, in this process, without Ray."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from trainables import StageWiseTrainer, TrainConfig, load_cifar

from .errors import UsageError

# Flat config keys -> (type, help). Defaults come from TrainConfig() so there is one source of truth.
CONFIG_FLAGS = {
    "order": (str, "what_first | where_first | simultaneous"),
    "k": (int, "epochs per phase"),
    "epochs": (int, "total epochs (a multiple of 2k)"),
    "what_lr": (float, "what network learning rate"),
    "where_lr": (float, "where network learning rate"),
    "optimizer": (str, "sgd (momentum 0.9) | rmsprop"),
    "momentum": (float, "SGD momentum"),
    "batch_size": (int, "mosaics per batch"),
    "n_train": (int, "training mosaics"),
    "n_test": (int, "test mosaics"),
    "n_val": (int, "validation mosaics (needed by --plateau)"),
    "grid": (int, "mosaic is grid x grid CIFAR images"),
    "protocol": (str, "paper (test mosaics from the training split) | heldout (from the test split)"),
    "foreground": (str, "comma-separated foreground classes"),
    "data_seed": (int, "seed of the mosaic draw"),
    "seed": (int, "seed of weight init and batch order"),
    "dtype": (str, "float32 | float64 (strict parity with the original)"),
    "stop_train_loss": (float, "stop once the training loss is at or below this"),
}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one configuration here, without Ray",
                       description="Train one configuration in this process and print its final metrics.")
    defaults = TrainConfig().to_flat()
    for key, (kind, text) in CONFIG_FLAGS.items():
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=defaults[key],
                       help=f"{text} (default: {defaults[key]})")
    p.add_argument("--plateau", action="store_true", help="ReduceLROnPlateau on validation loss, per network")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    add_data_flags(p)
    p.add_argument("--state", type=Path, default=None,
                   help="save the full training state here after every epoch; resume from it if it exists")
    p.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    p.set_defaults(func=run_train)


def add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="CIFAR-10 folder (default: $MOSAIC_SWEEP_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="let torchvision download cifar-10-batches-py")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the md5 check of the CIFAR files (for CIFAR-format data that is not the official copy)")


def load_images(args: argparse.Namespace):
    return load_cifar(args.data_dir, download=args.download, verify=not args.no_verify)


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    flat = {key: getattr(args, key) for key in CONFIG_FLAGS}
    flat["plateau"] = args.plateau
    try:
        config = TrainConfig.from_flat(flat)
    except ValueError as exc:
        raise UsageError(f"invalid configuration: {exc}") from None
    images = load_images(args)
    trainer = StageWiseTrainer(config, images, args.device)
    if args.state is not None and args.state.exists():
        trainer.load(args.state)
    bar = tqdm(total=config.schedule.epochs, initial=trainer.epoch, unit="epoch", dynamic_ncols=True)
    row = trainer.history[-1] if trainer.history else {}
    for row in trainer.epochs():
        bar.update(1)
        bar.set_postfix(phase=row["phase"], train_acc=f"{row['train_acc']:.3f}",
                        test_acc=f"{row.get('test_acc', math.nan):.3f}")
        if args.state is not None:
            trainer.save(args.state)
    bar.close()
    if args.json:
        print(json.dumps({**config.to_flat(), **row, "device": str(trainer.device)}))
    else:
        print(format_metrics(row, str(trainer.device)))
    if row.get("outcome") == "diverged":
        raise UsageError(f"training diverged at epoch {row['epoch']} (non-finite loss); lower the learning rates",
                         code=3)
    return 0


def format_metrics(row: dict, device: str) -> str:
    lines = [f"outcome {row.get('outcome')} after {row.get('epoch')} epochs on {device}"]
    for prefix in ("train_", "test_", "val_", "final_train_"):
        if f"{prefix}acc" not in row:
            continue
        lines.append(
            f"{prefix[:-1]:<12} acc {row[prefix + 'acc']:.4f}  loss {row[prefix + 'loss']:.4f}  "
            f"FTPT {row[prefix + 'ftpt']:.3f} FFPT {row[prefix + 'ffpt']:.3f} FTPF {row[prefix + 'ftpf']:.3f} "
            f"FFPF {row[prefix + 'ffpf']:.3f}  alpha>=0.5 {row[prefix + 'alpha_ge_half']:.3f}"
        )
    return "\n".join(lines)
