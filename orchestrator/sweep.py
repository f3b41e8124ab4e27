"""A sweep: a search space run as Ray Tune trials, results as Parquet. The CLI's `run` and the Python API's
`run()` both describe one with a `SweepRequest` and call `run_sweep`.

Two steps: `plan_sweep` checks everything that can be checked before Ray starts and writes nothing;
`run_sweep` starts (or joins) Ray, writes run.json, runs the Tuner and prints the final table.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shlex
import signal
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from search_spaces import SearchSpace, SpaceFileError, resolve_space
from trainables import TrainConfig
from trainables.tune_trial import PACK_KEY

from .aggregate import counted
from .cli_args import DataSource, data_source
from .errors import RunFailed, UsageError
from .results import EPOCHS_DIR, FINISHED, INTERRUPTED, RUN_FILE, TUNE_DIR, ResultsWriter
from .storage import RunStorage, credentials_in, redact

DEFAULT_SCALE = "paper"
DEFAULT_MAX_FAILURES = 2
RUN_NAME = re.compile(r"[A-Za-z0-9._-]+")
LOGGERS = ("wandb", "mlflow")


@dataclass(frozen=True)
class SweepRequest:
    """What to run and how: every option of `mosaic-sweep run`, with its defaults."""

    space: str | SearchSpace  # a built-in space name, a YAML space file, or a SearchSpace
    scale: str | None = None  # None: paper, or on --resume the run's own
    only: str | None = None  # comma-separated labels or globs
    seeds: int | None = None
    first_seed: int | None = None  # seeds are first_seed.. (None: 0, or on --resume the run's own)
    overrides: dict = field(default_factory=dict)  # --set KEY=VALUE, on every trial
    data_dir: str | None = None  # None: $MOSAIC_SWEEP_DATA or ./data, or on --resume the run's own
    download: bool = False
    no_verify: bool = False
    results_dir: str = "results"
    name: str | None = None
    address: str | None = None
    num_cpus: int | None = None
    dashboard_host: str = "127.0.0.1"
    gpus_per_trial: float | None = None
    cpus_per_trial: float | None = None  # None: 1, or on --resume the run's own (Ray gives a trial that many threads)
    max_concurrent: int | None = None
    max_failures: int | None = None  # retries per trial; None: 2, or on --resume the run's own
    checkpoint_every: int = 5
    keep_phase_ends: bool | None = None  # keep each phase end's checkpoint too (None: no, or on --resume the run's own)
    resume: bool = False
    progress_every: float = 10.0
    logger: str | None = None  # "wandb" or "mlflow": Ray Tune's integration, an optional extra
    pack: str | int | None = None  # configurations per Ray trial: "auto" (None: GPU one pack per GPU, CPU 1), or N
    time_limit: float | None = None  # seconds from the start of run_sweep; then stop as Ctrl+C does (exit 75)

    def recorded(self) -> dict:
        """The options as run.json records them: flags only (tokens live in the environment), the storage
        without credentials, a space object by its name, the data folder absolute (a resume or report started
        from another folder still finds it)."""
        options = {f.name: getattr(self, f.name) for f in fields(self)}
        options["space"] = self.space if isinstance(self.space, str) else self.space.name
        if self.data_dir is not None:
            options["data_dir"] = os.path.abspath(self.data_dir)
        return {"command": "run", **options, "results_dir": redact(self.results_dir)}


@dataclass
class SweepPlan:
    """Everything decided before Ray starts: which trials, where their results go."""

    space: SearchSpace  # subset to --only, with the overrides
    scale: str
    name: str
    storage: RunStorage
    selection: Selection  # as given, or as the resumed run was started
    trials: list[dict]
    data: DataSource  # as given, or the resumed run's own when no flag says otherwise
    cpus_per_trial: float  # as given, or the resumed run's own, else 1
    gpus_per_trial: float | None  # as given, or the resumed run's own; None: 1 on a cluster with GPUs, else 0

    @property
    def info(self) -> dict:
        """What run.json records of the plan."""
        chosen = self.selection
        return {
            "name": self.name,
            "space": self.space.name,
            "scale": self.scale,
            "seeds": chosen.seeds,
            "first_seed": chosen.first_seed,
            "only": chosen.only,
        }


def load_space(request: SweepRequest) -> SearchSpace:
    if isinstance(request.space, SearchSpace):
        return request.space
    try:
        return resolve_space(request.space)
    except KeyError as exc:
        raise UsageError(f"{exc.args[0]}, or a space file (.yaml)") from None
    except SpaceFileError as exc:
        raise UsageError(str(exc)) from None


def plan_sweep(request: SweepRequest) -> SweepPlan:
    """Check the space, the run folder and every trial's config; nothing is written, nothing is changed."""
    if request.logger is not None:
        if request.logger not in LOGGERS:
            raise UsageError(f"--logger must be one of {', '.join(LOGGERS)}, got {request.logger!r}")
        if importlib.util.find_spec(request.logger) is None:
            name = request.logger
            raise UsageError(f"--logger {name} needs the {name} package: pip install 'mosaic-sweep[{name}]'")
    if request.first_seed is not None and (isinstance(request.first_seed, bool) or request.first_seed < 0):
        raise UsageError(f"--first-seed: must be a non-negative integer, got {request.first_seed!r}")
    full_space = load_space(request)
    name = request.name if request.name is not None else f"{full_space.name}-{request.scale or DEFAULT_SCALE}"
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"run name {name!r}: use letters, digits, '.', '_' and '-' only (a folder name, not a path)")
    if credentials_in(request.results_dir):
        raise UsageError(
            f"--storage {redact(request.results_dir)}: remove the key and secret from the URI, Ray would store them "
            f"with the run; give them in the environment of every node instead (for S3: AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY, or an instance profile)"
        )
    storage = RunStorage.child(request.results_dir, name)
    selection, data = Selection.of(request), data_source(request.data_dir, request.no_verify, request.download)
    cpus, gpus = request.cpus_per_trial, request.gpus_per_trial
    if request.resume:
        if not storage.exists(RUN_FILE):
            raise UsageError(f"nothing to resume: no run {name!r} in {redact(request.results_dir)}")
        stored = storage.read_json(RUN_FILE)
        selection = resumed_selection(request, stored, full_space, name)
        data = data_source(request.data_dir, request.no_verify, request.download, stored)
        started = stored.get("options") or {}
        cpus = cpus if cpus is not None else started.get("cpus_per_trial")
        gpus = gpus if gpus is not None else started.get("gpus_per_trial")
    elif storage.exists(RUN_FILE):
        raise UsageError(
            f"run {name!r} already exists in {redact(request.results_dir)}: add --resume to continue it, or choose "
            f"another --name"
        )
    try:
        full_space = full_space.with_overrides(selection.overrides) if selection.overrides else full_space
    except ValueError as exc:
        raise UsageError(f"--set: {exc}") from None
    scale, space = selection.scale or DEFAULT_SCALE, subset(full_space, selection.only)
    try:
        trials = [{**t, "run": name} for t in space.trials(scale, selection.seeds, selection.first_seed)]
    except ValueError as exc:
        raise UsageError(f"invalid configuration in space {space.name}: {exc}") from None
    return SweepPlan(space, scale, name, storage, selection, trials, data, cpus or 1.0, gpus)


