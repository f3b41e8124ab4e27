"""The Ray Tune Tuner of a run: trainable with its resources and shared images, callbacks, restore."""

from __future__ import annotations

import os

from search_spaces import SearchSpace
from trainables import CifarImages
from trainables.tune_trial import KEEP_SCORE, phase_end_epochs

from .results import TUNE_DIR, ResultsWriter, pack_dirname, trial_dirname
from .storage import RunStorage

KEPT_LAST = 2  # each trial's newest checkpoints: a restore falls back to the older when the newest cannot be read
SCHEDULE_KEYS = ("order", "k", "epochs")  # what decides a trial's phase ends


def checkpoint_config(space: SearchSpace, trials: list[dict], keep_phase_ends: bool):
    """Ray keeps each trial's last two checkpoints; with `keep_phase_ends`, also the one at every phase end (the
    trainable scores them above the rest, KEEP_SCORE). Ray takes one count for every trial of a run: the most
    phase ends of any trial plus two, so a trial with fewer keeps more of its newest other checkpoints; where a
    search samples the schedule, the phase ends are not known before the trials start, and every checkpoint stays."""
    from ray import tune

    if not keep_phase_ends:
        return tune.CheckpointConfig(num_to_keep=KEPT_LAST)
    if space.searcher is not None and set(SCHEDULE_KEYS) & set(space.searcher.sample):
        return tune.CheckpointConfig(num_to_keep=None, checkpoint_score_attribute=KEEP_SCORE)
    ends = max(len(phase_end_epochs(t)) for t in trials)
    return tune.CheckpointConfig(num_to_keep=ends + KEPT_LAST, checkpoint_score_attribute=KEEP_SCORE)


def retention_note(config) -> str:
    kept = "every checkpoint" if config.num_to_keep is None else f"{config.num_to_keep} checkpoints"
    return f"--keep-phase-ends: Ray keeps {kept} of each trial (its phase ends, then its newest others)"


def build_tuner(
    space: SearchSpace,
    trials: list[dict],
    images: CifarImages,
    storage: RunStorage,
    writer: ResultsWriter,
    *,
    scale: str,
    seeds: int | None,
    resume: bool,
    cpus_per_trial: float,
    gpus_per_trial: float,
    max_concurrent: int | None,
    max_failures: int,
    checkpoint_every: int,
    keep_phase_ends: bool = False,
    progress_every: float,
    logger: str | None = None,
    trainable_fn=None,
):
    """A new Tuner for `trials`, or the restored one of an interrupted run (`resume`).

    `trainable_fn` replaces the trial function (tests use it to inject faults)."""
    # Small smoke epochs checkpoint often; Tune's advice to checkpoint less is noise for our users.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    from ray import tune

    from trainables.tune_trial import grid_rows, train_mosaic

    from .tune_callbacks import ParquetCallback, ProgressCallback, TensorBoardCallback

    trainable = tune.with_resources(
        tune.with_parameters(
            trainable_fn or train_mosaic,
            images=images,
            checkpoint_every=checkpoint_every,
            keep_phase_ends=keep_phase_ends,
        ),
        {"cpu": cpus_per_trial, "gpu": gpus_per_trial},
    )
    # Ray gets a path inside the run's own pyarrow filesystem: URIs with options or credentials pass through
    # untouched, and remote storage needs no configuration on the nodes.
    fs = storage.fs if storage.remote else None
    tune_path = storage.path(TUNE_DIR)
    # a restored run keeps its own: the same trials, the same count
    retention = checkpoint_config(space, trials, keep_phase_ends)
    if keep_phase_ends:
        print(f"mosaic-sweep: {retention_note(retention)}", flush=True)
        # Ray would keep every kept checkpoint's whole report (a pack's: every member's row) in the experiment state
        # it rewrites as the run goes; the score is all it needs of them (for the order).
        os.environ["TUNE_ONLY_STORE_CHECKPOINT_SCORE_ATTRIBUTE"] = "1"
    callbacks = [
        ParquetCallback(writer),
        ProgressCallback(space.total_epochs(scale, seeds), progress_every, writer.last_epochs(), writer.ended_trials()),
        TensorBoardCallback(),
        *([external_logger(logger, storage.root.rsplit("/", 1)[-1])] if logger else []),
    ]
    if resume and tune.Tuner.can_restore(tune_path, storage_filesystem=fs):
        tuner = tune.Tuner.restore(
            tune_path, trainable=trainable, resume_unfinished=True, resume_errored=True, storage_filesystem=fs
        )
        # Ray restores the callbacks pickled when the run started (tuner.pkl), bound to the folder it started in:
        # a run copied elsewhere since (off a GPU machine) would write its rows back there. This session's go
        # instead; Ray has no public setter for them (ray-project/ray#41364). Client mode (ray://) has no local
        # tuner: there the driver re-reads what the pickled ones wrote.
        local = getattr(tuner, "_local_tuner", None)
        if local is not None:
            local.get_run_config().callbacks = callbacks
        return tuner

    run_config = tune.RunConfig(
        name=TUNE_DIR,
        storage_path=storage.path(),
        storage_filesystem=fs,
        failure_config=tune.FailureConfig(max_failures=max_failures),
        checkpoint_config=retention,
        callbacks=callbacks,
        verbose=0,
    )

    # Reusing actors skips a process start and a torch import per trial; each trial still builds its own state.
    common = dict(max_concurrent_trials=max_concurrent, trial_dirname_creator=trial_folder, reuse_actors=True)
    if space.searcher is None:
        param_space = grid_rows(trials, tune.grid_search)
        tune_config = tune.TuneConfig(**common)
    else:
        searcher = space.searcher
        base = trials[0]
        seeds_used = sorted({t["seed"] for t in trials})
        param_space = {**base, **searcher.ray_samplers(base), "seed": tune.grid_search(seeds_used)}
        param_space["data_seed"] = tune.sample_from(lambda spec: spec.config["seed"])
        tune_config = tune.TuneConfig(
            **common,
            num_samples=searcher.num_samples[scale],
            metric=searcher.metric,
            mode=searcher.mode,
            # ASHA counts the trial's epochs, not Tune's iterations: a trial that restored an older checkpoint
            # than Ray's newest (the newest unreadable) has trained fewer epochs than Tune has counted
            scheduler=tune.schedulers.ASHAScheduler(
                time_attr="epoch", max_t=base["epochs"], grace_period=searcher.grace_epochs[scale]
            )
            if searcher.scheduler == "asha"
            else None,
        )
    return tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)


def trial_folder(trial) -> str:
    from trainables.tune_trial import PACK_KEY, flat_config

    config = flat_config(trial.config)
    if PACK_KEY in config:
        return pack_dirname(len(config[PACK_KEY]), trial.trial_id)
    return trial_dirname(config.get("experiment", "trial"), config.get("seed", 0), trial.trial_id)


def external_logger(name: str, run_name: str):
    """Ray Tune's own W&B or MLflow logger: a project/experiment named after the run; credentials, tracking URI
    and W&B project come from their usual environment variables (WANDB_API_KEY, WANDB_PROJECT,
    MLFLOW_TRACKING_URI), never from our flags or files."""
    if name == "wandb":
        from ray.air.integrations.wandb import WandbLoggerCallback

        project = os.environ.get("WANDB_PROJECT", "mosaic-sweep")
        return WandbLoggerCallback(project=project, group=run_name, excludes=[KEEP_SCORE])  # not a metric to chart
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return MLflowLoggerCallback(tracking_uri=os.environ.get("MLFLOW_TRACKING_URI"), experiment_name=run_name)
