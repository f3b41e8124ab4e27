"""`mosaic-sweep run SPACE`: a search space as Ray Tune trials, results as Parquet.

Two steps: `plan_run` checks everything that can be checked before Ray starts and writes nothing; `run_space`
starts (or joins) Ray, writes run.json, runs the Tuner and prints the final table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from search_spaces import REGISTRY, SCALES, SearchSpace, get_space

from .cli_args import add_data_flags, load_images, non_negative_float, non_negative_int, positive_float, positive_int
from .errors import RunFailed, UsageError
from .results import FINISHED, RUN_FILE, ResultsWriter
from .storage import RunStorage, redact


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a search space as Ray Tune trials",
        description="Run every trial of a search space on Ray Tune; results go to "
        "RESULTS_DIR/NAME as Parquet (epochs/ and trials.parquet).",
    )
    p.add_argument("space", help=f"one of: {', '.join(REGISTRY)}")
    p.add_argument(
        "--scale",
        choices=list(SCALES),
        default="paper",
        help="; ".join(f"{s.name}: {s.description}" for s in SCALES.values()),
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
        help="GPUs per trial, fractions pack trials on a GPU (default: 1 if the cluster has GPUs, else 0)",
    )
    p.add_argument("--cpus-per-trial", type=positive_float, default=1.0, help="CPUs per trial (default: 1)")
    p.add_argument("--max-concurrent", type=positive_int, default=None, help="at most this many trials at once")
    p.add_argument(
        "--max-failures",
        type=non_negative_int,
        default=2,
        help="retries of a failed trial, each from its last checkpoint (default: 2)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=5,
        help="save a trial's full state every N epochs, and always at its end (default: 5)",
    )
    p.add_argument("--resume", action="store_true", help="continue the interrupted run NAME")
    p.add_argument("--progress-every", type=positive_float, default=10.0, help="seconds between progress lines")
    p.set_defaults(func=run_space)


@dataclass
class RunPlan:
    """Everything decided before Ray starts: which trials, where their results go."""

    space: SearchSpace  # subset to --only
    name: str
    storage: RunStorage
    seeds: int | None  # as given, or as the resumed run was started
    only: str | None
    trials: list[dict]
    info: dict  # what run.json records


def plan_run(args: argparse.Namespace) -> RunPlan:
    """Check the space, the run folder and every trial's config; nothing is written and `args` is not changed."""
    try:
        space = get_space(args.space)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    name = args.name or f"{space.name}-{args.scale}"
    storage = RunStorage.child(args.results_dir, name)
    seeds, only = args.seeds, args.only
    if args.resume:
        if not storage.exists(RUN_FILE):
            raise UsageError(f"nothing to resume: no run {name!r} in {args.results_dir}")
        stored = storage.read_json(RUN_FILE)
        if (stored["space"], stored["scale"]) != (space.name, args.scale):
            raise UsageError(
                f"run {name!r} is space {stored['space']} at scale {stored['scale']}; resume it with those"
            )
        seeds, only = stored["seeds"], stored.get("only")  # the run continues as it was started
    elif storage.exists(RUN_FILE):
        raise UsageError(
            f"run {name!r} already exists in {args.results_dir}: add --resume to continue it, or choose another --name"
        )
    if only:
        space = space.subset(only.split(","))
        if not space.experiments:
            labels = ", ".join(e.label for e in get_space(args.space).experiments)
            raise UsageError(f"--only {only!r} matches no experiment of {args.space}; experiments: {labels}")
    try:
        trials = [{**t, "run": name} for t in space.trials(args.scale, seeds)]
    except ValueError as exc:
        raise UsageError(f"invalid configuration in space {space.name}: {exc}") from None
    info = {"name": name, "space": space.name, "scale": args.scale, "seeds": seeds, "only": only}
    return RunPlan(space, name, storage, seeds, only, trials, info)