def subset(space: SearchSpace, only: str | None) -> SearchSpace:
    """The experiments of `--only` (labels or globs), or all of them."""
    if not only:
        return space
    chosen = space.subset(only.split(","))
    if not chosen.experiments:
        labels = ", ".join(e.label for e in space.experiments)
        raise UsageError(f"--only {only!r} matches no experiment of {space.name}; experiments: {labels}")
    return chosen


@dataclass(frozen=True)
class Selection:
    """What decides a run's trials and how Ray holds them: given by the flags, or on --resume by run.json."""

    scale: str | None
    seeds: int | None
    first_seed: int
    only: str | None
    overrides: dict
    pack: str | int
    keep_phase_ends: bool  # Ray's checkpoint retention, which its restore keeps

    @classmethod
    def of(cls, request: SweepRequest) -> Selection:
        pack = request.pack if request.pack is not None else "auto"
        keep = bool(request.keep_phase_ends)
        return cls(request.scale, request.seeds, request.first_seed or 0, request.only, request.overrides, pack, keep)


def resumed_selection(request: SweepRequest, stored: dict, space: SearchSpace, name: str) -> Selection:
    """The Selection of a resumed run, as it was started (run.json): Ray's restore keeps the trials, their settings,
    packs and retry count it pickled, so a flag that would change them is refused rather than ignored."""
    if stored["space"] != space.name or (request.scale is not None and request.scale != stored["scale"]):
        raise UsageError(f"run {name!r} is space {stored['space']} at scale {stored['scale']}; resume it with those")
    options = stored.get("options") or {}
    started = Selection(
        stored["scale"],
        stored["seeds"],
        stored.get("first_seed", 0),
        stored.get("only"),
        options.get("overrides") or {},
        options.get("pack") or "auto",
        bool(options.get("keep_phase_ends")),
    )
    retries = options.get("max_failures")
    checks = {
        "seeds": (request.seeds, started.seeds, lambda n: n or space.default_seeds),
        "first_seed": (request.first_seed, started.first_seed, None),
        "only": (request.only, started.only, lambda only: [e.label for e in subset(space, only).experiments]),
        "max_failures": (request.max_failures, DEFAULT_MAX_FAILURES if retries is None else retries, None),
        "max_concurrent": (request.max_concurrent, options.get("max_concurrent"), None),  # Ray's TuneConfig too
        "pack": (request.pack, started.pack, None),
        "keep_phase_ends": (request.keep_phase_ends, started.keep_phase_ends, None),
    }
    for key, (given, value, meaning) in checks.items():
        meaning = meaning or (lambda v: v)
        if given is not None and meaning(given) != meaning(value):
            flag = "--" + key.replace("_", "-")
            if isinstance(given, bool):  # a switch: on as a flag, off only as the Python API's key=False
                said, was = (flag, "without") if given else (f"{key}=False", "with")
                raise UsageError(f"{said}: run {name!r} was started {was} it; leave it out to resume")
            if value is None:  # not given at the start: say what that meant
                value = {"seeds": f"{space.default_seeds} (the space's default)", "only": "every experiment"}.get(
                    key, "no limit"
                )
            raise UsageError(f"{flag} {given}: run {name!r} was started with {value}; leave it out to resume")
    if request.overrides and request.overrides != started.overrides:
        given = " ".join(f"{k}={v}" for k, v in request.overrides.items())
        was = " ".join(f"{k}={v}" for k, v in started.overrides.items()) or "none"
        raise UsageError(f"--set/--precision {given}: run {name!r} was started with {was}; leave them out to resume")
    return started


