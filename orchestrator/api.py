"""The Python API: what `mosaic-sweep run` and `report` do, callable from a notebook or a script.

    from orchestrator import run, load_run, report

    handle = run("table1", scale="smoke", data_dir="../shared")          # a built-in space, a .yaml file, or rows
    trials, epochs = load_run(handle.path)                               # pandas DataFrames
    report(handle.path, data_dir="../shared")                            # -> the report folder

The CLI is a thin layer over the same functions (orchestrator/sweep.py, orchestrator/report_cmd.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from search_spaces import SearchSpace
from search_spaces.files import space_from_rows

from .errors import RunFailed, UsageError
from .results import read_run
from .sweep import SweepRequest, plan_sweep, run_sweep


@dataclass(frozen=True)
class RunHandle:
    """A finished (or partly failed) sweep: where its files are, and whether every trial finished."""

    name: str
    # the run folder, for load_run and report: a local path, or the storage URI with its options (endpoint,
    # scheme: without them an S3-compatible store is looked for at AWS); credentials are refused before a run
    path: str
    ok: bool
    error: str | None = None  # why not ok: the trials that did not finish

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return load_run(self.path)


def run(
    space: str | SearchSpace | list[dict], *, name: str | None = None, space_name: str = "rows", **options
) -> RunHandle:
    """Run a sweep in this process (Ray embedded, or joined with address=...), as `mosaic-sweep run` does.

    `space`: a built-in space name, a YAML space file, a SearchSpace, or a list of rows (dicts of flat config keys,
    optionally with "label" and "reference"), which become the space `space_name`. `name`: the run's name
    (default SPACE-SCALE); an existing run is never overwritten (resume=True continues it).
    `options`: any `mosaic-sweep run` option by its Python name: scale, seeds, first_seed, only, overrides
    ({key: value}, as --set), data_dir, download, no_verify, results_dir (or storage), name, address, num_cpus,
    dashboard_host, gpus_per_trial, cpus_per_trial, max_concurrent, max_failures, checkpoint_every, keep_phase_ends,
    resume, progress_every, logger, pack, precision (as --precision: overrides["precision"]), time_limit.
    Bad input raises UsageError; failed trials do not raise (see `RunHandle.ok`); an interrupt or the time limit
    raises RunFailed (code 130 / 75).
    """
    request = sweep_request(space, name=name, space_name=space_name, **options)
    plan = plan_sweep(request)  # bad input fails here, before Ray starts
    try:
        run_sweep(request, plan=plan)
    except RunFailed as exc:
        if exc.code != 1:
            raise
        return RunHandle(plan.name, plan.storage.uri, ok=False, error=str(exc))
    return RunHandle(plan.name, plan.storage.uri, ok=True)


def sweep_request(
    space: str | SearchSpace | list[dict], *, name: str | None = None, space_name: str = "rows", **options
) -> SweepRequest:
    """`run`'s arguments as the request `mosaic-sweep run` builds from its flags; an unknown option is a UsageError
    naming it, as an unknown flag is."""
    if isinstance(space, list):
        space = space_from_rows(space_name, space)
    if "storage" in options:
        options["results_dir"] = options.pop("storage")
    if options.get("precision") is not None:  # a flag of the CLI, a config key of every trial
        options["overrides"] = {**options.get("overrides", {}), "precision": options["precision"]}
    options.pop("precision", None)
    known = {f.name for f in fields(SweepRequest)} - {"space", "name"}
    unknown = sorted(set(options) - known)
    if unknown:
        shown = ", ".join(sorted(known | {"precision", "storage"}))
        raise UsageError(f"run: unknown option {', '.join(map(repr, unknown))} (options: {shown})")
    return SweepRequest(space=space, name=name, **options)


def load_run(path: str | Path, results_dir: str = "results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, epochs) of a run folder (path or URI) or of a run name under `results_dir`: one row per trial,
    and one row per trial and epoch, with the columns of trials.parquet and epochs/ (README, "Results: Parquet")."""
    data = read_run(str(path), results_dir)
    return data.trials, data.epochs


def report(*runs: str | Path, out: str | Path | None = None, **options) -> str:
    """`mosaic-sweep report RUN [RUN ...]`: tables, figures and attention pictures of one or more runs (folders,
    URIs or names under `results_dir`), combined. `options`: results_dir, data_dir, download, no_verify, attention,
    mosaics, per_sample_figures, as the command's flags. Returns where the report is (index.html inside)."""
    from .report_cmd import ReportOptions, make_report

    return make_report(ReportOptions(tuple(str(r) for r in runs), out=None if out is None else str(out), **options))
