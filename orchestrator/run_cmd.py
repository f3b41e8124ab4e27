"""`mosaic-sweep run SPACE` and `mosaic-sweep list`: a search space as Ray Tune trials, results as Parquet."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from search_spaces import REGISTRY, SCALES, SearchSpace, describe, get_space

from .errors import UsageError
from .results import RUN_FILE, ResultsWriter, RunStorage, redact
from .train_cmd import add_data_flags, load_images

TUNE_DIR = "tune"  # Ray's experiment folder (trial checkpoints, experiment state) inside the run folder


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text}") from None


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list the search spaces", description="List every search space.")
    p.add_argument("--scale", choices=list(SCALES), default="paper", help="count epochs at this scale")
    p.set_defaults(func=run_list)

    p = sub.add_parser("run", help="run a search space as Ray Tune trials",
                       description="Run every trial of a search space on Ray Tune; results go to "
                                   "RESULTS_DIR/NAME as Parquet (epochs/ and trials.parquet).")
    p.add_argument("space", help=f"one of: {', '.join(REGISTRY)}")
    p.add_argument("--scale", choices=list(SCALES), default="paper",
                   help="; ".join(f"{s.name}: {s.description}" for s in SCALES.values()))
    p.add_argument("--only", default=None, metavar="PATTERNS",
                   help="run only these experiments: comma-separated labels or globs, e.g. 'table1/3,table2/*'")
    p.add_argument("--seeds", type=positive_int, default=None,
                   help="seeds per experiment (data and init); default: the space's own (1, or 5 for 'seeds')")
    add_data_flags(p)
    p.add_argument("--results-dir", "--storage", dest="results_dir", default="results",
                   help="folder or URI (s3://..., gs://...) holding runs; on a multi-node cluster every node must "
                        "reach it (NFS path or object store) (default: results)")
    p.add_argument("--name", default=None, help="run name (default: SPACE-SCALE)")
    p.add_argument("--address", default=None,
                   help="Ray cluster to join: 'auto' or HOST:PORT (default: $RAY_ADDRESS, else start Ray here)")
    p.add_argument("--num-cpus", type=positive_int, default=None, help="CPUs of the embedded local Ray")
    p.add_argument("--dashboard-host", default="127.0.0.1",
                   help="interface the embedded Ray's dashboard binds (default 127.0.0.1; 0.0.0.0 exposes it, and "
                        "anyone who reaches it can run code on this machine)")
    p.add_argument("--gpus-per-trial", type=non_negative_float, default=None,
                   help="GPUs per trial, fractions pack trials on a GPU (default: 1 if the cluster has GPUs, else 0)")
    p.add_argument("--cpus-per-trial", type=positive_float, default=1.0, help="CPUs per trial (default: 1)")
    p.add_argument("--max-concurrent", type=positive_int, default=None, help="at most this many trials at once")
    p.add_argument("--max-failures", type=non_negative_int, default=2,
                   help="retries of a failed trial, each from its last checkpoint (default: 2)")
    p.add_argument("--checkpoint-every", type=positive_int, default=5,
                   help="save a trial's full state every N epochs, and always at its end (default: 5)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run NAME")
    p.add_argument("--progress-every", type=positive_float, default=10.0, help="seconds between progress lines")
    p.set_defaults(func=run_run)


def run_list(args: argparse.Namespace) -> int:
    print(f"{'space':<12} {'trials':>6} {'epochs':>7}  description ({args.scale} scale)")
    for space in REGISTRY.values():
        print(describe(space, args.scale))
    return 0


@dataclass
class RunPlan:
    """Everything decided before Ray starts: which trials, where their results go."""

    space: SearchSpace
    name: str
    storage: RunStorage
    trials: list[dict]
    info: dict  # what run.json records


def plan_run(args: argparse.Namespace) -> RunPlan:
    """Check the space, the run folder and every trial's config; nothing is written here."""
    try:
        space = get_space(args.space)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    name = args.name or f"{space.name}-{args.scale}"
    storage = RunStorage.child(args.results_dir, name)
    if args.resume:
        if not storage.exists(RUN_FILE):
            raise UsageError(f"nothing to resume: no run {name!r} in {args.results_dir}")
        stored = storage.read_json(RUN_FILE)
        if (stored["space"], stored["scale"]) != (space.name, args.scale):
            raise UsageError(f"run {name!r} is space {stored['space']} at scale {stored['scale']}; "
                             f"resume it with those")
        args.seeds, args.only = stored["seeds"], stored.get("only")  # the run continues as it was started
    elif storage.exists(RUN_FILE):
        raise UsageError(f"run {name!r} already exists in {args.results_dir}: add --resume to continue it, "
                         f"or choose another --name")
    if args.only:
        space = space.subset(args.only.split(","))
        if not space.experiments:
            labels = ", ".join(e.label for e in get_space(args.space).experiments)
            raise UsageError(f"--only {args.only!r} matches no experiment of {args.space}; experiments: {labels}")
    try:
        trials = [{**t, "run": name} for t in space.trials(args.scale, args.seeds)]
    except ValueError as exc:
        raise UsageError(f"invalid configuration in space {space.name}: {exc}") from None
    info = {"name": name, "space": space.name, "scale": args.scale, "seeds": args.seeds, "only": args.only}
    return RunPlan(space, name, storage, trials, info)


