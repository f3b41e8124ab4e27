"""`mosaic-sweep run SPACE`: the flags of a sweep (orchestrator/sweep.py runs it)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from search_spaces import REGISTRY, SCALES

from .api import sweep_request
from .cli_args import add_data_flags, non_negative_float, non_negative_int, positive_float, positive_int
from .sweep import SweepRequest, run_sweep


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a search space as Ray Tune trials",
        description="Run every trial of a search space on Ray Tune; results go to "
        "RESULTS_DIR/NAME as Parquet (epochs/ and trials.parquet).",
    )
    p.add_argument("space", help=f"one of: {', '.join(REGISTRY)}; or a YAML space file (see `mosaic-sweep show`)")
    p.add_argument(
        "--scale",
        choices=list(SCALES),
        default=None,
        help="; ".join(f"{s.name}: {s.description}" for s in SCALES.values())
        + " (default: paper; with --resume, the run's own)",
    )
    p.add_argument(
        "--only",
        default=None,
        metavar="PATTERNS",
        help="run only these experiments: comma-separated labels or globs, e.g. 'table1/3,table2/*'",
    )
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=None,
        help="seeds per experiment (data and init); default: the space's own (1, or 5 for 'seeds')",
    )
    p.add_argument(
        "--first-seed",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="number the seeds from N (default 0): a new run adds seeds N.. to experiments run before (the report "
        "combines runs and flags a seed that appears twice)",
    )
    add_data_flags(p)
    p.add_argument(
        "--results-dir",
        "--storage",
        dest="results_dir",
        default="results",
        help="folder or URI (s3://..., gs://...) holding runs; on a multi-node cluster every node must "
        "reach it (NFS path or object store) (default: results)",
    )
    p.add_argument("--name", default=None, help="run name (default: SPACE-SCALE)")
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join: 'auto' or HOST:PORT (default: $RAY_ADDRESS, else start Ray here)",
    )
    p.add_argument("--num-cpus", type=positive_int, default=None, help="CPUs of the embedded local Ray")
    p.add_argument(
        "--dashboard-host",
        default="127.0.0.1",
        help="interface the embedded Ray's dashboard binds (default 127.0.0.1; 0.0.0.0 exposes it, and "
        "anyone who reaches it can run code on this machine)",
    )
    p.add_argument(
        "--gpus-per-trial",
        type=non_negative_float,
        default=None,
        help="GPUs per trial, fractions pack trials on a GPU (default: 1 if the cluster has GPUs, else 0; with "
        "--resume the run's own, or 0 where the embedded Ray has no GPU)",
    )
    p.add_argument(
        "--cpus-per-trial",
        type=positive_float,
        default=None,
        help="CPUs per trial, and the threads PyTorch uses in it (default: 1; with --resume the run's own)",
    )
    p.add_argument("--max-concurrent", type=positive_int, default=None, help="at most this many trials at once")
    p.add_argument(
        "--max-failures",
        type=non_negative_int,
        default=None,
        help="retries of a failed trial, each from its last checkpoint (default: 2; a resumed run keeps its own)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=5,
        help="save a trial's full state every N epochs, and always at its end (default: 5)",
    )
    p.add_argument(
        "--keep-phase-ends",
        action="store_true",
        default=None,
        help="keep each trial's full state at the end of every phase, besides its newest checkpoints "
        "(tune/<trial>/checkpoint_*/, each with history.json up to its epoch; `mosaic-sweep train --state` "
        "goes on from one), e.g. to replay a phase switch; about 1.5 MB a state at paper scale (default: "
        "off: the last two only; with --resume the run's own)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_assignment,
        metavar="KEY=VALUE",
        help="set a config key on every trial (after --scale), e.g. --set what_lr=0.05 --set dtype=float64; "
        "repeatable; keys as `mosaic-sweep train --help` lists them",
    )
    p.add_argument(
        "--pack",
        type=pack_option,
        default=None,
        metavar="N|auto",
        help="configurations trained together in one Ray trial (one fused forward/backward per batch on one GPU): "
        "auto (default; with --resume the run's own) packs a run's configurations over the cluster's GPUs (1 "
        "when that gives fewer than 5 per GPU slot), and means 1 on CPU; 1 turns it off",
    )
    p.add_argument(
        "--precision",
        choices=["fp32", "tf32", "bf16"],
        default=None,
        help="float32 math on CUDA GPUs: fp32 (strict, the default), tf32, bf16 autocast; recorded per row; "
        "the same as --set precision=...",
    )
    p.add_argument(
        "--logger",
        choices=["wandb", "mlflow"],
        default=None,
        help="also log every trial to Weights & Biases or MLflow through Ray Tune's integration (optional extras: "
        "pip install 'mosaic-sweep[wandb]' or '[mlflow]'; settings from WANDB_* / MLFLOW_TRACKING_URI)",
    )
    p.add_argument("--resume", action="store_true", help="continue the interrupted run NAME")
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="stop gracefully SECONDS after the sweep started (a few seconds after the command: Python's imports), "
        "as Ctrl+C does, before a job's or machine's limit: exit 75, the run resumable with --resume; epochs since "
        "a trial's last checkpoint are trained again",
    )
    p.add_argument("--progress-every", type=positive_float, default=10.0, help="seconds between progress lines")
    p.set_defaults(func=run_space)


def pack_option(text: str) -> str | int:
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be auto or a positive integer, got {text}") from None


def parse_assignment(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as YAML (0.01 a number, true a bool, what_first a string)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"unreadable value in {text!r}") from None


def request_from_args(args: argparse.Namespace) -> SweepRequest:
    """The request the flags describe, built by the Python API's rule (api.sweep_request: --precision is a config
    key of every trial), so that the CLI and `run(...)` cannot drift apart."""
    values = {f.name: getattr(args, f.name) for f in fields(SweepRequest) if hasattr(args, f.name)}
    values["overrides"] = dict(args.overrides or [])
    return sweep_request(values.pop("space"), precision=args.precision, **values)


def run_space(args: argparse.Namespace, trainable_fn=None) -> int:
    """`mosaic-sweep run`: the sweep the flags describe. `trainable_fn` replaces the trial function (tests)."""
    return run_sweep(request_from_args(args), trainable_fn)