def run_space(args: argparse.Namespace, trainable_fn=None) -> int:
    """Plan, then start Ray and the Tuner; exit status 0 when every trial finished.

    `trainable_fn` replaces the trial function (tests use it to inject faults)."""
    plan = plan_run(args)
    space, name, storage = plan.space, plan.name, plan.storage
    images = load_images(args.data_dir, args.download, verify=not args.no_verify)

    from .ray_session import cluster_gpus, connect
    from .tuner import build_tuner

    dashboard = connect(args.address, num_cpus=args.num_cpus, dashboard_host=args.dashboard_host)
    print(
        f"mosaic-sweep: run {name}: {space.name} at scale {args.scale}, {space.trial_count(args.scale, plan.seeds)}"
        f" trials, {space.total_epochs(args.scale, plan.seeds)} epochs -> {storage.display}",
        flush=True,
    )
    print(f"mosaic-sweep: Ray dashboard: {dashboard or 'not available'}", flush=True)
    gpus = args.gpus_per_trial if args.gpus_per_trial is not None else (1.0 if cluster_gpus() > 0 else 0.0)
    if gpus > cluster_gpus():
        raise UsageError(f"--gpus-per-trial {gpus:g} but the cluster has {cluster_gpus():g} GPUs")
    check_shared_storage(storage, args.results_dir)

    if not args.resume:
        # flags only (tokens live in the environment), and the storage without credentials
        options = {**{k: v for k, v in vars(args).items() if k != "func"}, "results_dir": redact(args.results_dir)}
        storage.write_json({**plan.info, "created": datetime.now(UTC).isoformat(), "options": options}, RUN_FILE)
    writer = ResultsWriter(storage, name, {e.label: e.reference for e in space.experiments})
    tuner = build_tuner(
        space,
        plan.trials,
        images,
        storage,
        writer,
        scale=args.scale,
        seeds=plan.seeds,
        resume=args.resume,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=gpus,
        max_concurrent=args.max_concurrent,
        max_failures=args.max_failures,
        checkpoint_every=args.checkpoint_every,
        progress_every=args.progress_every,
        trainable_fn=trainable_fn,
    )
    started = time.time()
    try:
        tuner.fit()
    except KeyboardInterrupt:
        raise RunFailed(
            f"interrupted; results so far are in {storage.display}; continue with --resume --name {name}", code=130
        ) from None
    writer.reload()  # a restored Tuner writes through the callbacks it pickled: read what they wrote
    return print_final_table(writer, storage, name, time.time() - started)


def check_shared_storage(storage: RunStorage, results_dir: str) -> None:
    """Fail fast when some node cannot reach the results folder: its checkpoints would be lost."""
    import ray

    from . import shared_storage

    missing = shared_storage.nodes_missing_storage(storage.uri)
    if missing:
        alive = sum(1 for n in ray.nodes() if n.get("Alive"))
        raise UsageError(
            f"results folder {results_dir} is not shared: {len(missing)} of {alive} Ray nodes cannot "
            f"see it (node {missing[0][:12]}...); on a multi-node cluster pass --storage with an NFS "
            f"path every node mounts, or s3://bucket/prefix"
        )


def print_final_table(writer: ResultsWriter, storage: RunStorage, name: str, seconds: float) -> int:
    """Print one line per trial; 0 when every trial finished, else RunFailed (exit 1) naming the first few."""
    rows = sorted(writer.trials.values(), key=lambda r: (r.get("experiment") or "", r.get("seed") or 0))
    print(
        f"\n{'experiment':<28} {'seed':>4} {'status':<10} {'outcome':<13} {'epochs':>6} {'train':>6} {'test':>6}"
        f" {'paper':>6}  device"
    )
    for r in rows:
        ref = r.get("ref_test_acc")
        print(
            f"{r.get('experiment') or '?':<28} {r.get('seed') or 0:>4} {r['status']:<10} "
            f"{r.get('outcome') or '-':<13} {r.get('epochs_completed') or 0:>6} {_fmt(r.get('train_acc'))} "
            f"{_fmt(r.get('test_acc'))} {_fmt(ref)}  {r.get('device') or '-'}"
        )
    bad = [r for r in rows if r["status"] != "TERMINATED" or r.get("outcome") not in FINISHED]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} trials finished in {seconds:.0f}s; results: {storage.display}")
    if bad:
        details = "; ".join(
            f"{r.get('experiment')} seed {r.get('seed')}: {r.get('error') or r.get('outcome')}" for r in bad[:5]
        )
        raise RunFailed(
            f"{len(bad)} of {len(rows)} trials did not finish ({details}); continue with --resume --name {name}", code=1
        )
    return 0


def _fmt(value) -> str:
    return f"{value:6.3f}" if isinstance(value, float) else f"{'-':>6}"