def run_sweep(request: SweepRequest, trainable_fn=None, plan: SweepPlan | None = None) -> int:
    """Plan (unless given the plan of `request`), then start Ray and the Tuner; 0 when every trial finished, else
    RunFailed (exit 1, or 130 when interrupted). `trainable_fn` replaces the trial function (tests inject faults)."""
    from .ray_session import check_reachable, cluster_gpus, connect
    from .tuner import build_tuner

    began = time.monotonic()
    plan = plan or plan_sweep(request)
    space, name, storage, scale = plan.space, plan.name, plan.storage, plan.scale
    if request.time_limit is not None and threading.current_thread() is not threading.main_thread():
        raise UsageError("--time-limit stops the sweep with a signal, which only the main thread receives")
    if request.resume:
        check_restorable(storage, name)
    if request.address:
        check_reachable(request.address)  # before the seconds spent reading CIFAR-10
    images = plan.data.load()

    dashboard = connect(request.address, num_cpus=request.num_cpus, dashboard_host=request.dashboard_host)
    print(
        f"mosaic-sweep: run {name}: {space.name} at scale {scale}, "
        f"{counted(space.trial_count(scale, plan.selection.seeds), 'trial')}, "
        f"{counted(space.total_epochs(scale, plan.selection.seeds), 'epoch')} -> {storage.display}",
        flush=True,
    )
    print(f"mosaic-sweep: Ray dashboard: {dashboard or 'not available'}", flush=True)
    available = cluster_gpus()
    joined, own = bool(request.address or os.environ.get("RAY_ADDRESS")), request.gpus_per_trial is None
    gpus, note = trial_gpus(plan, request, available, joined)
    if note:
        print(f"mosaic-sweep: {note}", flush=True)
    warning = check_gpu_request(gpus, available, joined, resumed=bool(request.resume and own and plan.gpus_per_trial))
    if warning:
        print(f"mosaic-sweep: warning: {warning}", flush=True)
    check_shared_storage(storage, request.results_dir)

    if not request.resume:
        created = datetime.now(UTC).isoformat()
        if not storage.claim({**plan.info, "created": created, "options": request.recorded()}, RUN_FILE):
            raise UsageError(f"run {name!r} was just started by another driver in {redact(request.results_dir)}")
    writer = ResultsWriter(storage, name, {e.label: e.reference for e in space.experiments})
    size = pack_size(plan.selection.pack, space, plan.trials, gpus, available)
    rows = pack_rows(plan.trials, size)
    if size > 1:
        packs = sum(1 for r in rows if PACK_KEY in r)
        print(
            f"mosaic-sweep: {len(plan.trials)} configurations as {len(rows)} Ray trials ({packs} packs of up to "
            f"{size}, one fused forward/backward per batch each)",
            flush=True,
        )
    tuner = build_tuner(
        space,
        rows,
        images,
        storage,
        writer,
        scale=scale,
        seeds=plan.selection.seeds,
        resume=request.resume,
        cpus_per_trial=plan.cpus_per_trial,
        gpus_per_trial=gpus,
        max_concurrent=request.max_concurrent,
        max_failures=request.max_failures if request.max_failures is not None else DEFAULT_MAX_FAILURES,
        checkpoint_every=request.checkpoint_every,
        keep_phase_ends=plan.selection.keep_phase_ends,
        progress_every=request.progress_every,
        logger=request.logger,
        trainable_fn=trainable_fn,
    )
    started = time.time()
    go_on = resume_flags(request, name)
    interrupted = f"interrupted; results so far are in {storage.display}; continue with {go_on}"
    try:
        with TuneInterrupt() as stop, TimeLimit(request.time_limit, began) as limit:
            tuner.fit()
    except KeyboardInterrupt:  # a second Ctrl+C: Tune stops at once
        raise RunFailed(interrupted, code=130) from None
    if not writer.flush():
        raise RunFailed(
            f"results could not be written to {storage.display} ({writer.failure}); every epoch is in the "
            f"checkpoints under {TUNE_DIR}/: fix the storage and continue with {go_on}"
        )
    writer.reload()  # in Ray client mode a restored Tuner writes through the callbacks it pickled: read that
    if stop.received or limit.reached:
        # Tune stopped every trial and reported them TERMINATED; they did not finish: say so, then say how to go on
        writer.mark_interrupted()
        if not any(t["status"] == INTERRUPTED for t in writer.trials.values()):
            return print_final_table(writer, storage, go_on, time.time() - started)  # it finished just in time
        print_final_table(writer, storage, go_on, time.time() - started, check=False)
        if limit.reached:
            raise RunFailed(f"time limit of {request.time_limit:g} s reached; {interrupted}", code=TIME_LIMIT_EXIT)
        raise RunFailed(interrupted, code=130)
    return print_final_table(writer, storage, go_on, time.time() - started)