def run_run(args: argparse.Namespace, trainable_fn=None) -> int:
    """Validate everything that can be checked here, then start Ray and the Tuner.

    `trainable_fn` replaces the trial function (tests use it to inject faults)."""
    plan = plan_run(args)
    space, name, storage = plan.space, plan.name, plan.storage
    images = load_images(args)

    from .ray_session import cluster_gpus, connect

    dashboard = connect(args.address, num_cpus=args.num_cpus, dashboard_host=args.dashboard_host)
    print(f"mosaic-sweep: run {name}: {space.name} at scale {args.scale}, {space.trial_count(args.scale, args.seeds)}"
          f" trials, {space.total_epochs(args.scale, args.seeds)} epochs -> {storage.display}", flush=True)
    print(f"mosaic-sweep: Ray dashboard: {dashboard or 'not available'}", flush=True)
    gpus = args.gpus_per_trial if args.gpus_per_trial is not None else (1.0 if cluster_gpus() > 0 else 0.0)
    if gpus > cluster_gpus():
        raise UsageError(f"--gpus-per-trial {gpus:g} but the cluster has {cluster_gpus():g} GPUs")
    check_shared_storage(storage, args.results_dir)

    if not args.resume:
        # flags only (tokens live in the environment), and the storage without credentials
        options = {**{k: v for k, v in vars(args).items() if k != "func"}, "results_dir": redact(args.results_dir)}
        storage.write_json({**plan.info, "created": datetime.now(timezone.utc).isoformat(), "options": options},
                           RUN_FILE)
    writer = ResultsWriter(storage, name, {e.label: e.reference for e in space.experiments})
    tuner = _build_tuner(args, space, plan.trials, images, storage, writer, gpus, trainable_fn)
    started = time.time()
    try:
        tuner.fit()
    except KeyboardInterrupt:
        raise UsageError(f"interrupted; results so far are in {storage.display}; continue with --resume --name {name}",
                         code=130) from None
    writer.reload()  # a restored Tuner writes through the callbacks it pickled: read what they wrote
    return summarize(writer, storage, name, time.time() - started)


def check_shared_storage(storage: RunStorage, results_dir: str) -> None:
    """Fail fast when some node cannot reach the results folder: its checkpoints would be lost."""
    import ray

    from . import shared_storage

    missing = shared_storage.nodes_missing_storage(storage.uri)
    if missing:
        alive = sum(1 for n in ray.nodes() if n.get("Alive"))
        raise UsageError(f"results folder {results_dir} is not shared: {len(missing)} of {alive} Ray nodes cannot "
                         f"see it (node {missing[0][:12]}...); on a multi-node cluster pass --storage with an NFS "
                         f"path every node mounts, or s3://bucket/prefix")


