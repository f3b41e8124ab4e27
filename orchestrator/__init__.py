"""mosaic-sweep's driver side: the CLI, Ray, the Tuner, Parquet results, reports. `run`, `load_run` and `report`
are the Python API (orchestrator/api.py)."""

from .api import RunHandle, load_run, report, run

__all__ = ["RunHandle", "load_run", "report", "run"]