TIME_LIMIT_EXIT = 75  # EX_TEMPFAIL: not finished, try again (with --resume)


class TimeLimit:
    """At `seconds` after `began` (time.monotonic), ask Tune to stop as on Ctrl+C, which keeps the run resumable.

    It sends SIGUSR1, which Tune handles like the SIGINT of a Ctrl+C but, unlike SIGINT, never hands back: so
    neither an earlier Ctrl+C nor a timer that fires late turns it into a hard stop. Until Tune's handler is in
    place (fit installs it), the timer waits for it."""

    def __init__(self, seconds: float | None, began: float):
        self.seconds, self.began, self.reached = seconds, began, False
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.closed = False

    def _arm(self, delay: float) -> None:
        self.timer = threading.Timer(delay, self._stop)
        self.timer.daemon = True
        self.timer.start()

    def _stop(self) -> None:
        with self.lock:
            if self.closed:
                return
            if signal.getsignal(signal.SIGUSR1) is self.before:  # Tune is not listening yet
                self._arm(0.2)
                return
            self.reached = True
            os.kill(os.getpid(), signal.SIGUSR1)

    def __enter__(self):
        if self.seconds is not None:
            left = self.seconds - (time.monotonic() - self.began)
            if left <= 0:  # spent on starting Ray and reading CIFAR-10: stop before Tune starts anything
                raise RunFailed(f"time limit of {self.seconds:g} s reached before training started", TIME_LIMIT_EXIT)
            self.before = signal.getsignal(signal.SIGUSR1)
            self._arm(left)
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
        return False