def _build_tuner(args, space, trials, images, storage, writer, gpus, trainable_fn):
    # Small smoke epochs checkpoint often; Tune's advice to checkpoint less is noise for our users.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    from ray import tune

    from trainables.tune_trial import train_mosaic

    from .tune_callbacks import ParquetCallback, ProgressCallback

    trainable = tune.with_resources(
        tune.with_parameters(trainable_fn or train_mosaic, images=images, checkpoint_every=args.checkpoint_every),
        {"cpu": args.cpus_per_trial, "gpu": gpus},
    )
    # Ray gets a path inside the run's own pyarrow filesystem: URIs with options or credentials pass through
    # untouched, and remote storage needs no configuration on the nodes.
    fs = storage.fs if storage.remote else None
    tune_path = storage.path(TUNE_DIR)
    if args.resume and tune.Tuner.can_restore(tune_path, storage_filesystem=fs):
        return tune.Tuner.restore(tune_path, trainable=trainable, resume_unfinished=True, resume_errored=True,
                                  storage_filesystem=fs)

    total_epochs = space.total_epochs(args.scale, args.seeds)
    run_config = tune.RunConfig(
        name=TUNE_DIR,
        storage_path=storage.path(),
        storage_filesystem=fs,
        failure_config=tune.FailureConfig(max_failures=args.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        callbacks=[ParquetCallback(writer), ProgressCallback(total_epochs, args.progress_every)],
        verbose=0,
    )
    # Reusing actors skips a process start and a torch import per trial; each trial still builds its own state.
    common = dict(max_concurrent_trials=args.max_concurrent, trial_dirname_creator=_trial_dirname, reuse_actors=True)
    if space.searcher is None:
        param_space = {"trial": tune.grid_search(trials)}
        tune_config = tune.TuneConfig(**common)
    else:
        searcher = space.searcher
        base = trials[0]
        seeds = sorted({t["seed"] for t in trials})
        param_space = {**base, **searcher.samplers(base), "seed": tune.grid_search(seeds)}
        param_space["data_seed"] = tune.sample_from(lambda spec: spec.config["seed"])
        tune_config = tune.TuneConfig(
            **common, num_samples=searcher.num_samples[args.scale], metric=searcher.metric, mode=searcher.mode,
            scheduler=tune.schedulers.ASHAScheduler(time_attr="training_iteration", max_t=base["epochs"],
                                                    grace_period=searcher.grace_epochs[args.scale]),
        )
    return tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)


def _trial_dirname(trial) -> str:
    config = trial.config.get("trial", trial.config)
    label = str(config.get("experiment", "trial")).replace("/", "-")
    return f"{label}-seed{config.get('seed', 0)}-{trial.trial_id}"


FINISHED = ("completed", "early_stopped", "stopped")


def summarize(writer: ResultsWriter, storage: RunStorage, name: str, seconds: float) -> int:
    """Print the final table; exit 0 only when every trial finished."""
    rows = sorted(writer.trials.values(), key=lambda r: (r.get("experiment") or "", r.get("seed") or 0))
    print(f"\n{'experiment':<28} {'seed':>4} {'status':<10} {'outcome':<13} {'epochs':>6} {'train':>6} {'test':>6}"
          f" {'paper':>6}  device")
    for r in rows:
        ref = r.get("ref_test_acc")
        print(f"{r.get('experiment') or '?':<28} {r.get('seed') or 0:>4} {r['status']:<10} "
              f"{r.get('outcome') or '-':<13} {r.get('epochs_completed') or 0:>6} {_fmt(r.get('train_acc'))} "
              f"{_fmt(r.get('test_acc'))} {_fmt(ref)}  {r.get('device') or '-'}")
    bad = [r for r in rows if r["status"] != "TERMINATED" or r.get("outcome") not in FINISHED]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} trials finished in {seconds:.0f}s; results: {storage.display}")
    if bad:
        details = "; ".join(f"{r.get('experiment')} seed {r.get('seed')}: {r.get('error') or r.get('outcome')}"
                            for r in bad[:5])
        raise UsageError(f"{len(bad)} of {len(rows)} trials did not finish ({details}); continue with "
                         f"--resume --name {name}", code=1)
    return 0


def _fmt(value) -> str:
    return f"{value:6.3f}" if isinstance(value, float) else f"{'-':>6}"