class TuneInterrupt:
    """Did Tune receive Ctrl+C (SIGINT) during `fit`? Tune ends the experiment gracefully, returns normally and marks
    the running trials TERMINATED; the only trace is its handler: on the first SIGINT it puts back the handler it
    found, otherwise its own stays installed. This context notices which, and leaves the handlers as they were."""

    def __enter__(self):
        self.main = threading.current_thread() is threading.main_thread()
        self.saved = signal.getsignal(signal.SIGINT) if self.main else None
        self.received = False
        return self

    def __exit__(self, *exc):
        if self.main and not os.environ.get("TUNE_DISABLE_SIGINT_HANDLER"):
            self.received = signal.getsignal(signal.SIGINT) is self.saved
            signal.signal(signal.SIGINT, self.saved)
        return False


# Members of one automatic pack: Tables 1 + 2 over 5 seeds fit one GPU (benchmarks/gpu_throughput.py).
MAX_AUTO_PACK = 80
# Fewer members than this per GPU run unpacked, one trial after another: on an H200 (README, Benchmarks) a paper
# epoch took 0.54 s unpacked, 0.85 s for a pack of 1, 2.32 s for 4 and 3.22 s for 16 (about 2.0 s + 0.075 s a
# member on the line through 4 and 16: grouped kernels cost a fixed 2 s), so a pack beats its members in a row from
# about 5 members up (1.1x at 5 by that line; sizes 5-15 were not measured). Counted per GPU slot (gpus_per_trial).
MIN_AUTO_PACK = 5


def pack_size(pack: str | int, space: SearchSpace, trials: list[dict], gpus_per_trial: float, gpus: float) -> int:
    """How many configurations one Ray trial trains. `auto`: on GPUs, all packable ones spread evenly over the
    GPUs the trials can hold at once (at most MAX_AUTO_PACK each), or 1 when that gives fewer than MIN_AUTO_PACK
    per GPU; on CPU 1, since packing does not pay there (benchmarks/gpu_throughput.py). Searches (ASHA stops
    trials one by one) always run one per trial."""
    if space.searcher is not None:
        return 1
    if pack != "auto":
        return int(pack)
    if gpus_per_trial <= 0 or gpus <= 0:
        return 1
    from trainables.packed import packable

    slots = max(1, int(gpus // gpus_per_trial))
    n = sum(packable(TrainConfig.from_flat(t)) for t in trials)
    size = min(MAX_AUTO_PACK, math.ceil(n / slots))
    return size if size >= MIN_AUTO_PACK else 1


def pack_rows(trials: list[dict], size: int) -> list[dict]:
    """The rows Ray Tune runs: a configuration alone, or {"pack": [its members]} (trainables.packed.plan_packs
    groups compatible configurations; the rest, e.g. RMSprop rows, stay alone)."""
    if size <= 1:
        return list(trials)
    from trainables.packed import plan_packs

    packs = plan_packs([TrainConfig.from_flat(t) for t in trials], size)
    return [trials[p[0]] if len(p) == 1 else {PACK_KEY: [trials[i] for i in p]} for p in packs]


def trial_gpus(
    plan: SweepPlan, request: SweepRequest, available: float, joined: bool = False
) -> tuple[float, str | None]:
    """The GPUs each trial asks Ray for, and a note when a resumed run's own share is set aside: --gpus-per-trial;
    else the resumed run's own (trials that shared a GPU share it again), unless this process's own Ray has no GPU:
    then it goes on on CPU (checkpoints load on either; a cluster joined by address keeps the share and waits for
    GPU nodes, see check_gpu_request); else 1 on a cluster with GPUs, 0 without."""
    gpus = plan.gpus_per_trial
    if gpus is None:
        return (1.0 if available > 0 else 0.0), None
    if request.resume and request.gpus_per_trial is None and gpus > 0 and available <= 0 and not joined:
        return 0.0, (
            f"run {plan.name!r} was started with --gpus-per-trial {gpus:g}; this machine's Ray has no GPUs, so its "
            f"trials go on on CPU"
        )
    return gpus, None


def check_gpu_request(gpus_per_trial: float, gpus: float, joined: bool, resumed: bool = False) -> str | None:
    """More GPUs per trial than the cluster has: refused for this process's own Ray (it never grows); a warning
    for a cluster joined by address, which may autoscale (its GPU workers join once trials ask for them).
    `resumed`: the number is the resumed run's own, not a flag given now, and the words say so."""
    if gpus_per_trial <= gpus:
        return None
    asked = f"--gpus-per-trial {gpus_per_trial:g}" + (" (the run's own; give the flag to change it)" if resumed else "")
    if not joined:
        raise UsageError(f"{asked} but the cluster has {gpus:g} GPUs")
    return f"{asked} but the cluster has {gpus:g} GPUs now; trials wait until the autoscaler adds GPU nodes"


def check_restorable(storage: RunStorage, name: str) -> None:
    """--resume continues what Ray can restore; a folder with results but no restorable experiment (its Tune
    state lost) is refused rather than overwritten by a fresh experiment beside the old rows."""
    from ray import tune

    fs = storage.fs if storage.remote else None
    if not tune.Tuner.can_restore(storage.path(TUNE_DIR), storage_filesystem=fs) and storage.list_parquet_files(
        EPOCHS_DIR
    ):
        raise UsageError(
            f"cannot resume run {name!r}: it holds results but Ray's experiment state under {TUNE_DIR}/ is missing "
            f"or unreadable; start it again under another --name"
        )


def check_shared_storage(storage: RunStorage, results_dir: str) -> None:
    """Fail fast when some node cannot reach the results folder: its checkpoints would be lost."""
    import ray

    from . import shared_storage

    missing = shared_storage.nodes_missing_storage(storage.uri)
    if missing:
        alive = sum(1 for n in ray.nodes() if n.get("Alive"))
        raise UsageError(
            f"results folder {redact(results_dir)} is not shared: {len(missing)} of {alive} Ray nodes cannot "
            f"see it (node {missing[0][:12]}...); on a multi-node cluster pass --storage with an NFS "
            f"path every node mounts, or s3://bucket/prefix"
        )


def resume_flags(request: SweepRequest, name: str) -> str:
    """The flags that continue run `name` from where it is: '--resume --name X', and its folder when not the
    default, as a shell takes it: a URI whole (its endpoint options are needed; credentials were refused before
    the run), a local folder absolute."""
    if request.results_dir == "results":
        return f"--resume --name {name}"
    folder = request.results_dir if "://" in request.results_dir else os.path.abspath(request.results_dir)
    return f"--resume --name {name} --results-dir {shlex.quote(folder)}"


def print_final_table(
    writer: ResultsWriter, storage: RunStorage, go_on: str, seconds: float, check: bool = True
) -> int:
    """Print one line per trial; 0 when every trial finished, else (with `check`) RunFailed (exit 1) naming the
    first few, and what would finish them: `go_on` (resume_flags) for those a resume trains on; lower learning
    rates for diverged ones (a resume would not train them again: they ended)."""
    rows = sorted(writer.trials.values(), key=lambda r: (r.get("experiment") or "", r.get("seed") or 0))
    print(
        f"\n{'experiment':<28} {'seed':>4} {'status':<10} {'outcome':<13} {'epochs':>6} {'train':>6} {'test':>6}"
        f" {'paper':>6}  device"
    )
    for r in rows:
        ref = r.get("ref_test_acc")
        train = r.get("final_train_acc")  # the clean pass, as the paper and the report give it
        print(
            f"{r.get('experiment') or '?':<28} {r.get('seed') or 0:>4} {r['status']:<10} "
            f"{r.get('outcome') or '-':<13} {r.get('epochs_completed') or 0:>6} "
            f"{_fmt(train if isinstance(train, float) else r.get('train_acc'))} "
            f"{_fmt(r.get('test_acc'))} {_fmt(ref)}  {r.get('device') or '-'}"
        )
    bad = [r for r in rows if r["status"] != "TERMINATED" or r.get("outcome") not in FINISHED]
    print(
        "train: a clean pass over the training mosaics after the last epoch (running accuracy until then); paper: "
        "the published test accuracy"
    )
    print(f"\n{len(rows) - len(bad)}/{len(rows)} trials finished in {seconds:.0f}s; results: {storage.display}")
    if bad and check:
        details = "; ".join(
            f"{r.get('experiment')} seed {r.get('seed')}: {r.get('error') or r.get('outcome')}" for r in bad[:5]
        )
        diverged = sum(r.get("outcome") == "diverged" for r in bad)
        advice = [f"continue with {go_on}"] if diverged < len(bad) else []
        if diverged:
            advice.append(f"{diverged} diverged (non-finite loss): rerun those with lower learning rates (--set)")
        raise RunFailed(f"{len(bad)} of {len(rows)} trials did not finish ({details}); {'; '.join(advice)}", code=1)
    return 0


def _fmt(value) -> str:
    return f"{value:6.3f}" if isinstance(value, float) else f"{'-':>6}"
